"""What a valid policy turns into: the typed Policy/Desired the engine consumes."""

from __future__ import annotations

from pathlib import Path

from reconciler.areas.protect.spec import CAPABILITIES, CapabilityRules
from reconciler.areas.shares.spec import ResourceRef
from reconciler.config import load_policy

from .conftest import TARGETS

REPO = Path(__file__).resolve().parents[2]


def _load(config_dir: Path, text: str, **files: str):  # type: ignore[no-untyped-def]
    (config_dir / "policy.yaml").write_text(text)
    for name, content in files.items():
        (config_dir / name.replace("__", ".")).write_text(content)
    policy, diagnostics = load_policy(config_dir)
    assert [d for d in diagnostics if d.is_error] == []
    assert policy is not None
    return policy, diagnostics


def test_example_config_loads_into_the_documented_policy() -> None:
    policy, diagnostics = load_policy(REPO / "config")
    assert diagnostics == []
    assert policy is not None
    assert sorted(policy.targets) == ["prod"]
    prod = policy.desired["prod"]
    assert prod.target.account_id == "111111111111" and prod.target.region == "us-east-1"
    (number,) = prod.phone_numbers
    assert (number.ref, number.international_sending, number.opt_out_list) == (
        "+18885550100",
        True,
        "shared-optouts",
    )
    assert [s.ref for s in prod.sender_ids] == ["DEMOTP/GB"]
    (protect,) = prod.protect_configurations
    assert protect.account_default and protect.configuration_sets == ("transactional",)
    assert protect.rules["SMS"].status("AU") == "BLOCK"
    assert protect.rules["SMS"].status("US") == "ALLOW"
    assert protect.rules["VOICE"].status("FR") == "BLOCK"
    assert prod.configuration_sets[0].protect_configuration == "prod-default"
    (optouts,) = prod.opt_out_lists
    assert len(optouts.numbers) == 350 and list(optouts.numbers) == sorted(optouts.numbers)
    (share,) = prod.shares
    assert share.permissions == ()  # each resource type's default permission, attached by RAM
    assert {(r.kind, r.ref) for r in share.resources} == {
        ("phone_number", "+18885550100"),
        ("sender_id", "DEMOTP/GB"),
        ("opt_out_list", "shared-optouts"),
    }
    assert prod.emergency_blocks == ()
    assert prod.prune == frozenset()
    assert prod.organization_arn == "arn:aws:organizations::111111111111:organization/o-a1b2c3d4e5"
    assert prod.organization_accounts == frozenset({"222222222222"})
    assert protect.source is not None and protect.source.file.endswith("config/protect.yaml")


def test_yaml_1_1_traps_stay_text(config_dir: Path) -> None:
    policy, _ = _load(
        config_dir,
        """targets:
  - name: prod
    account_id: "012345678901"
    region: us-east-1
protect_configurations:
  - name: p
    rules:
      SMS:
        BLOCK: [NO, NA]
        MONITOR: [YE]
""",
    )
    rules = policy.desired["prod"].protect_configurations[0].rules["SMS"]
    assert rules.countries == {"NA": "BLOCK", "NO": "BLOCK", "YE": "MONITOR"}
    assert policy.targets["prod"].account_id == "012345678901"


def test_capability_rules_drop_countries_equal_to_the_default(config_dir: Path) -> None:
    policy, diagnostics = _load(
        config_dir,
        TARGETS
        + """protect_configurations:
  - name: p
    rules:
      SMS: {default: BLOCK, ALLOW: [US, CA], BLOCK: [AU]}
      RCS: {}
""",
    )
    rules = policy.desired["prod"].protect_configurations[0].rules
    assert rules["SMS"] == CapabilityRules(default="BLOCK", countries={"CA": "ALLOW", "US": "ALLOW"})
    assert rules["RCS"] == CapabilityRules()
    assert set(rules) == {"SMS", "RCS"}  # VOICE and MMS are not managed
    assert [d.code for d in diagnostics] == ["protect-country-redundant"]


def test_multi_target_items_apply_where_they_say(config_dir: Path) -> None:
    policy, _ = _load(
        config_dir,
        """targets:
  - {name: prod, account_id: "111111111111", region: us-east-1}
  - {name: prod-eu, account_id: "111111111111", region: eu-west-2}
protect_configurations:
  - name: default
    targets: [prod]
    rules: {SMS: {BLOCK: [AU]}}
  - name: default
    targets: [prod-eu]
    rules: {SMS: {BLOCK: [NG]}}
opt_out_lists:
  - name: everywhere
""",
        emergency__yaml="emergency_blocks:\n  - {country: RU, capabilities: [SMS, VOICE], targets: [prod-eu]}\n  - {country: BY}\n",
    )
    prod, eu = policy.desired["prod"], policy.desired["prod-eu"]
    assert prod.protect_configurations[0].rules["SMS"].countries == {"AU": "BLOCK"}
    assert eu.protect_configurations[0].rules["SMS"].countries == {"NG": "BLOCK"}
    assert [o.name for o in prod.opt_out_lists] == [o.name for o in eu.opt_out_lists] == ["everywhere"]
    assert [(b.country, b.capabilities) for b in prod.emergency_blocks] == [("BY", CAPABILITIES)]
    assert [(b.country, b.capabilities) for b in eu.emergency_blocks] == [
        ("RU", ("SMS", "VOICE")),
        ("BY", CAPABILITIES),
    ]


def test_same_name_in_two_targets_but_reference_missing_in_one(config_dir: Path) -> None:
    (config_dir / "policy.yaml").write_text(
        """targets:
  - {name: a, account_id: "111111111111", region: us-east-1}
  - {name: b, account_id: "111111111111", region: us-west-2}
configuration_sets:
  - name: tx
    protect_configuration: p
protect_configurations:
  - name: p
    targets: [a]
"""
    )
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("unresolved-reference", 6, 28)]
    assert "for target b" in diagnostics[0].message


def test_associations_are_filled_on_both_sides(config_dir: Path) -> None:
    policy, _ = _load(
        config_dir,
        TARGETS
        + """configuration_sets:
  - {name: tx, protect_configuration: p}
  - {name: marketing}
protect_configurations:
  - {name: p}
  - {name: q, configuration_sets: [marketing]}
""",
    )
    prod = policy.desired["prod"]
    assert {c.name: c.protect_configuration for c in prod.configuration_sets} == {"tx": "p", "marketing": "q"}
    assert {p.name: p.configuration_sets for p in prod.protect_configurations} == {
        "p": ("tx",),
        "q": ("marketing",),
    }


def test_opt_out_numbers_merge_inline_and_file(config_dir: Path) -> None:
    policy, diagnostics = _load(
        config_dir,
        TARGETS
        + """opt_out_lists:
  - name: l
    mode: exact
    numbers: ["+447700900001", "+12065550100"]
    numbers_file: n.txt
""",
        n__txt="# header\n+12065550100   # also inline\n\n+12065550199\n",
    )
    (optouts,) = policy.desired["prod"].opt_out_lists
    assert optouts.mode == "exact"
    assert optouts.numbers == ("+12065550100", "+12065550199", "+447700900001")
    assert optouts.numbers_file == "n.txt"
    assert [d.code for d in diagnostics] == ["opt-out-duplicate-number"]
    assert diagnostics[0].severity == "warning"


def test_share_resources_and_principals(config_dir: Path) -> None:
    policy, _ = _load(
        config_dir,
        TARGETS
        + """organization:
  arn: arn:aws:organizations::111111111111:organization/o-a1b2c3d4e5
pools:
  - {pool: pool-b2c3d4e5, opt_out_list: l}
opt_out_lists:
  - name: l
shares:
  - name: org
    principals:
      - arn:aws:organizations::111111111111:organization/o-a1b2c3d4e5
      - arn:aws:organizations::111111111111:ou/o-a1b2c3d4e5/ou-ab12-cdef5678
    resources: [{pool: pool-b2c3d4e5}, {opt_out_list: l}]
  - name: partner
    principals: ["999999999999"]
    allow_external_principals: true
    permissions: ["arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice"]
""",
    )
    org, partner = policy.desired["prod"].shares
    assert org.resources[0] == ResourceRef(kind="pool", ref="pool-b2c3d4e5", source=org.resources[0].source)
    assert not org.allow_external_principals
    assert partner.allow_external_principals and partner.resources == ()


def test_without_an_organization_principals_are_warned_about_not_refused(config_dir: Path) -> None:
    (config_dir / "policy.yaml").write_text(
        TARGETS + 'shares:\n  - name: s\n    principals: ["222222222222", "111111111111"]\n'
    )
    policy, diagnostics = load_policy(config_dir)
    assert policy is not None
    assert [(d.code, d.severity, d.line, d.column) for d in diagnostics] == [
        ("share-principal-unverified", "warning", 7, 18)
    ]


def test_every_error_of_every_file_in_one_run(config_dir: Path) -> None:
    (config_dir / "a.yaml").write_text(TARGETS + "phone_numbers:\n  - phone_number: +18885550100\n")
    (config_dir / "b.yaml").write_text("shares:\n  - name: s\n    principal: []\n")
    (config_dir / "c.yaml").write_text("prune: [protect, dns]\n")
    _, diagnostics = load_policy(config_dir)
    assert [(Path(d.file).name, d.line, d.column, d.code) for d in diagnostics] == [
        ("a.yaml", 6, 19, "unquoted-number"),
        ("b.yaml", 2, 5, "schema-missing-key"),
        ("b.yaml", 3, 5, "schema-unknown-key"),
        ("c.yaml", 1, 18, "schema-enum"),
    ]
    assert diagnostics[2].hint == "did you mean 'principals'?"


def test_empty_and_comment_only_files_declare_nothing(config_dir: Path) -> None:
    (config_dir / "empty.yaml").write_text("")
    (config_dir / "comments.yml").write_text("# nothing yet\n")
    (config_dir / "policy.yaml").write_text(TARGETS)
    (config_dir / ".hidden.yaml").write_text(": broken")
    policy, diagnostics = load_policy(config_dir)
    assert diagnostics == [] and policy is not None


def test_merge_keys_and_anchors_are_supported(config_dir: Path) -> None:
    policy, _ = _load(
        config_dir,
        TARGETS
        + """phone_numbers:
  - &tfn {phone_number: "+18885550100", deletion_protection: true, international_sending: true}
  - {<<: *tfn, phone_number: "+18885550101"}
""",
    )
    numbers = policy.desired["prod"].phone_numbers
    assert [(n.ref, n.deletion_protection, n.international_sending) for n in numbers] == [
        ("+18885550100", True, True),
        ("+18885550101", True, True),
    ]
