"""Hypothesis strategies for structurally plausible policies: mostly well-formed, often subtly wrong.

Values are drawn from pools that mix valid and invalid items (country codes that do not exist,
numbers that are not E.164, references to undeclared items, wrong types), so the loader's every
layer - YAML, schema, semantics - sees both acceptance and rejection.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

COUNTRIES = ["US", "GB", "AU", "NO", "DE", "FR", "IN", "BR", "CA", "ZZ", "UK", "gb", "XK", "A", "USA", 1, None, True]
NUMBERS = [
    "+12065550100", "+12065550101", "+447700900123", "+61400000000", "+18885550100", "+1206555010",
    "12065550100", "+0123", "+1 206 555 0100", "+999999999999999", "", 12065550100, "+12065550100\n", None,
]
NAMES = ["prod", "marketing", "shared-optouts", "default", "Default", "a" * 70, "has space", "", "ünï", 5, None]
STATUSES = ["ALLOW", "BLOCK", "MONITOR", "FILTER", "allow", "DENY", None, True]
CAPABILITIES = ["SMS", "VOICE", "MMS", "RCS", "sms", "FAX"]
ACCOUNTS = ["111111111111", "222222222222", "012345678901", 111111111111, "1111", "abc", None]
REGIONS = ["us-east-1", "eu-west-2", "ap-southeast-2", "mars-north-1", "US-EAST-1", "", None]
PATHS = ["numbers.txt", "lists/numbers.txt", "../../etc/passwd", "/etc/passwd", "missing.txt", ".", "~/x", "n\\x"]
PHONE_REFS = ["+18885550100", "+12065550100", "phone-a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "phone-", "+44", "x"]
PRINCIPALS = [
    "222222222222", "333333333333", "arn:aws:organizations::111111111111:organization/o-abcdefghij",
    "arn:aws:organizations::111111111111:ou/o-abcdefghij/ou-abcd-abcdefgh", "arn:aws:iam::1:user/x", 222222222222,
]


def sometimes(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually ``strategy``, sometimes a value of the wrong type."""
    wrong = st.sampled_from([None, 0, -1, 3.5, True, "", "x", [], {}, ["x"], {"x": 1}])
    return st.one_of(strategy, strategy, strategy, strategy, wrong)


def optional_keys(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    extra = st.dictionaries(st.sampled_from(["unknown", "nmae", "Targets", "rule"]), st.integers(), max_size=1)
    return st.builds(lambda a, b: {**a, **b}, st.fixed_dictionaries(required, optional=optional), extra)


def rules() -> st.SearchStrategy[dict[str, Any]]:
    per_capability = optional_keys(
        {},
        {
            "default": st.sampled_from(STATUSES),
            **{status: st.lists(st.sampled_from(COUNTRIES), max_size=5) for status in ("ALLOW", "BLOCK", "MONITOR", "FILTER")},
        },
    )
    return st.dictionaries(st.sampled_from(CAPABILITIES), sometimes(per_capability), max_size=4)


def policy_document() -> st.SearchStrategy[dict[str, Any]]:
    target = optional_keys(
        {"name": sometimes(st.sampled_from(NAMES)), "account_id": st.sampled_from(ACCOUNTS), "region": st.sampled_from(REGIONS)},
        {"role_arn": st.sampled_from(["arn:aws:iam::111111111111:role/reconciler", "arn:aws:iam::x:role/y"])},
    )
    targets_ref = st.lists(st.sampled_from(["prod", "staging", "nope"]), max_size=2)
    phone = optional_keys(
        {"phone_number": st.sampled_from(PHONE_REFS)},
        {
            "international_sending": sometimes(st.booleans()),
            "opt_out_list": st.sampled_from(NAMES),
            "deletion_protection": st.booleans(),
            "targets": targets_ref,
        },
    )
    override = optional_keys(
        {"number": st.sampled_from(NUMBERS), "action": st.sampled_from(["ALLOW", "BLOCK", "MONITOR"])},
        {"expires": st.sampled_from(["2026-12-31T00:00:00Z", "2026-02-30T00:00:00Z", "tomorrow", "2026-12-31"])},
    )
    protect = optional_keys(
        {"name": sometimes(st.sampled_from(NAMES))},
        {
            "rules": sometimes(rules()),
            "account_default": sometimes(st.booleans()),
            "deletion_protection": st.booleans(),
            "configuration_sets": st.lists(st.sampled_from(NAMES), max_size=3),
            "number_overrides": st.lists(override, max_size=3),
            "targets": targets_ref,
        },
    )
    opt_out = optional_keys(
        {"name": sometimes(st.sampled_from(NAMES))},
        {
            "mode": st.sampled_from(["additive", "exact", "merge"]),
            "numbers": sometimes(st.lists(st.sampled_from(NUMBERS), max_size=6)),
            "numbers_file": st.sampled_from(PATHS),
            "targets": targets_ref,
        },
    )
    share_resource = st.dictionaries(
        st.sampled_from(["phone_number", "sender_id", "pool", "opt_out_list", "queue"]),
        st.sampled_from(PHONE_REFS + NAMES[:4] + ["DEMOTP/GB", "pool-1"]),
        min_size=0,
        max_size=2,
    )
    share = optional_keys(
        {"name": sometimes(st.sampled_from(NAMES)), "principals": st.lists(st.sampled_from(PRINCIPALS), max_size=3)},
        {
            "allow_external_principals": st.booleans(),
            "permissions": st.lists(st.sampled_from(["AWSRAMDefaultPermissionSmsVoice", "x"]), max_size=2),
            "resources": st.lists(share_resource, max_size=4),
            "targets": targets_ref,
        },
    )
    return optional_keys(
        {"targets": sometimes(st.lists(target, min_size=0, max_size=3))},
        {
            "phone_numbers": sometimes(st.lists(phone, max_size=4)),
            "pools": st.lists(optional_keys({"pool": st.sampled_from(["pool-1", "transactional", ""])}, {"opt_out_list": st.sampled_from(NAMES)}), max_size=2),
            "sender_ids": st.lists(optional_keys({"sender_id": st.sampled_from(["DEMOTP", "TOOLONGSENDERID", ""]), "country": st.sampled_from(COUNTRIES)}, {}), max_size=2),
            "configuration_sets": st.lists(optional_keys({"name": st.sampled_from(NAMES)}, {"protect_configuration": st.sampled_from(NAMES)}), max_size=3),
            "protect_configurations": sometimes(st.lists(protect, max_size=4)),
            "opt_out_lists": sometimes(st.lists(opt_out, max_size=4)),
            "shares": sometimes(st.lists(share, max_size=3)),
            "prune": st.lists(st.sampled_from(["shares", "protect", "opt_outs", "phone_numbers", "everything"]), max_size=3),
            "organization": st.fixed_dictionaries({"arn": st.sampled_from(PRINCIPALS[2:4])}),
        },
    )


def emergency_document() -> st.SearchStrategy[dict[str, Any]]:
    block = optional_keys(
        {"country": st.sampled_from(COUNTRIES)},
        {"capabilities": st.lists(st.sampled_from(CAPABILITIES), max_size=3), "reason": st.text(max_size=30)},
    )
    return st.fixed_dictionaries({"emergency_blocks": st.one_of(st.none(), st.lists(block, max_size=4))})


def numbers_file() -> st.SearchStrategy[str]:
    line = st.one_of(st.sampled_from([n for n in NUMBERS if isinstance(n, str)]), st.sampled_from(["# comment", "", "  +12065550100  # x"]))
    return st.lists(line, max_size=30).map("\n".join)


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
