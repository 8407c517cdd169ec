"""Property, across all four areas at once: for random live and desired states of protect
configurations, phone numbers, opt-out lists (additive and exact, with end-user opt-outs in live)
and RAM shares, one apply makes live match the policy, the next plan is empty, and no step ran
that was not in the plan.

Cross-area dependencies are exercised on purpose: a share may hold an opt-out list the same apply
creates, and a list the policy prunes is never one a share still holds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine_support import ACCOUNT, REGION, Harness, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.areas.base import registry
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec
from reconciler.areas.protect.spec import CapabilityRules, EmergencyBlock, ProtectConfigurationSpec
from reconciler.areas.shares.spec import ResourceRef, ShareSpec
from reconciler.guard import GuardOptions
from reconciler.sandbox.state import OptOutEntry

ORG_ID = "o-abcdefghij"
ORG = f"arn:aws:organizations::{ACCOUNT}:organization/{ORG_ID}"
MEMBERS = ("222222222222", "333333333333")
COUNTRIES = ("AU", "GB", "NG")
STATUSES = ("ALLOW", "BLOCK", "MONITOR")
LISTS = ("alpha", "beta", "gamma")
OPTED = tuple(f"+1206555010{i}" for i in range(6))
SHARES = ("s1", "s2")
OWNED = {"Key": "managed-by", "Value": "sms-policy-reconciler"}
START_AT = 1_767_225_600.0  # engine_support.START: the sandbox clock when entries are seeded

# Live state ------------------------------------------------------------------------------------

live_protect = st.one_of(
    st.none(),
    st.fixed_dictionaries({"owned": st.booleans(), "sms": st.dictionaries(st.sampled_from(COUNTRIES), st.sampled_from(STATUSES), max_size=2)}),
)
# list name -> {number: EndUserOptedOut}
live_lists = st.dictionaries(
    st.sampled_from((*LISTS, "stray")),
    st.dictionaries(st.sampled_from(OPTED), st.booleans(), max_size=4),
    max_size=3,
)
live_numbers = st.lists(st.fixed_dictionaries({"international": st.booleans(), "want": st.sampled_from((None, True, False))}),
                        min_size=1, max_size=3)
# share name -> (managed, principals, indexes of phone numbers)
live_shares = st.dictionaries(
    st.sampled_from((*SHARES, "old")),
    st.tuples(st.booleans(), st.lists(st.sampled_from(MEMBERS), unique=True, max_size=2),
              st.lists(st.integers(0, 2), unique=True, max_size=2)),
    max_size=2,
)

# Desired state ---------------------------------------------------------------------------------


@st.composite
def desired_protect(draw: Any) -> dict[str, Any]:
    specs: tuple[ProtectConfigurationSpec, ...] = ()
    blocks = draw(st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=2))
    # Emergency blocks need an account default (else sends without a configuration set meet no
    # protect configuration: refused, see test_safety_protect.py), so a policy with blocks declares one.
    if blocks or draw(st.booleans()):
        default = draw(st.sampled_from(STATUSES))
        exceptions = draw(st.dictionaries(st.sampled_from(COUNTRIES), st.sampled_from(STATUSES), max_size=2))
        rules = CapabilityRules(default, {c: s for c, s in exceptions.items() if s != default})
        specs = (ProtectConfigurationSpec(name="main", rules={"SMS": rules}, account_default=bool(blocks)),)
    return {"protect_configurations": specs, "emergency_blocks": tuple(EmergencyBlock(c, ("SMS",)) for c in blocks)}


desired_lists = st.dictionaries(
    st.sampled_from(LISTS),
    st.tuples(st.sampled_from(("additive", "exact")), st.lists(st.sampled_from(OPTED), unique=True, max_size=4)),
    max_size=3,
)
# share name -> (principals, indexes of phone numbers, by E.164 rather than id?, list names)
desired_shares = st.dictionaries(
    st.sampled_from(SHARES),
    st.tuples(st.lists(st.sampled_from(MEMBERS), unique=True, max_size=2),
              st.lists(st.integers(0, 2), unique=True, max_size=2),
              st.booleans(),
              st.lists(st.sampled_from(LISTS), unique=True, max_size=2)),
    max_size=2,
)

# Seeding ---------------------------------------------------------------------------------------


def seed(harness: Harness, protect: Any, lists: dict[str, dict[str, bool]], numbers: list[dict[str, Any]],
         shares: dict[str, Any]) -> list[dict[str, Any]]:
    """Create the live state through the API (big or personal state straight into the sandbox)."""
    harness.sandbox.world.organization = {ACCOUNT: ORG_ID, **{m: ORG_ID for m in MEMBERS}}
    client = harness.client()
    ram = harness.sandbox.client("ram", ACCOUNT, REGION)
    if protect is not None:
        tags = [{"Key": "Name", "Value": "main"}] + ([OWNED] if protect["owned"] else [])
        pid = client.create_protect_configuration(Tags=tags)["ProtectConfigurationId"]
        if protect["sms"]:
            client.update_protect_configuration_country_rule_set(
                ProtectConfigurationId=pid, NumberCapability="SMS",
                CountryRuleSetUpdates={c: {"ProtectStatus": s} for c, s in protect["sms"].items()},
            )
    state = harness.state()
    for name, entries in sorted(lists.items()):
        client.create_opt_out_list(OptOutListName=name)
        for number, end_user in sorted(entries.items()):
            # EndUserOptedOut entries only arise from a recipient's STOP: written into the state.
            state.opt_out_lists[name].entries[number] = OptOutEntry(START_AT, end_user)
    owned = []
    for entry in numbers:
        owned.append(client.request_phone_number(
            IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE",
            InternationalSendingEnabled=entry["international"]))
    for name, (managed, principals, indexes) in sorted(shares.items()):
        params: dict[str, Any] = {"name": name, "allowExternalPrincipals": False}
        if managed:
            params["tags"] = [{"key": "managed-by", "value": "sms-policy-reconciler"}]
        if principals:
            params["principals"] = list(principals)
        arns = [owned[i]["PhoneNumberArn"] for i in indexes if i < len(owned)]
        if arns:
            params["resourceArns"] = arns
        ram.create_resource_share(**params)
    return owned


def build_desired(protect: dict[str, Any], lists: dict[str, Any], numbers: list[dict[str, Any]],
                  owned: list[dict[str, Any]], shares: dict[str, Any], prune: frozenset[str]) -> dict[str, Any]:
    list_specs = tuple(OptOutListSpec(name, mode, tuple(sorted(chosen)))  # type: ignore[arg-type]
                       for name, (mode, chosen) in sorted(lists.items()))
    share_specs = []
    for name, (principals, indexes, by_number, list_names) in sorted(shares.items()):
        refs = [ResourceRef("phone_number", owned[i]["PhoneNumber" if by_number else "PhoneNumberId"])
                for i in sorted(indexes) if i < len(owned)]
        # A share names only lists the policy declares (created by this apply if missing).
        refs += [ResourceRef("opt_out_list", n) for n in sorted(list_names) if n in lists]
        share_specs.append(ShareSpec(name, principals=tuple(sorted(principals)), resources=tuple(refs)))
    number_specs = tuple(PhoneNumberSpec(item["PhoneNumber"], entry["want"])
                         for item, entry in zip(owned, numbers, strict=True))
    return {
        **protect,
        "phone_numbers": number_specs,
        "opt_out_lists": list_specs,
        "shares": tuple(share_specs),
        "prune": prune,
        "organization_arn": ORG,
        "organization_accounts": frozenset(MEMBERS),
    }


# Reading live state back through the API --------------------------------------------------------


def list_entries(client: Any, name: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for page in client.get_paginator("describe_opted_out_numbers").paginate(OptOutListName=name):
        out.update({e["OptedOutNumber"]: e["EndUserOptedOut"] for e in page["OptedOutNumbers"]})
    return out


def active_shares(ram: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for page in ram.get_paginator("get_resource_shares").paginate(resourceOwner="SELF", resourceShareStatus="ACTIVE"):
        for share in page["resourceShares"]:
            found.setdefault(share["name"], []).append(share)
    return found


def associated(ram: Any, share_arn: str, kind: str) -> set[str]:
    items = ram.get_resource_share_associations(associationType=kind, resourceShareArns=[share_arn])
    return {a["associatedEntity"] for a in items["resourceShareAssociations"] if a["status"] in ("ASSOCIATING", "ASSOCIATED")}


def write_operations() -> dict[tuple[str, str], set[str]]:
    """(service, operation) -> the areas that declare it as a write."""
    writers: dict[tuple[str, str], set[str]] = {}
    for name, cls in registry().items():
        for op in cls.operations:
            if op.mode == "write":
                writers.setdefault((op.service, op.name), set()).add(name)
    return writers


GUARD = GuardOptions(force=True, allow_pool_juggling=True, max_deletions=100, max_deletion_percent=100,
                     max_removals=100, max_removal_percent=100)


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    live_protect_state=live_protect,
    live_list_state=live_lists,
    live_number_state=live_numbers,
    live_share_state=live_shares,
    wanted_protect=desired_protect(),
    wanted_lists=desired_lists,
    wanted_shares=desired_shares,
    prune=st.sets(st.sampled_from(("opt_outs", "shares")), max_size=2),
)
def test_one_apply_converges_across_all_areas(
    live_protect_state: Any,
    live_list_state: dict[str, dict[str, bool]],
    live_number_state: list[dict[str, Any]],
    live_share_state: dict[str, Any],
    wanted_protect: dict[str, Any],
    wanted_lists: dict[str, Any],
    wanted_shares: dict[str, Any],
    prune: set[str],
) -> None:
    harness = Harness()
    owned = seed(harness, live_protect_state, live_list_state, live_number_state, live_share_state)
    desired = build_desired(wanted_protect, wanted_lists, live_number_state, owned, wanted_shares, frozenset(prune))
    p = policy(**desired)

    planned = harness.plan(p)
    harness.sandbox.calls.clear()
    # Pruned lists drop their end-user opt-outs (no identity here moves to another list): the
    # apply must name their exact count (reconciler/areas/opt_outs/carry.py).
    dropped = sum(end_user for name, entries in live_list_state.items() if name not in wanted_lists
                  and "opt_outs" in prune for end_user in entries.values())
    result = harness.apply(p, guard=dataclasses.replace(GUARD, drop_end_user_opt_outs=dropped or None))
    assert result.ok, (result.failed, result.error, [c.key for c in result.residue], result.refused)
    # No step ran that was not in the plan, and every planned step ran ...
    assert sorted(c.key for c in result.applied) == sorted(c.key for c in planned.changes)
    # ... and, as AWS saw it, every write belongs to an area the plan changes.
    writers = write_operations()
    planned_areas = {c.area for c in planned.changes}
    for call in harness.sandbox.calls:
        if call.error is None and (call.service, call.operation) in writers:
            assert writers[(call.service, call.operation)] & planned_areas, (call.operation, planned_areas)
    assert harness.plan(p).changes == []

    client = harness.client()
    # Protect: the emergency blocks hold on every managed configuration.
    blocked = {b.country for b in wanted_protect["emergency_blocks"]}
    for spec in wanted_protect["protect_configurations"]:
        configs = client.describe_protect_configurations()["ProtectConfigurations"]
        named = [c for c in configs if {"Key": "Name", "Value": spec.name} in
                 client.list_tags_for_resource(ResourceArn=c["ProtectConfigurationArn"])["Tags"]]
        assert len(named) == 1
        rules = client.get_protect_configuration_country_rule_set(
            ProtectConfigurationId=named[0]["ProtectConfigurationId"], NumberCapability="SMS")["CountryRuleSet"]
        for country in COUNTRIES:
            want = "BLOCK" if country in blocked else spec.rules["SMS"].status(country)
            assert rules[country]["ProtectStatus"] == want

    # Phone numbers: international sending as the policy says, untouched where it says nothing.
    by_number = {n["PhoneNumber"]: n for n in client.describe_phone_numbers()["PhoneNumbers"]}
    for item, entry in zip(owned, live_number_state, strict=True):
        want = entry["international"] if entry["want"] is None else entry["want"]
        assert by_number[item["PhoneNumber"]]["InternationalSendingEnabled"] == want

    # Opt-out lists: additive keeps everything and adds; exact removes strays but never an end-user opt-out.
    lists_now = {item["OptOutListName"] for item in client.describe_opt_out_lists()["OptOutLists"]}
    for name, (mode, chosen) in wanted_lists.items():
        entries = list_entries(client, name)
        before = live_list_state.get(name, {})
        end_users = {n for n, end_user in before.items() if end_user}
        assert set(chosen) <= set(entries)
        assert end_users <= set(entries)
        assert all(entries[n] for n in end_users)  # still marked as the recipient's own opt-out
        if mode == "exact":
            assert set(entries) == set(chosen) | end_users
        else:
            assert set(before) <= set(entries)
    for name in set(live_list_state) - set(wanted_lists):
        assert (name in lists_now) == ("opt_outs" not in prune)

    # Shares: exactly the policy's principals and resources; the reconciler's own leftovers are gone,
    # other unmanaged shares stay unless pruned.
    ram = harness.sandbox.client("ram", ACCOUNT, REGION)
    shares_now = active_shares(ram)
    list_arns = {item["OptOutListName"]: item["OptOutListArn"] for item in client.describe_opt_out_lists()["OptOutLists"]}
    for name, (principals, indexes, _, list_names) in wanted_shares.items():
        [share] = [s for s in shares_now[name] if {"key": "managed-by", "value": "sms-policy-reconciler"} in s.get("tags", [])
                   ] or shares_now[name]
        assert associated(ram, share["resourceShareArn"], "PRINCIPAL") == set(principals)
        want_resources = {owned[i]["PhoneNumberArn"] for i in indexes if i < len(owned)}
        want_resources |= {list_arns[n] for n in list_names if n in wanted_lists}
        assert associated(ram, share["resourceShareArn"], "RESOURCE") == want_resources
    for name, (managed, _, _) in live_share_state.items():
        if name in wanted_shares:
            continue
        survives = not managed and "shares" not in prune
        assert (name in shares_now) == survives
