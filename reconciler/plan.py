"""Changes and plans: plain, deterministic, JSON-serialisable data.

A :class:`Change` is one step the engine may take. ``before``/``after`` are JSON values for
reports; ``data`` is what the owning area's ``apply`` needs. Opted-out phone numbers never
appear raw in a Change: areas store them masked for display and keep the raw value only in
memory (``secret``), which is never serialised (saved plans carry a keyed digest instead).

Ordering
--------
Changes run sorted by :meth:`Change.sort_key`: ``(phase, order, key, action)``.

* ``phase``: :data:`PHASE_BLOCKS` (emergency blocks and new BLOCK rules; only protect
  configurations are read and written) runs before :data:`PHASE_MAIN` (everything else).
* ``order``: the dependency rank inside a phase, shared by every area so that cross-area
  dependencies hold: resources are created before they are used or shared, and links are
  removed before the resources they point at are deleted. Use the ``ORDER_*`` constants.
* ``key``: stable, unique, human-readable; steps of one resource that must run in sequence
  get keys that sort in that sequence.

Conventions the guard and the reports rely on
---------------------------------------------
* ``action == "delete"`` deletes a resource (counted against the deletion thresholds).
* ``action == "remove"`` removes a member from a set (opt-out list entries, share principals
  or resources) and is counted against the membership-removal thresholds, per ``scope``.
* ``flags``: :data:`FLAG_NEEDS_FORCE` (apply requires ``--force``), :data:`FLAG_BLOCKED`
  (the step cannot run; ``data["reason"]`` says why and apply refuses),
  :data:`FLAG_POOL_JUGGLING` (needs ``--allow-pool-juggling``), :data:`FLAG_BLOCKS_COUNTRY`,
  :data:`FLAG_OPENS_COUNTRY`, :data:`FLAG_EXTERNAL_PRINCIPALS`, ... (free-form labels for reviewers).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from reconciler.report.mask import mask_text

Action = Literal["create", "update", "delete", "add", "remove", "associate", "disassociate"]
ACTIONS: tuple[str, ...] = ("create", "update", "delete", "add", "remove", "associate", "disassociate")

# Phases: blocks first (emergency blocks and new BLOCK rules touch only protect configurations),
# then the rest in dependency order.
PHASE_BLOCKS = 0
PHASE_MAIN = 1

# Dependency ranks inside a phase (Change.order), shared by all areas.
ORDER_CREATE = 10  # create resources (protect configurations, opt-out lists)
ORDER_UPDATE = 20  # attributes of existing/created resources (rules, flags, opt-out list links)
ORDER_MEMBERS_ADD = 30  # add members (opted-out numbers, number overrides)
ORDER_ASSOCIATE = 40  # links between resources (config set -> protect configuration, account default)
ORDER_SHARE = 50  # RAM: create shares, associate principals/resources (resources exist by now)
ORDER_UNSHARE = 60  # RAM: disassociate principals/resources, delete shares
ORDER_DISASSOCIATE = 70  # unlink before delete
ORDER_MEMBERS_REMOVE = 80  # remove members
ORDER_DELETE = 90  # delete resources last

FLAG_NEEDS_FORCE = "needs-force"
FLAG_BLOCKED = "blocked"
FLAG_POOL_JUGGLING = "pool-juggling"
FLAG_BLOCKS_COUNTRY = "blocks-country"
FLAG_OPENS_COUNTRY = "opens-country"
FLAG_EXTERNAL_PRINCIPALS = "external-principals"
FLAG_DELETION_PROTECTION_OFF = "deletion-protection-off"


@dataclass(frozen=True)
class Change:
    area: str  # registry name of the owning area, e.g. "protect"
    action: Action
    resource_type: str  # one of the owning area's Area.resource_types
    key: str  # stable, unique within the plan, human-readable, e.g. "protect/prod-default/SMS/AU"
    before: Any = None  # JSON value (masked where personal data)
    after: Any = None
    phase: int = PHASE_MAIN
    order: int = 0  # dependency rank inside a phase: lower runs first (ORDER_* constants)
    # Labels reviewers and guards care about: "blocks-country", "opens-country", "deletion",
    # "deletion-protection-off", "external-principals", "needs-force", ...
    flags: frozenset[str] = frozenset()
    data: dict[str, Any] = field(default_factory=dict)  # apply arguments (JSON, no personal data)
    secret: str | None = field(default=None, compare=False, repr=False)  # raw personal datum, memory only
    # Guard scope for thresholds (e.g. "opt_outs/marketing"); empty means the area itself.
    scope: str = ""
    # One line for humans, e.g. "block AU, NZ for SMS"; reports fall back to action + key.
    summary: str = ""

    @property
    def internal(self) -> bool:
        """A record the reconciler keeps for itself (``Area.internal_types``): shown with -v only,
        never drift."""
        from reconciler.areas.base import declared_types  # lazy: the areas import this module

        return self.resource_type in declared_types("internal_types")

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.phase, self.order, self.key, self.action)

    @property
    def guard_scope(self) -> str:
        return self.scope or self.area

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (docs/plan-json.md). ``secret`` is never included."""
        return {
            "area": self.area,
            "action": self.action,
            "resource_type": self.resource_type,
            "key": self.key,
            # Free text that may quote names read from AWS (a Name tag holding a number): masked.
            "summary": mask_text(self.summary) if self.summary else self.summary,
            "before": self.before,
            "after": self.after,
            "phase": self.phase,
            "order": self.order,
            "flags": sorted(self.flags),
            "scope": self.guard_scope,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Change:
        return cls(
            area=value["area"],
            action=cast(Action, value["action"]),
            resource_type=value["resource_type"],
            key=value["key"],
            before=value.get("before"),
            after=value.get("after"),
            phase=int(value.get("phase", PHASE_MAIN)),
            order=int(value.get("order", 0)),
            flags=frozenset(value.get("flags", ())),
            data=dict(value.get("data") or {}),
            scope=value.get("scope", ""),
            summary=value.get("summary", ""),
        )


@dataclass
class Plan:
    target: str
    changes: list[Change] = field(default_factory=list)
    fingerprint: str = ""  # digest of the live state the plan was computed from
    # Per-area read strategy chosen by the cost model, e.g. {"opt_outs": "lookup listed numbers (12 calls)"}
    strategies: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. unmanaged resources, blocked steps
    unmanaged: list[dict[str, Any]] = field(default_factory=list)
    # Waiting on someone else (a share invitation not yet accepted): not a change, not in sync.
    pending: list[dict[str, Any]] = field(default_factory=list)
    # Grants to other principals the policy does not declare (Area.security): drift, shown first.
    security: list[dict[str, Any]] = field(default_factory=list)
    account_id: str = ""
    region: str = ""
    areas: list[str] = field(default_factory=list)  # the areas read and diffed, in read order
    area_fingerprints: dict[str, str] = field(default_factory=dict)  # area -> digest of its live state
    # Keyed digests of the secrets of changes, by change key (see reconciler.fingerprint.secret_digest).
    secret_digests: dict[str, str] = field(default_factory=dict)
    # Number of existing items per guard scope (denominator of percentage thresholds).
    scope_sizes: dict[str, int] = field(default_factory=dict)
    guard_findings: list[str] = field(default_factory=list)  # what apply would refuse, and why
    # what the plan changes in effect (reconciler/effects/summary.py); None: not computed
    effects: dict[str, Any] | None = None
    # drift only: how it read (full or incremental from the change feed; reconciler/drift_feed)
    drift_mode: dict[str, Any] | None = None

    def sorted_changes(self) -> list[Change]:
        return sorted(self.changes, key=Change.sort_key)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        """Changes per action, every action present (zeros included) for a stable summary."""
        tally: Counter[str] = Counter(str(change.action) for change in self.changes)
        return {action: tally.get(action, 0) for action in ACTIONS}
