"""The effect summary's model (reconciler/effects/summary.py): the live protect state with the
plan's changes applied, compared path by path; counts, never numbers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import UserError
from reconciler.countries import SUPPORTED
from reconciler.effects.opt_out_reach import Identity, ReachState, with_lists
from reconciler.effects.summary import Configuration, ProtectModel, summarise
from reconciler.plan import FLAG_BLOCKED, Change, Plan
from reconciler.report.effects import sections
from reconciler.report.json_report import document
from reconciler.report.plan_input import read_plans, schema_errors

AFGHAN = "+93701234567"


def live() -> ProtectModel:
    """strict (account default) blocks SMS to AF and monitors NG; loose allows everything; tx uses strict."""
    return ProtectModel(
        [Configuration("p-1", "strict", True, {"SMS": {"AF": "BLOCK", "NG": "MONITOR"}}, {}),
         Configuration("p-2", "loose", False, {"SMS": {}}, {})],
        {"tx": None, "promo": "p-1"},
    )


def change(resource_type: str, verb: str, **data: Any) -> Change:
    return Change("protect", verb, resource_type, f"protect/{data.get('name')}/{resource_type}/{verb}", data=data)  # type: ignore[arg-type]


def kinds(effects: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    return [(e["kind"], e["path"]["kind"], e["path"]["name"], [c["code"] for c in e["countries"]])
            for e in effects["countries"]]


def test_a_configuration_set_moved_to_a_looser_configuration_opens_only_its_own_path() -> None:
    effects = summarise(live(), [change("configuration-set-association", "associate", name="loose", configuration_set="promo")],
                        ["AF", "NG", "US"])
    assert kinds(effects) == [("newly-reachable", "configuration-set", "promo", ["AF"]),
                              ("less-screened", "configuration-set", "promo", ["NG"])]
    assert effects["countries"][0]["path"]["configuration"] == "loose (p-2)"


def test_removing_the_account_default_leaves_sends_without_a_set_unprotected() -> None:
    effects = summarise(live(), [change("account-default", "disassociate", name="strict")], ["AF", "NG", "US"])
    assert kinds(effects) == [("newly-reachable", "no-configuration-set", "", ["AF"]),
                              ("newly-reachable", "configuration-set", "tx", ["AF"]),
                              ("less-screened", "no-configuration-set", "", ["NG"]),
                              ("less-screened", "configuration-set", "tx", ["NG"])]
    assert effects["countries"][0]["countries"] == [{"code": "AF", "before": "BLOCK", "after": "NO-PROTECT-CONFIGURATION"}]


def test_an_allow_override_in_a_blocked_country_is_counted_never_shown() -> None:
    allow = replace(change("number-override", "add", name="strict", action="ALLOW", expires=None), secret=AFGHAN)
    block = replace(change("number-override", "add", name="strict", action="BLOCK", expires=None), secret="+93701234568")
    effects = summarise(live(), [allow, block], ["AF"])
    assert effects["overrides"] == [{"configuration": "strict", "country": "AF", "numbers": 1}]
    assert effects["countries"] == []  # the country rule itself is unchanged
    plan = Plan("prod", [allow], effects=effects)
    assert AFGHAN[3:] not in json.dumps(document([plan]))


def test_unread_capabilities_and_blocked_changes_are_no_known_effect() -> None:
    opens_voice = change("country-rules", "update", name="strict", capability="VOICE", updates={"AF": "ALLOW"})
    refused = change("configuration-set-association", "associate", name="loose", configuration_set="promo")
    refused = Change(refused.area, refused.action, refused.resource_type, refused.key, data=refused.data,
                     flags=frozenset({FLAG_BLOCKED}))
    assert summarise(live(), [opens_voice, refused], ["AF", "NG"])["countries"] == []


def test_a_new_configuration_made_the_default_allows_what_it_does_not_block() -> None:
    changes = [change("protect-configuration", "create", name="fresh"),
               change("country-rules", "update", name="fresh", capability="SMS", updates={"NG": "BLOCK"}),
               change("account-default", "associate", name="fresh")]
    effects = summarise(live(), changes, ["AF", "NG", "US"])
    assert effects["countries"][0]["path"]["configuration"] == "fresh (new)"
    assert kinds(effects) == [("newly-reachable", "no-configuration-set", "", ["AF"]),
                              ("newly-reachable", "configuration-set", "tx", ["AF"]),
                              ("newly-blocked", "no-configuration-set", "", ["NG"]),
                              ("newly-blocked", "configuration-set", "tx", ["NG"])]


def test_the_plan_schema_bounds_the_effects_of_an_untrusted_plan() -> None:
    effects = summarise(live(), [change("account-default", "disassociate", name="strict")], ["AF", "NG"])
    good = document([Plan("prod", [], effects=effects)])
    assert schema_errors(good, whole=True) == []
    # A Name tag may be 256 characters: with the id, the plan's own label still validates.
    longest = ProtectModel([Configuration("protect-" + "0" * 32, "n" * 256, True, {"SMS": {"AF": "BLOCK"}}, {})], {})
    named = summarise(longest, [change("country-rules", "update", name="n" * 256, capability="SMS", updates={"AF": "ALLOW"})],
                      ["AF"])
    assert len(named["countries"][0]["path"]["configuration"]) > 256
    assert schema_errors(document([Plan("prod", [], effects=named)]), whole=True) == []
    entry = good["plans"][0]["effects"]["countries"][0]
    entry["countries"] = entry["countries"] * 301
    assert any("effects/countries/0/countries" in e for e in schema_errors(good, whole=True))
    bad = document([Plan("prod", [], effects={**effects, "opt_outs": [{"kind": "phone-number", "id": "x" * 300,
                    "before": [], "after": [], "end_user_opt_outs": 1, "newly_reachable": 0}]})])
    assert any("effects/opt_outs/0/id" in e for e in schema_errors(bad, whole=True))


def test_a_version_1_plan_still_reads_as_a_plan_without_effects(tmp_path: Path) -> None:
    old = document([Plan("prod", [])])
    old["version"] = 1
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(old))
    [plan] = read_plans(path, untrusted=True)
    assert plan.effects is None
    old["version"] = 3
    path.write_text(json.dumps(old))
    with pytest.raises(UserError, match="version 3 is not supported"):
        read_plans(path)


def test_hundreds_of_configuration_sets_read_as_one_line_per_change() -> None:
    model = live()
    model.configuration_sets.update({f"set-{i:03d}": None for i in range(300)})
    effects = summarise(model, [change("country-rules", "update", name="strict", capability="SMS", updates={"AF": "ALLOW"})],
                        SUPPORTED)
    assert len(effects["countries"]) == 303  # no configuration set, tx, promo and the 300 sets: all resolve to strict
    [(title, [line])] = sections(effects)
    assert title == "Newly reachable countries"
    assert line.startswith("SMS on sends without a configuration set (account default: protect configuration strict (p-1)); ")
    assert line.endswith(" and 298 more configuration set(s): Afghanistan (AF) BLOCK -> ALLOW")


def test_opt_out_moves_are_counted_and_unread_lists_say_so() -> None:
    stops = frozenset({"+12065550100", "+12065550101"})
    before = ReachState((Identity("pool", "pool-1"), Identity("pool", "pool-2"), Identity("pool", "pool-3")),
                        {"pool-1": "a", "pool-2": "b", "pool-3": "a"}, {"a": stops}, {"a": stops})
    after = with_lists(replace(before, entries={"c": frozenset({"+12065550100"})}), {}, {"pool-1": "c", "pool-2": "c"})
    effects = summarise(None, [], [], (before, after))
    assert effects["opt_outs"] == [
        {"kind": "pool", "id": "pool-1", "before": ["a"], "after": ["c"], "end_user_opt_outs": 2, "newly_reachable": 1},
        {"kind": "pool", "id": "pool-2", "before": ["b"], "after": ["c"], "end_user_opt_outs": None, "newly_reachable": 0},
    ]
    text = dict(sections(effects))
    assert text["End-user opt-out coverage lost"] == [
        "pool pool-1 (a -> c): 1 recipient(s) who replied STOP could be messaged again (2 end-user opt-out(s) refused before)"]
    assert text["Identities that honour another opt-out list"] == [
        "pool pool-2 (b -> c): end-user opt-outs not read, so who becomes reachable is not known"]
