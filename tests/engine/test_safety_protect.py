"""Safety invariants of emergency blocks and protect, through the CLI against the sandbox.

Each test reproduces a way the reconciler reported success while a declared block blocked
nothing (docs/reliability.md, "Safety invariants: emergency blocks and protect"); the oracle is
the sandbox's SendTextMessage, independent of the reconciler's own reading of live state.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from engine_support import Harness, policy

from reconciler.areas.protect.area import ProtectArea
from reconciler.areas.protect.spec import ConfigurationSetSpec, EmergencyBlock, ProtectConfigurationSpec
from reconciler.cli import UserError, main
from reconciler.commands.plan import _refuse_blocks_out_of_force
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import World

ACCOUNT = "111122223333"
REGION = "us-east-1"
SMS = "pinpoint-sms-voice-v2"
NIGERIA = "+2348031234567"
BLOCKED = "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"


def write(config: Path, name: str, text: str) -> None:
    (config / name).write_text(textwrap.dedent(text))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config"
    config.mkdir()
    write(config, "targets.yaml", f"""
        targets:
          - name: prod
            account_id: "{ACCOUNT}"
            region: {REGION}
        """)
    write(config, "protect.yaml", """
        protect_configurations:
          - name: prod
            account_default: true
            rules:
              SMS: {default: ALLOW, MONITOR: [NG]}
        """)
    write(config, "emergency.yaml", "emergency_blocks:\n")
    state = tmp_path / "state.json"
    Sandbox(world=World()).save(state)
    return config, state


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def client(state: Path) -> tuple[Sandbox, Any]:
    sandbox = Sandbox.from_snapshot(state)
    return sandbox, sandbox.client(SMS, account_id=ACCOUNT, region=REGION)


def refusal(sms: Any, number: str = NIGERIA, **params: Any) -> str | None:
    """The reason SendTextMessage refuses ``number`` (None: sent)."""
    try:
        sms.send_text_message(DestinationPhoneNumber=number, MessageBody="otp", DryRun=True, **params)
    except ClientError as error:
        return str(error.response.get("Reason") or error.response["Error"]["Code"])
    return None


def test_a_second_configuration_with_the_managed_name_is_an_error_and_the_block_still_lands(
        setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = setup
    common = ("--config", str(config), "--sandbox", str(state))
    assert cli(capsys, monkeypatch, "apply", "--auto-approve", *common)[0] == 0
    sandbox, sms = client(state)
    stray = sms.create_protect_configuration(Tags=[{"Key": "Name", "Value": "prod"}])["ProtectConfigurationId"]
    sandbox.save(state)
    assert cli(capsys, monkeypatch, "block", "NG", "--capability", "SMS", "--config", str(config))[0] == 0

    for command in (("plan", "--detailed-exitcode"), ("drift",)):
        code, out = cli(capsys, monkeypatch, *command, *common)
        assert code == 1, out
        assert "No drift" not in out and stray in out and "Name=prod" in out and "fix:" in out
    code, out = cli(capsys, monkeypatch, "apply", "--auto-approve", *common)
    assert code == 1 and "Apply complete" not in out and stray in out
    # Blocks are protective, so they were written before the ambiguity stopped the apply: NG is
    # refused whichever configuration a message meets.
    _, sms = client(state)
    assert refusal(sms) == BLOCKED
    assert refusal(sms, ProtectConfigurationId=stray) == BLOCKED


def test_emergency_blocks_without_any_protect_configuration_are_an_error_with_the_fix(
        setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = setup
    (config / "protect.yaml").unlink()
    assert cli(capsys, monkeypatch, "block", "NG", "--capability", "SMS", "--config", str(config))[0] == 0
    for command in (("plan",), ("apply", "--auto-approve"), ("drift",)):
        code, out = cli(capsys, monkeypatch, *command, "--config", str(config), "--sandbox", str(state))
        assert code == 1, out
        assert "sends without a configuration set" in out and "account_default: true" in out


def test_emergency_blocks_reach_configurations_the_policy_does_not_manage_and_lifting_restores_them(
        setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = setup
    (config / "protect.yaml").unlink()  # the policy names no protect configuration at all
    sandbox, sms = client(state)
    console = sms.create_protect_configuration(Tags=[{"Key": "Name", "Value": "console"}])["ProtectConfigurationId"]
    unnamed = sms.create_protect_configuration()["ProtectConfigurationId"]
    sms.set_account_default_protect_configuration(ProtectConfigurationId=console)
    sms.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=unnamed, NumberCapability="SMS", CountryRuleSetUpdates={"NG": {"ProtectStatus": "MONITOR"}})
    sms.create_configuration_set(ConfigurationSetName="marketing")
    sandbox.save(state)
    common = ("--config", str(config), "--sandbox", str(state))
    assert refusal(sms) is None

    assert cli(capsys, monkeypatch, "block", "NG", "--capability", "SMS", "--config", str(config))[0] == 0
    code, out = cli(capsys, monkeypatch, "apply", "--auto-approve", *common)
    assert code == 0, out
    _, sms = client(state)
    for params in ({}, {"ConfigurationSetName": "marketing"}, {"ProtectConfigurationId": console},
                   {"ProtectConfigurationId": unnamed}):
        assert refusal(sms, **params) == BLOCKED, params
    assert cli(capsys, monkeypatch, "plan", "--detailed-exitcode", *common)[0] == 0

    write(config, "emergency.yaml", "emergency_blocks:\n")  # lift the block
    assert cli(capsys, monkeypatch, "apply", "--auto-approve", *common)[0] == 0
    _, sms = client(state)
    assert refusal(sms) is None
    rules = sms.get_protect_configuration_country_rule_set(ProtectConfigurationId=unnamed, NumberCapability="SMS")
    assert rules["CountryRuleSet"]["NG"]["ProtectStatus"] == "MONITOR"  # restored, not ALLOW


def test_a_policy_name_equal_to_an_unnamed_configuration_id_is_an_error_not_a_crash(
        setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = setup
    sandbox, sms = client(state)
    unnamed = sms.create_protect_configuration()["ProtectConfigurationId"]
    sandbox.save(state)
    write(config, "protect.yaml", f"""
        protect_configurations:
          - name: {unnamed}
            account_default: true
        """)
    write(config, "targets.yaml", (config / "targets.yaml").read_text() + "prune: [protect]\n")
    for command in (("plan",), ("apply", "--auto-approve"), ("drift",)):
        code, out = cli(capsys, monkeypatch, *command, "--config", str(config), "--sandbox", str(state))
        assert code == 1, out
        assert "duplicate change keys" not in out and "Traceback" not in out
        assert f"has the id of live configuration {unnamed}" in out and "fix:" in out


def test_apply_and_drift_fail_when_the_effect_model_shows_a_block_not_in_force(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty diff is not a policy in force: should a diff ever miss a path, apply still exits 1."""
    p = policy(protect_configurations=(ProtectConfigurationSpec("prod", account_default=True),),
               emergency_blocks=(EmergencyBlock("NG", ("SMS",)),))
    assert harness.apply(p).ok
    sms = harness.client()
    stray = sms.create_protect_configuration()["ProtectConfigurationId"]
    sms.create_configuration_set(ConfigurationSetName="marketing")
    sms.associate_protect_configuration(ProtectConfigurationId=stray, ConfigurationSetName="marketing")
    real = ProtectArea._rules_and_record  # a diff that forgets configurations it does not manage
    monkeypatch.setattr(ProtectArea, "_rules_and_record", lambda self, desired, spec, config, unmanaged=False: (
        [] if unmanaged else real(self, desired, spec, config)))
    result = harness.apply(p)
    assert not result.ok and result.residue == []
    assert any("configuration set marketing" in gap and "SMS:NG" in gap for gap in result.not_in_force), result.not_in_force
    assert refusal(sms, ConfigurationSetName="marketing") is None  # the oracle agrees: NG is reachable there
    engine = harness.engine(p, command="plan")  # a plan with no protect change is refused, not "no changes"
    run = engine.start("prod")
    planned = engine.plan(run)
    assert not any(c.area == "protect" for c in planned.changes)
    with pytest.raises(UserError, match="declared blocks are not in force, yet the plan has no protect change"):
        _refuse_blocks_out_of_force(run, planned)


def test_moving_a_configuration_set_replaces_its_protect_configuration_in_one_call(harness: Harness) -> None:
    both = (ProtectConfigurationSpec("a", account_default=True), ProtectConfigurationSpec("b"))
    before = policy(protect_configurations=both, configuration_sets=(ConfigurationSetSpec("tx", "a"),))
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    assert harness.apply(before).ok
    harness.sandbox.calls.clear()
    after = policy(protect_configurations=both, configuration_sets=(ConfigurationSetSpec("tx", "b"),))
    assert harness.apply(after).ok
    operations = [c.operation for c in harness.sandbox.calls]
    assert "DisassociateProtectConfiguration" not in operations
    assert operations.count("AssociateProtectConfiguration") == 1
    assert harness.plan(after).changes == []


def git(config: Path, *args: str) -> str:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(config), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_an_older_revision_cannot_lift_a_newer_emergency_block(
        setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = setup
    common = ("--config", str(config), "--sandbox", str(state))
    git(config, "init", "-q")
    git(config, "add", ".")
    git(config, "commit", "-qm", "policy", "--date", "2026-01-01T00:00:00Z")
    old = git(config, "rev-parse", "HEAD")
    assert cli(capsys, monkeypatch, "apply", "--auto-approve", *common)[0] == 0
    assert cli(capsys, monkeypatch, "block", "NG", "--capability", "SMS", "--config", str(config))[0] == 0
    git(config, "commit", "-qam", "block NG")
    new = git(config, "rev-parse", "HEAD")
    assert cli(capsys, monkeypatch, "apply", "--auto-approve", *common)[0] == 0
    _, sms = client(state)
    tags = {t["Key"]: t["Value"] for t in sms.list_tags_for_resource(
        ResourceArn=sms.describe_opt_out_lists(OptOutListNames=["Default"])["OptOutLists"][0]["OptOutListArn"])["Tags"]}
    assert tags["reconciler:applied-revision"].startswith(new + "@")

    # A re-run of the old workflow run: the old commit's policy has no block.
    git(config, "checkout", "-q", old)
    code, out = cli(capsys, monkeypatch, "apply", "--auto-approve", *common)
    assert code == 1 and "is an ancestor of" in out and new[:12] in out and "--force" in out
    _, sms = client(state)
    assert refusal(sms) == BLOCKED  # the newer block still holds
    code, out = cli(capsys, monkeypatch, "apply", "--auto-approve", "--revision", old, "--force", *common)
    assert code == 0, out
    _, sms = client(state)
    assert refusal(sms) is None


def test_a_revision_older_than_the_recorded_one_is_refused_even_when_git_cannot_relate_them(tmp_path: Path) -> None:
    from reconciler.revision import Revision, StaleRevision, check

    newer, older = Revision("b" * 40, 2_000), Revision("a" * 40, 1_000)
    with pytest.raises(StaleRevision, match="is older than"):
        check("prod", str(tmp_path), older, newer, force=False)
    check("prod", str(tmp_path), older, newer, force=True)
    check("prod", str(tmp_path), newer, older, force=False)  # a newer revision goes ahead
    check("prod", str(tmp_path), older, None, force=False)  # nothing recorded yet
    assert Revision.decode(newer.encode()) == newer and Revision.decode("junk") is None
