"""`reconciler block` and `drift --accept`'s file rewriting, on a copy of the example policy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.config import load_policy
from reconciler.config.edit import EditError, accept_drift, accept_live
from reconciler.plan import FLAG_BLOCKS_COUNTRY, FLAG_OPENS_COUNTRY, Change, Plan

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def desired(config: Path):  # type: ignore[no-untyped-def]
    policy, diagnostics = load_policy(config)
    assert policy is not None, diagnostics
    return policy.desired["prod"]


# -- block ---------------------------------------------------------------------------------------------


def test_block_appends_lines_keeps_comments_and_is_idempotent(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (config / "emergency.yaml").read_text()
    assert main(["block", "ng", "GH", "--capability", "SMS", "--reason", "SMS pumping, INC-7", "--config", str(config)]) == 0
    after = (config / "emergency.yaml").read_text()
    assert after == before + (
        '  - {country: NG, capabilities: [SMS], reason: "SMS pumping, INC-7"}\n'
        '  - {country: GH, capabilities: [SMS], reason: "SMS pumping, INC-7"}\n'
    )
    out = capsys.readouterr().out
    assert "blocked NG (Nigeria) for SMS" in out and "blocked GH (Ghana) for SMS" in out
    blocks = {(b.country, b.capabilities, b.reason) for b in desired(config).emergency_blocks}
    assert blocks == {("NG", ("SMS",), "SMS pumping, INC-7"), ("GH", ("SMS",), "SMS pumping, INC-7")}

    # Again: nothing changes, and it says so.
    assert main(["block", "NG", "--capability", "SMS", "--config", str(config)]) == 0
    assert (config / "emergency.yaml").read_text() == after
    assert "NG (Nigeria) is already blocked for SMS: no change" in capsys.readouterr().out

    # Widening to every capability adds only the missing ones.
    assert main(["block", "NG", "--config", str(config)]) == 0
    assert (config / "emergency.yaml").read_text().endswith("  - {country: NG, capabilities: [VOICE, MMS, RCS]}\n")


def test_block_rejects_bad_countries_and_changes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (config / "emergency.yaml").read_text()
    assert main(["block", "NG", "UK", "ZZ", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "'UK' is not an ISO 3166-1 alpha-2 code (use GB)" in err
    assert "'ZZ' is not a country code AWS protect rules accept" in err
    assert (config / "emergency.yaml").read_text() == before


def test_block_restores_the_file_when_the_policy_would_not_validate(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (config / "emergency.yaml").read_text()
    assert main(["block", "NG", "--reason", "x" * 501, "--config", str(config)]) == 1
    assert (config / "emergency.yaml").read_text() == before
    assert main(["block", "NG", "--capability", "SMS", "--reason", "ok", "--config", str(config / "missing")]) == 1
    assert "no such policy directory" in capsys.readouterr().err


def test_block_on_a_file_that_cannot_take_a_line(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config / "emergency.yaml"
    path.write_text("emergency_blocks:\n  - {country: AU}\nzzz: 1\n")
    assert main(["block", "NG", "--config", str(config)]) == 1
    assert path.read_text() == "emergency_blocks:\n  - {country: AU}\nzzz: 1\n"
    assert "nothing was changed" in capsys.readouterr().err


# -- drift --accept ----------------------------------------------------------------------------------------


def rules_change(capability: str, live: dict[str, str], policy: dict[str, str]) -> Change:
    flags = set()
    if any(v == "BLOCK" for v in policy.values()):
        flags.add(FLAG_BLOCKS_COUNTRY)
    if any(live[c] == "BLOCK" and policy[c] != "BLOCK" for c in policy):
        flags.add(FLAG_OPENS_COUNTRY)
    return Change("protect", "update", "country-rules", f"protect/prod-default/rules/{capability}", live, policy,
                  flags=frozenset(flags), data={"name": "prod-default", "capability": capability, "updates": policy})


def test_accept_live_rewrites_rules_keeping_comments(config: Path) -> None:
    original = (config / "protect.yaml").read_text()
    drift = Plan(target="prod", changes=[
        # In the console: AU unblocked (ALLOW), NG moved from MONITOR to BLOCK, FR set to FILTER.
        rules_change("SMS", {"AU": "ALLOW", "NG": "BLOCK", "FR": "FILTER"}, {"AU": "BLOCK", "NG": "MONITOR", "FR": "ALLOW"}),
        # VOICE default is BLOCK: opening DE adds it to ALLOW, closing GB removes it from ALLOW.
        rules_change("VOICE", {"DE": "ALLOW", "GB": "BLOCK"}, {"DE": "BLOCK", "GB": "ALLOW"}),
        Change("protect", "update", "protect-configuration", "protect/prod-default/deletion-protection", False, True,
               data={"name": "prod-default", "enabled": True}),
    ])
    changed = accept_live(config, drift)
    assert changed == [str(config / "protect.yaml")]
    text = (config / "protect.yaml").read_text()
    # Only the changed lines differ; comments and layout stay.
    assert "        MONITOR: [PK]      # watch for artificially inflated traffic before deciding\n" in text
    assert "        BLOCK: [NG]        # SMS pumping seen from AU destinations; we have no AU customers\n" in text
    assert "        FILTER: [FR]\n" in text
    assert "        ALLOW: [US, CA, DE]\n" in text  # the author's order kept, the new country last
    assert "    deletion_protection: false\n" in text
    assert "# Our AU test handset still receives SMS while AU is blocked." in text
    changed_lines = [line for line in text.splitlines() if line not in original.splitlines()]
    assert len(changed_lines) == 5

    spec = desired(config).protect_configurations[0]
    sms, voice = spec.rules["SMS"], spec.rules["VOICE"]
    assert (sms.status("AU"), sms.status("NG"), sms.status("FR"), sms.status("PK")) == ("ALLOW", "BLOCK", "FILTER", "MONITOR")
    assert (voice.status("DE"), voice.status("GB"), voice.status("US")) == ("ALLOW", "BLOCK", "ALLOW")
    assert spec.deletion_protection is False


def test_accept_live_never_lifts_an_emergency_block(config: Path) -> None:
    assert main(["block", "NG", "--capability", "SMS", "--reason", "INC-7", "--config", str(config)]) == 0
    drift = Plan(target="prod", changes=[rules_change("SMS", {"NG": "ALLOW", "GH": "BLOCK"}, {"NG": "BLOCK", "GH": "ALLOW"})])
    result = accept_drift(config, drift)
    assert result.skipped == ["protect/prod-default/rules/SMS: NG is blocked by an emergency block (edit emergency.yaml)"]
    spec = desired(config).protect_configurations[0]
    assert spec.rules["SMS"].status("GH") == "BLOCK"
    assert any(b.country == "NG" for b in desired(config).emergency_blocks)


def test_accept_live_phone_number_attributes_and_unsupported_changes(config: Path) -> None:
    drift = Plan(target="prod", changes=[
        Change("phone_numbers", "update", "phone-number", "phone_numbers/number/+18885550100",
               {"international_sending": False}, {"international_sending": True}, data={"ref": "+18885550100"}),
        Change("shares", "remove", "share-principal", "shares/x/principal/1", "1", None),
    ])
    result = accept_drift(config, drift)
    assert result.changed_files == [str(config / "identities.yaml")]
    assert result.accepted == ["phone_numbers/number/+18885550100"]
    assert result.skipped == ["shares/x/principal/1: accepting this kind of drift is not supported; edit the policy by hand"]
    assert desired(config).phone_numbers[0].international_sending is False
    assert '  - phone_number: "+18885550100"\n    international_sending: false\n' in (config / "identities.yaml").read_text()


def test_accept_live_restores_files_when_the_result_does_not_validate(config: Path) -> None:
    original = (config / "protect.yaml").read_text()
    # A status AWS does not have: the rewritten policy fails validation, so nothing is written.
    drift = Plan(target="prod", changes=[rules_change("SMS", {"AU": "MAYBE"}, {"AU": "BLOCK"})])
    with pytest.raises(EditError, match="does not validate"):
        accept_live(config, drift)
    assert (config / "protect.yaml").read_text() == original


def test_accept_live_flips_the_default_when_live_opened_a_blocked_capability(config: Path) -> None:
    from reconciler.countries import SUPPORTED

    # Someone set VOICE to ALLOW everywhere but NG in the console; the policy says default BLOCK.
    live = {c: "ALLOW" for c in sorted(SUPPORTED) if c not in ("US", "CA", "GB", "NG")}
    policy = dict.fromkeys(live, "BLOCK")
    accept_live(config, Plan(target="prod", changes=[rules_change("VOICE", live, policy)]))
    text = (config / "protect.yaml").read_text()
    assert "      VOICE:\n        default: ALLOW     # voice OTP only where" in text  # comment kept
    assert "callbacks\n        BLOCK: [NG]\n    number_overrides:" in text
    voice = desired(config).protect_configurations[0].rules["VOICE"]
    assert voice.status("NG") == "BLOCK" and voice.status("FR") == "ALLOW" and voice.status("US") == "ALLOW"


def test_accept_live_skips_configurations_that_do_not_exist_live(config: Path) -> None:
    original = (config / "protect.yaml").read_text()
    drift = Plan(target="prod", changes=[
        Change("protect", "create", "protect-configuration", "protect/prod-default", None, {"name": "prod-default"},
               data={"name": "prod-default"}),
        rules_change("SMS", {"AU": "ALLOW"}, {"AU": "BLOCK"}),
    ])
    result = accept_drift(config, drift)
    assert result.changed_files == []
    assert "protect/prod-default/rules/SMS: protect configuration 'prod-default' does not exist live; nothing to accept" in result.skipped
    assert (config / "protect.yaml").read_text() == original


def test_drift_accept_end_to_end_on_the_sandbox(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Console change in the sandbox -> `drift --accept` -> the policy matches live, comments kept."""
    from reconciler.sandbox import Sandbox

    snap = str(config / "snap.json")
    assert main(["sandbox", "snapshot", "--generate", "example", "--account", "111111111111", "--out", snap]) == 0
    assert main(["apply", "--only", "protect", "--config", str(config), "--sandbox", snap, "--auto-approve"]) == 0
    sandbox = Sandbox.from_snapshot(snap)
    client = sandbox.session("111111111111", "us-east-1").client("pinpoint-sms-voice-v2")
    for item in client.describe_protect_configurations()["ProtectConfigurations"]:
        tags = client.list_tags_for_resource(ResourceArn=item["ProtectConfigurationArn"])["Tags"]
        if {"Key": "Name", "Value": "prod-default"} in tags:
            client.update_protect_configuration_country_rule_set(
                ProtectConfigurationId=item["ProtectConfigurationId"], NumberCapability="SMS",
                CountryRuleSetUpdates={"GH": {"ProtectStatus": "BLOCK"}, "AU": {"ProtectStatus": "ALLOW"}},
            )
    sandbox.save(snap)
    capsys.readouterr()

    assert main(["drift", "--only", "protect", "--config", str(config), "--sandbox", snap, "--accept"]) == 2
    out = capsys.readouterr().out
    assert f"rewrote {config / 'protect.yaml'}" in out
    assert "        BLOCK: [GH]        # SMS pumping seen" in (config / "protect.yaml").read_text()
    assert main(["drift", "--only", "protect", "--config", str(config), "--sandbox", snap]) in (0, 2)
    assert "0 drifted, 0 missing" in capsys.readouterr().out
