"""How the protect area's changes read in reports: country-rule changes as the countries they open
or block (per capability and configuration, with the emergency's reason), a change of the account
default as such, and which changes batch members (``{country: status}`` rule updates, split into a
block-phase part ``…/block``)."""

from __future__ import annotations

from typing import Any

from reconciler.areas.protect.associations import FLAG_ACCOUNT_DEFAULT
from reconciler.countries import name as country_name
from reconciler.plan import FLAG_BLOCKS_COUNTRY, FLAG_OPENS_COUNTRY, Change
from reconciler.report.area_report import AreaReport, Mode
from reconciler.report.escape import markdown_code as code
from reconciler.report.escape import markdown_text as esc
from reconciler.report.markdown import describe_change, fmt_value

MAX_COUNTRIES_SHOWN = 12


def _country_label(code_: str) -> str:
    if len(code_) == 2 and code_.isalpha() and code_.isupper():
        return f"{code_} ({esc(country_name(code_))})"
    return esc(code_)


def _transitions(change: Change) -> dict[tuple[str, str], list[str]]:
    """Countries of a country-rules change grouped by (before, after) status.

    The protect area's changes carry ``{country: status}`` maps in ``before``/``after`` (only the
    countries that change); a single-country change may carry plain statuses and the country in
    ``data["country"]`` or as the key's last part.
    """
    before, after = change.before, change.after
    groups: dict[tuple[str, str], list[str]] = {}
    if isinstance(after, dict):
        for country in sorted(after):
            old = before.get(country, "ALLOW") if isinstance(before, dict) else "ALLOW"
            groups.setdefault((str(old), str(after[country])), []).append(str(country))
    else:
        country = str((change.data or {}).get("country") or change.key.rsplit("/", 1)[-1])
        groups[(str(before), str(after))] = [country]
    return groups


def _country_list(countries: list[str]) -> str:
    shown = ", ".join(_country_label(c) for c in countries[:MAX_COUNTRIES_SHOWN])
    if len(countries) > MAX_COUNTRIES_SHOWN:
        shown += f" and {len(countries) - MAX_COUNTRIES_SHOWN:,} more"
    return shown


def _country_lines(change: Change, mode: Mode) -> list[tuple[int, str]]:
    data = change.data or {}
    configuration = str(data.get("name") or data.get("configuration") or change.key.split("/")[1])
    capability = str(data.get("capability") or "")
    reason = data.get("reason")
    # Emergency blocks may give a reason per country (``{"NG": "SMS pumping, INC-142"}``).
    given = data.get("reasons")
    reasons: dict[str, Any] = given if isinstance(given, dict) else {}
    lines: list[tuple[int, str]] = []
    for (old, new), countries in sorted(_transitions(change).items()):
        opens = old == "BLOCK" and new != "BLOCK"
        blocks = new == "BLOCK" and old != "BLOCK"
        if not (opens or blocks):
            continue
        if mode == "drift":  # before is live, after is the policy: live moved the other way
            verb = "Live has blocked" if opens else "Live has opened"
        else:
            verb = "Opens" if opens else "Blocks"
        by_reason: dict[str, list[str]] = {}
        for country in countries:
            by_reason.setdefault(str(reasons.get(country) or reason or ""), []).append(country)
        for why, group in sorted(by_reason.items()):
            line = f"**{verb}** {_country_list(group)} for {esc(capability)} on {code(configuration)} ({esc(old)} → {esc(new)})"
            if why:
                line += f": {esc(why)}"
            lines.append((0 if opens else 1, line))
    return lines


def highlights(change: Change, mode: Mode) -> list[tuple[int, str]]:
    """A country-rules change as the countries it opens or blocks, a change of the account default
    as such ([] for the generic line)."""
    if (FLAG_OPENS_COUNTRY in change.flags or FLAG_BLOCKS_COUNTRY in change.flags) and change.resource_type != "number-override":
        return _country_lines(change, mode)
    if FLAG_ACCOUNT_DEFAULT in change.flags:
        return [(4, f"**Changes the account default** protect configuration: {describe_change(change)} "
                    f"({fmt_value(change.before)} → {fmt_value(change.after)})")]
    return []


REPORT = AreaReport(
    title="Protect configurations",
    order=10,
    highlights=highlights,
    member_maps=frozenset({"country-rules"}),
    rule_key=lambda key: key.removesuffix("/block"),
)
