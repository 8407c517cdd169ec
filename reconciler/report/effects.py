"""The effect summary of a plan in words, riskiest section first (text plan and PR comment).

Returns plain sentences; each report escapes them for its medium (reconciler.report.escape).
Counts only: no phone number appears (overrides and opt-outs are counted, identities are ids).
"""

from __future__ import annotations

from typing import Any

from reconciler.countries import name as country_name
from reconciler.report.mask import mask_text

COUNTRIES_SHOWN = 12  # a line lists this many countries, then "and N more"
PATHS_SHOWN = 5  # and this many send paths
TITLES = {
    "newly-reachable": "Newly reachable countries",
    "grants-gained": "Accounts and services that gain the use of an identity or opt-out list",
    "grants-lost": "Accounts and services that lose the use of an identity or opt-out list",
    "opt-outs": "End-user opt-out coverage lost",
    "overrides": "Number overrides that open a blocked country",
    "less-screened": "Countries no longer monitored or filtered",
    "list-moves": "Identities that honour another opt-out list",
    "newly-blocked": "Newly blocked countries",
    "newly-screened": "Newly monitored or filtered countries",
}
RISKY = frozenset({TITLES["newly-reachable"], TITLES["grants-gained"], TITLES["opt-outs"], TITLES["overrides"]})
ORDER = ("newly-reachable", "grants-gained", "opt-outs", "overrides", "less-screened", "list-moves", "grants-lost",
         "newly-blocked", "newly-screened")


def _path(path: dict[str, Any]) -> str:
    config = path.get("configuration")
    applies = f"protect configuration {config}" if config else "no protect configuration"
    if path.get("kind") == "no-configuration-set":
        return f"sends without a configuration set (account default: {applies})"
    return f"configuration set {path.get('name')} ({applies})"


def _countries(items: list[dict[str, Any]]) -> str:
    shown = [f"{country_name(str(i['code']))} ({i['code']}) {i['before']} -> {i['after']}" for i in items[:COUNTRIES_SHOWN]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")


def sections(effects: dict[str, Any] | None) -> list[tuple[str, list[str]]]:
    """(title, sentences) per non-empty section, riskiest first; [] when nothing changes in effect."""
    if not effects:
        return []
    found: dict[str, list[str]] = {}
    # Paths that change alike (the account default and the sets that fall back to it) share a line.
    alike: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for entry in effects.get("countries", []):
        same = (str(entry["kind"]), str(entry["capability"]), _countries(entry["countries"]))
        alike.setdefault(same, []).append(entry["path"])
    for (kind, capability, countries), paths in alike.items():
        shown = [_path(p) for p in paths[:PATHS_SHOWN]]
        more = f" and {len(paths) - len(shown):,} more configuration set(s)" if len(paths) > len(shown) else ""
        found.setdefault(kind, []).append(f"{capability} on {'; '.join(shown)}{more}: {countries}")
    for entry in effects.get("overrides", []):
        found.setdefault("overrides", []).append(
            f"{entry['numbers']:,} number override(s) in {entry['configuration']} let messages through to "
            f"{country_name(str(entry['country']))} ({entry['country']}), which its rules block")
    for entry in effects.get("opt_outs", []):
        lists = f"{' + '.join(entry['before'])} -> {' + '.join(entry['after'])}"
        known = entry.get("end_user_opt_outs")
        refused = "end-user opt-outs not read" if known is None else f"{known:,} end-user opt-out(s) refused before"
        who = f"{entry['kind']} {mask_text(str(entry['id']))}"
        if entry.get("newly_reachable"):
            found.setdefault("opt-outs", []).append(
                f"{who} ({lists}): {entry['newly_reachable']:,} recipient(s) who replied STOP could be messaged "
                f"again ({refused})")
        elif known is None:
            found.setdefault("list-moves", []).append(f"{who} ({lists}): {refused}, so who becomes reachable is not known")
        else:
            found.setdefault("list-moves", []).append(f"{who} ({lists}): {refused}, all still refused after")
    for entry in effects.get("send_grants", []):
        key = "grants-gained" if entry["change"] == "gains" else "grants-lost"
        verb = "can now" if entry["change"] == "gains" else "can no longer"
        what = ", ".join(entry["actions"])
        honours = f" (honours opt-out list {entry['opt_out_list']})" if entry.get("opt_out_list") else ""
        found.setdefault(key, []).append(
            f"{entry['principal']} {verb} {what} with {entry['kind'].replace('_', ' ')} "
            f"{mask_text(str(entry['resource']))}{honours}")
    return [(TITLES[key], found[key]) for key in ORDER if key in found]
