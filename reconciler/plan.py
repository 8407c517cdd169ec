"""Changes and plans: plain, deterministic, JSON-serialisable data.

A :class:`Change` is one step the engine may take. ``before``/``after`` are JSON values for
reports; ``data`` is what the owning area's ``apply`` needs. Opted-out phone numbers never
appear raw in a Change: areas store them masked for display and keep the raw value only in
memory (``secret``), which is never serialised (saved plans carry a keyed digest instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "add", "remove", "associate", "disassociate"]

# Phases: blocks first (emergency blocks and new BLOCK rules touch only protect configurations),
# then the rest in dependency order.
PHASE_BLOCKS = 0
PHASE_MAIN = 1


@dataclass(frozen=True)
class Change:
    area: str  # registry name of the owning area, e.g. "protect"
    action: Action
    resource_type: str  # e.g. "protect-configuration", "country-rule", "opted-out-number"
    key: str  # stable, unique within the plan, human-readable, e.g. "protect/prod-default/SMS/AU"
    before: Any = None  # JSON value (masked where personal data)
    after: Any = None
    phase: int = PHASE_MAIN
    order: int = 0  # dependency rank inside a phase: lower runs first
    # Labels reviewers and guards care about: "blocks-country", "opens-country", "deletion",
    # "deletion-protection-off", "account-default", "external-principals", "needs-force", ...
    flags: frozenset[str] = frozenset()
    data: dict[str, Any] = field(default_factory=dict)  # apply arguments (JSON, no personal data)
    secret: str | None = field(default=None, compare=False, repr=False)  # raw personal datum, memory only

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.phase, self.order, self.key, self.action)


@dataclass
class Plan:
    target: str
    changes: list[Change] = field(default_factory=list)
    fingerprint: str = ""  # digest of the live state the plan was computed from
    # Per-area read strategy chosen by the cost model, e.g. {"opt_outs": "lookup listed numbers (12 calls)"}
    strategies: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. unmanaged resources, blocked steps
    unmanaged: list[dict[str, Any]] = field(default_factory=list)

    def sorted_changes(self) -> list[Change]:
        return sorted(self.changes, key=Change.sort_key)

    @property
    def empty(self) -> bool:
        return not self.changes
