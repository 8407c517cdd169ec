"""Pure diff of the protect area: compact YAML rules vs full live maps, phases, ownership."""

from __future__ import annotations

from reconciler.areas.protect.area import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    LiveProtectConfiguration,
    ProtectArea,
    ProtectLive,
)
from reconciler.areas.protect.spec import (
    CapabilityRules,
    ConfigurationSetSpec,
    EmergencyBlock,
    NumberOverrideSpec,
    ProtectConfigurationSpec,
)
from reconciler.config.model import Desired, Target
from reconciler.countries import SUPPORTED
from reconciler.plan import FLAG_BLOCKS_COUNTRY, FLAG_NEEDS_FORCE, PHASE_BLOCKS, PHASE_MAIN

TARGET = Target("prod", "111122223333", "us-east-1")
OWNED = {"Name": "prod", MANAGED_BY_TAG: MANAGED_BY_VALUE}


def spec(**kwargs: object) -> ProtectConfigurationSpec:
    base: dict[str, object] = {"name": "prod", "rules": {"SMS": CapabilityRules("ALLOW", {"AU": "BLOCK", "NG": "MONITOR"})}}
    base.update(kwargs)
    return ProtectConfigurationSpec(**base)  # type: ignore[arg-type]


def live_config(rules: dict[str, dict[str, str]] | None = None, **kwargs: object) -> LiveProtectConfiguration:
    values: dict[str, object] = {
        "id": "protect-" + "a" * 32,
        "arn": "arn:aws:sms-voice:us-east-1:111122223333:protect-configuration/protect-" + "a" * 32,
        "tags": dict(OWNED),
        "account_default": False,
        "deletion_protection": False,
        "rules": rules if rules is not None else {"SMS": {"AU": "BLOCK", "NG": "MONITOR"}},
        "overrides": {},
    }
    values.update(kwargs)
    return LiveProtectConfiguration(**values)  # type: ignore[arg-type]


def test_full_live_map_matching_the_compact_form_plans_nothing() -> None:
    full = {country: "ALLOW" for country in SUPPORTED} | {"AU": "BLOCK", "NG": "MONITOR"}
    desired = Desired(TARGET, protect_configurations=(spec(),))
    assert ProtectArea().diff(desired, ProtectLive([live_config({"SMS": full})])) == []
    # Countries missing from the live map are ALLOW, as on a new configuration.
    assert ProtectArea().diff(desired, ProtectLive([live_config()])) == []


def test_new_block_rules_form_the_block_phase_and_the_rest_follows() -> None:
    desired = Desired(TARGET, protect_configurations=(spec(rules={"SMS": CapabilityRules("ALLOW", {"AU": "BLOCK", "NZ": "BLOCK", "NG": "FILTER"})}),))
    changes = ProtectArea().diff(desired, ProtectLive([live_config()]))
    by_key = {c.key: c for c in changes}
    block = by_key["protect/prod/rules/SMS/block"]
    assert block.phase == PHASE_BLOCKS and FLAG_BLOCKS_COUNTRY in block.flags
    assert block.data["updates"] == {"NZ": "BLOCK"}
    rest = by_key["protect/prod/rules/SMS"]
    assert rest.phase == PHASE_MAIN and rest.data["updates"] == {"NG": "FILTER"}
    assert rest.before == {"NG": "MONITOR"}


def test_emergency_block_overrides_allow_and_reaches_unlisted_capabilities() -> None:
    desired = Desired(
        TARGET,
        protect_configurations=(spec(rules={"SMS": CapabilityRules("ALLOW", {"GB": "ALLOW"})}, account_default=True),),
        emergency_blocks=(EmergencyBlock("GB", ("SMS", "VOICE")),),
    )
    live = ProtectLive([live_config({"SMS": {}, "VOICE": {"FR": "BLOCK"}}, account_default=True)])
    changes = ProtectArea().diff(desired, live)
    keys = {c.key: c for c in changes}
    assert set(keys) == {"protect/prod/emergency-record/add", "protect/prod/rules/SMS/block", "protect/prod/rules/VOICE/block"}
    assert keys["protect/prod/rules/VOICE/block"].data["updates"] == {"GB": "BLOCK"}
    # VOICE is not listed by the policy: its other countries (FR) are left alone, and GB's
    # status before the block is recorded (first) so lifting the block restores it.
    assert keys["protect/prod/emergency-record/add"].data["value"] == "VOICE:GB:A"
    assert sorted(changes, key=lambda c: c.sort_key())[0].key == "protect/prod/emergency-record/add"
    assert all(c.phase == PHASE_BLOCKS for c in changes)


def test_unmanaged_configurations_are_reported_not_deleted_unless_pruned() -> None:
    stranger = live_config(id="protect-" + "b" * 32, tags={"Name": "legacy"}, account_default=True, deletion_protection=True)
    desired = Desired(TARGET, protect_configurations=(spec(),))
    live = ProtectLive([live_config(), stranger], configuration_sets={"tx": stranger.id})
    area = ProtectArea()
    assert area.diff(desired, live) == []
    assert [u["name"] for u in area.unmanaged(desired, live)] == ["legacy"]

    pruned = Desired(TARGET, protect_configurations=(spec(),), prune=frozenset({"protect"}))
    steps = area.diff(pruned, live)
    assert [(c.action, c.key) for c in sorted(steps, key=lambda c: c.sort_key())] == [
        ("update", "protect/legacy/deletion-protection"),
        ("disassociate", "protect/legacy/account-default"),
        ("disassociate", "protect/legacy/configuration-set/tx"),
        ("delete", "protect/legacy"),
    ]
    forced = {c.key for c in steps if FLAG_NEEDS_FORCE in c.flags}
    assert forced == {"protect/legacy/deletion-protection", "protect/legacy/account-default"}


def test_owned_configuration_the_policy_dropped_is_deleted() -> None:
    desired = Desired(TARGET)
    changes = ProtectArea().diff(desired, ProtectLive([live_config()]))
    assert [(c.action, c.key) for c in changes] == [("delete", "protect/prod")]


def test_missing_configuration_is_created_with_everything_it_needs() -> None:
    desired = Desired(
        TARGET,
        protect_configurations=(spec(account_default=True, deletion_protection=True, configuration_sets=("tx",)),),
        configuration_sets=(ConfigurationSetSpec("tx"),),
    )
    changes = ProtectArea().diff(desired, ProtectLive(configuration_sets={"tx": None}))
    ordered = [(c.action, c.key) for c in sorted(changes, key=lambda c: c.sort_key())]
    assert ordered == [
        ("create", "protect/prod"),
        ("update", "protect/prod/rules/SMS/block"),
        ("update", "protect/prod/rules/SMS"),
        ("associate", "protect/prod/account-default"),
        ("associate", "protect/prod/configuration-set/tx"),
    ]


def test_overrides_are_masked_with_the_raw_number_only_in_memory() -> None:
    override = NumberOverrideSpec("+61491570156", "BLOCK", "2026-12-31T00:00:00Z")
    desired = Desired(TARGET, protect_configurations=(spec(number_overrides=(override,)),))
    live = ProtectLive([live_config(overrides={"+61491570199": {"action": "ALLOW", "expires": None}})])
    changes = ProtectArea().diff(desired, live)
    assert {(c.action, c.key) for c in changes} == {
        ("add", "protect/prod/override/+6149157****"),
        ("remove", "protect/prod/override/+6149157****#2"),
    }
    for change in changes:
        assert "+61491570" not in str(change.to_json())
        assert change.secret in {"+61491570156", "+61491570199"}
    added = next(c for c in changes if c.action == "add")
    assert added.phase == PHASE_BLOCKS and added.after == {"action": "BLOCK", "expires": "2026-12-31T00:00:00Z"}


def test_unowned_configuration_named_by_the_policy_is_adopted_without_a_change() -> None:
    """An imported configuration (no managed-by tag) matching the policy plans to nothing ..."""
    desired = Desired(TARGET, protect_configurations=(spec(),))
    assert ProtectArea().diff(desired, ProtectLive([live_config(tags={"Name": "prod"})])) == []


def test_adopted_configuration_dropped_from_the_policy_is_reported_not_deleted() -> None:
    """... and once the policy stops naming it, it is unmanaged: reported, never deleted without prune."""
    live = ProtectLive([live_config(tags={"Name": "prod"})])
    desired = Desired(TARGET)
    assert [c for c in ProtectArea().diff(desired, live) if c.action == "delete"] == []
    assert [u["name"] for u in ProtectArea().unmanaged(desired, live)] == ["prod"]


def test_emergency_record_spreads_over_tags_within_the_aws_limit() -> None:
    from reconciler.areas.protect.rules import RECORD_TAG, encode_record, record_of, record_tags

    record = {("MMS", country): "MONITOR" for country in sorted(SUPPORTED)[:60]}
    tags = record_tags(encode_record(record))
    assert sorted(tags) == [RECORD_TAG, f"{RECORD_TAG}-2", f"{RECORD_TAG}-3"]
    assert all(len(value) <= 256 for value in tags.values())
    assert record_of({**tags, "Name": "prod"}) == record


def test_emergency_reason_reaches_the_block_change_and_the_pull_request_comment() -> None:
    from reconciler.plan import Plan
    from reconciler.report.markdown import render

    desired = Desired(
        TARGET,
        protect_configurations=(spec(rules={"SMS": CapabilityRules("ALLOW")}, account_default=True),),
        emergency_blocks=(EmergencyBlock("NG", ("SMS",), reason="SMS pumping <INC-142>"), EmergencyBlock("GH", ("SMS",))),
    )
    changes = ProtectArea().diff(desired, ProtectLive([live_config({"SMS": {}}, account_default=True)]))
    block = next(c for c in changes if c.key == "protect/prod/rules/SMS/block")
    assert block.data["reasons"] == {"NG": "SMS pumping <INC-142>"}
    markdown = render([Plan(target="prod", changes=changes)])
    assert "SMS pumping &lt;INC-142" in markdown and "<INC-142" not in markdown
