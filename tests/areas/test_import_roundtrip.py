"""``reconciler import`` writes a policy that validates and plans to zero changes, and never overwrites."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from area_support import ACCOUNT, REGION

from reconciler.aws import SandboxSessionFactory
from reconciler.cli import main
from reconciler.commands.import_ import import_target, render, write_files
from reconciler.config import format_text, load_policy
from reconciler.config.model import Target
from reconciler.engine import Engine
from reconciler.sandbox import Sandbox
from reconciler.sandbox.handlers.opt_outs import simulate_inbound_stop

MEMBER = "444455556666"


def build_account(sandbox: Sandbox) -> dict[str, Any]:
    sms = sandbox.client("pinpoint-sms-voice-v2", ACCOUNT, REGION)
    ram = sandbox.client("ram", ACCOUNT, REGION)
    numbers = [
        sms.request_phone_number(
            IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
        )
        for _ in range(3)
    ]
    sms.update_phone_number(PhoneNumberId=numbers[2]["PhoneNumberId"], InternationalSendingEnabled=True)
    sms.create_opt_out_list(OptOutListName="marketing")
    for i in range(250):  # three pages
        sms.put_opted_out_number(OptOutListName="marketing", OptedOutNumber=f"+1206555{i:04d}")
    simulate_inbound_stop(sandbox.world, ACCOUNT, REGION, numbers[2]["PhoneNumberId"], "+13125550100")
    pool = sms.create_pool(
        OriginationIdentity=numbers[0]["PhoneNumberId"], IsoCountryCode="US", MessageType="TRANSACTIONAL",
        Tags=[{"Key": "Name", "Value": "tx-pool"}],
    )
    sms.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=numbers[1]["PhoneNumberId"], IsoCountryCode="US")
    sms.update_pool(PoolId=pool["PoolId"], OptOutListName="marketing")
    sms.request_sender_id(SenderId="DEMOTP", IsoCountryCode="GB")
    # A configuration the reconciler created earlier (carries its managed-by tag).
    config = sms.create_protect_configuration(
        Tags=[{"Key": "Name", "Value": "prod-default"}, {"Key": "managed-by", "Value": "sms-policy-reconciler"}]
    )
    sms.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config["ProtectConfigurationId"], NumberCapability="SMS",
        CountryRuleSetUpdates={"AU": {"ProtectStatus": "BLOCK"}, "NG": {"ProtectStatus": "MONITOR"}},
    )
    sms.set_account_default_protect_configuration(ProtectConfigurationId=config["ProtectConfigurationId"])
    ram.create_resource_share(
        name="eum", principals=[MEMBER], allowExternalPrincipals=True,
        resourceArns=[pool["PoolArn"], numbers[0]["PhoneNumberArn"], numbers[1]["PhoneNumberArn"]],
    )
    return {"numbers": numbers, "pool": pool}


def import_cli(sandbox: Sandbox, tmp_path: Path, out: Path) -> int:
    snapshot = tmp_path / "snapshot.json"
    sandbox.save(snapshot)
    return main(["import", "--out", str(out), "--sandbox", str(snapshot), "--account", ACCOUNT, "--region", REGION, "--name", "prod"])


def test_import_writes_a_policy_that_plans_to_zero_changes(sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_account(sandbox)
    out = tmp_path / "imported"
    assert import_cli(sandbox, tmp_path, out) == 0
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [
        "numbers/Default.txt",
        "numbers/marketing.txt", "opt_out_lists.yaml", "phone_numbers.yaml", "protect.yaml", "shares.yaml", "targets.yaml",
    ]
    numbers = (out / "numbers/marketing.txt").read_text().splitlines()
    assert numbers[0].startswith("# ")
    assert len(numbers) == 1 + 250
    # the recipient's STOP reached the Default list (the number is in no pool)
    assert (out / "numbers/Default.txt").read_text().splitlines()[1:] == ["+13125550100"]
    policy, diagnostics = load_policy(out)
    assert policy is not None, format_text(diagnostics)
    assert not [d for d in diagnostics if d.is_error]
    plan = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0).plan(
        Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0).start("prod")
    )
    assert [(c.action, c.key) for c in plan.changes] == []
    assert set(plan.areas) == {"opt_outs", "phone_numbers", "protect", "resource_policies", "shares"}
    assert plan.security == []


def test_import_refuses_to_overwrite_and_writes_nothing(sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_account(sandbox)
    out = tmp_path / "imported"
    out.mkdir()
    (out / "shares.yaml").write_text("# mine\n")
    assert import_cli(sandbox, tmp_path, out) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert (out / "shares.yaml").read_text() == "# mine\n"
    assert sorted(p.name for p in out.iterdir()) == ["shares.yaml"]


def test_import_of_an_empty_account_still_validates(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    assert import_cli(sandbox, tmp_path, out) == 0
    policy, diagnostics = load_policy(out)
    assert policy is not None, format_text(diagnostics)
    engine = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0)
    assert engine.plan(engine.start("prod")).changes == []


def test_import_of_several_targets_scopes_items_and_files(sandbox: Sandbox, tmp_path: Path) -> None:
    build_account(sandbox)
    other = "555566667777"
    sms = sandbox.client("pinpoint-sms-voice-v2", other, REGION)
    sms.create_opt_out_list(OptOutListName="marketing")
    sms.put_opted_out_number(OptOutListName="marketing", OptedOutNumber="+12065559999")
    targets = [Target("a", ACCOUNT, REGION), Target("b", other, REGION)]
    files = render([import_target(SandboxSessionFactory(sandbox), t, rate_scale=0) for t in targets])
    assert files["numbers/b/marketing.txt"].splitlines()[1:] == ["+12065559999"]
    assert "numbers/a/marketing.txt" in files
    out = tmp_path / "cfg"
    write_files(out, files)
    policy, diagnostics = load_policy(out)
    assert policy is not None, format_text(diagnostics)
    engine = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0)
    for name in ("a", "b"):
        assert engine.plan(engine.start(name)).changes == []
