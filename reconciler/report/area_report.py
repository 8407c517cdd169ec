"""What an area tells the reports about its own changes (``Area.report``): its section title and
place, the lines a reviewer must not miss for its changes, and which of its changes batch members
(``{member: value}`` maps) so a pull request's plan can be split from drift member by member.

The renderers (reconciler/report/markdown.py) know no area: a plan may name an area this version
does not know (a fork's plan JSON), and then gets a generic section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from reconciler.plan import Change

Mode = Literal["plan", "drift"]


@dataclass(frozen=True)
class AreaReport:
    title: str  # the report section's title, e.g. "Phone numbers"
    order: int  # sections by ascending order: what stops fraud first
    # (change, mode) -> (rank, Markdown line) for what a reviewer must not miss; [] for the generic lines.
    highlights: Callable[[Change, Mode], list[tuple[int, str]]] | None = None
    member_maps: frozenset[str] = frozenset()  # resource types whose before/after are {member: value}
    # A change's key as the rule it belongs to (an area may split one rule's update into parts).
    rule_key: Callable[[str], str] | None = None
    # Membership changes the text plan shows as one line per list and action when there are many:
    # resource type -> (noun, action -> preposition), e.g. "add 176 numbers to shared-optouts".
    member_groups: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)
    # The sharing paths of the security findings the area reports (``finding["path"]``), in words:
    # "... through a resource policy".
    finding_paths: Mapping[str, str] = field(default_factory=dict)


def member_groups() -> dict[str, tuple[str, Mapping[str, str]]]:
    """Every area's ``member_groups``, by resource type."""
    return {kind: group for report in area_reports().values() for kind, group in report.member_groups.items()}


def finding_paths() -> dict[str, str]:
    """Every area's ``finding_paths``: a security finding's path -> its words."""
    return {path: words for report in area_reports().values() for path, words in report.finding_paths.items()}


def area_reports() -> dict[str, AreaReport]:
    from reconciler.areas.base import registry  # the areas import the report helpers

    return {name: cls.report for name, cls in registry().items() if cls.report is not None}
