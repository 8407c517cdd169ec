"""The contract every policy area implements, and the registry the engine iterates over.

How the engine drives an area (one :class:`Area` instance per target and run)::

    area = AreaClass()
    live = area.read(api, desired)            # only AWS reads, through ``api`` (rate-limited, retried)
    changes = area.diff(desired, live)        # pure: no I/O, deterministic
    unmanaged = area.unmanaged(desired, live) # reported, never deleted (unless ``prune``)
    ...guard, render, confirm...
    for change in sorted(changes): area.apply(api, change)   # only writes, idempotent
    # verification: a fresh instance reads again and diffs; the result must be empty.

Rules for implementers
----------------------
* ``read`` may use ``desired`` to read less (the cost model): e.g. look up only the opted-out
  numbers the policy lists instead of paging a million-entry list. Describe the choice in
  :meth:`strategy`. Everything ``read`` returns must be canonically encodable by
  :func:`reconciler.fingerprint.canonical` (dataclasses, dicts, lists, tuples, sets, str, int,
  float, bool, None, datetime) because the live-state fingerprint is computed from it
  (override :meth:`fingerprint_data` to leave out volatile fields).
* ``diff`` is pure and normalising: a plan computed right after an apply is empty.
* Changes carry no personal data in ``key``/``before``/``after``/``data``: mask opted-out and
  end-user numbers with :func:`reconciler.report.mask.mask_number` (or ``unique_masks`` when two
  numbers could share a mask) and keep the raw value in ``Change.secret`` (memory only).
* ``apply`` performs one change and is idempotent: "already done" answers (ConflictException
  for an existing member, ResourceNotFoundException when deleting what is gone) count as
  success, so a rerun after a crash converges. An instance may keep ids learnt in ``read`` and
  record ids of resources it creates, for later changes of the same run. A saved plan is never
  applied as-is: the engine re-reads, re-diffs and checks that the fresh changes equal the saved
  ones, so ``apply`` always receives changes with ``secret`` set.
* Every AWS call an area makes is declared in ``operations`` (rate limits, IAM policy).
* Cross-area ordering uses the shared ``ORDER_*`` ranks from :mod:`reconciler.plan`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from reconciler.checkpoint import Checkpoints
from reconciler.config.model import Desired
from reconciler.config.section import PolicySection
from reconciler.milestone import Milestone
from reconciler.plan import Change
from reconciler.report.area_report import AreaReport

if TYPE_CHECKING:
    from reconciler.aws import Api
    from reconciler.config.edit import DriftAcceptor, PolicyEdit


@dataclass(frozen=True)
class ApiOperation:
    """One AWS call an area may make: drives client calls, rate limits and the IAM policy."""

    service: str  # boto3 service name: "pinpoint-sms-voice-v2" | "ram" | "sts"
    name: str  # API operation name, e.g. "DescribeOptedOutNumbers"
    iam_action: str  # e.g. "sms-voice:DescribeOptedOutNumbers"
    rate_per_second: float  # AWS default quota
    mode: str  # "read" (plan/drift) or "write" (apply only)


def sms(name: str, rate_per_second: float = 1.0, mode: str = "read") -> ApiOperation:
    """Declare a pinpoint-sms-voice-v2 operation (IAM prefix ``sms-voice``)."""
    return ApiOperation("pinpoint-sms-voice-v2", name, f"sms-voice:{name}", rate_per_second, mode)


class Area(ABC):
    """A policy area: desired extraction, live read, pure diff, apply of its own changes."""

    name: ClassVar[str]
    operations: ClassVar[tuple[ApiOperation, ...]]
    # The area's part of the policy language: its YAML lists, checks, codes and schema fragment
    # (reconciler/config/section.py; by convention in ``<area>/policy.py``).
    section: ClassVar[PolicySection | None] = None
    # The ``Change.resource_type`` values the area's changes and unmanaged items use.
    resource_types: ClassVar[frozenset[str]] = frozenset()
    # How the reports show the area's changes (reconciler/report/area_report.py).
    report: ClassVar[AreaReport | None] = None
    # Resource types of records the reconciler keeps for itself, not resources anyone asked for
    # (an opt-out list's watermark, the emergency record): reports show them with -v only and
    # they are never drift (docs/policy.md).
    internal_types: ClassVar[frozenset[str]] = frozenset()
    # Resource types whose additions count against the guard's --max-additions (bulk members).
    guarded_additions: ClassVar[frozenset[str]] = frozenset()
    # Flags of changes that drop end users' own opt-outs (``Change.data["end_user_opt_outs"]`` of
    # them): the guard refuses the apply unless ``--drop-end-user-opt-outs`` names their exact total.
    end_user_drop_flags: ClassVar[frozenset[str]] = frozenset()
    # True for the area whose BLOCK changes form the first phase (protect): it is read before
    # every other area and its PHASE_BLOCKS changes are applied first (see reconciler/apply.py).
    block_phase: ClassVar[bool] = False
    # Read order among areas (lower first); also the order of sections in reports.
    read_order: ClassVar[int] = 50
    # Which failure of the apply's result ``verify_effects``' problems are: declared blocks not in
    # force, or end-user opt-outs reachable again (reported apart; either fails the apply).
    effects_failure: ClassVar[Literal["not_in_force", "opt_outs_reachable"]] = "not_in_force"
    # The command being run ("plan", "apply", "drift", "import"), set by the engine on each
    # instance before ``read``: lets the cost model decide what it may trust (drift verifies).
    command: str = "plan"
    # Set by apply before ``read`` (auto-approve, no saved plan): the area hands it each batch of
    # *protective* changes as soon as the live state they depend on is read: PHASE_BLOCKS changes,
    # and opted-out numbers added to an existing list. They depend on no other change and stop
    # messages rather than allow them, so they are written while reads go on
    # (reconciler/early_writes.py). The full diff later yields the same changes with the same keys.
    early_changes: Callable[[list[Change]], None] | None = None
    # Set by ``drift --checkpoint``: an area whose reads take hours saves its place there and
    # resumes from it (reconciler/checkpoint.py).
    checkpoint: Checkpoints | None = None
    # A block-phase area reaches this once it no longer needs operations it shares with other
    # areas' reads (protect: ListTagsForResource); apply starts the other areas' reads then, so
    # they never take quota from the reads a block waits for. None: others need not wait.
    shared_reads_done: Milestone | None = None
    # CLI subcommands the area adds to ``reconciler`` (reconciler/cli.py lists them with the
    # generic ones, by name): command name -> module of the area's package that exposes
    # ``register(subparsers)`` like reconciler/commands/* do (protect: ``block``).
    commands: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def read(self, api: Api, desired: Desired) -> Any:
        """Read the live state this area needs to diff ``desired`` (cost-aware, paginated)."""

    @abstractmethod
    def diff(self, desired: Desired, live: Any) -> list[Change]:
        """Pure: the changes that make ``live`` match ``desired``. Empty right after an apply."""

    @abstractmethod
    def apply(self, api: Api, change: Change) -> None:
        """Perform one change idempotently (safe to repeat after a crash)."""

    # Optional hooks with safe defaults -------------------------------------------------------

    def manages(self, desired: Desired) -> bool:
        """Whether the policy says anything about this area (if not, it is neither read nor diffed)."""
        return True

    def strategy(self, desired: Desired, live: Any) -> str:
        """How ``read`` chose to read (shown in plans), e.g. "looked up 12 listed numbers (3 calls)"."""
        return ""

    def unmanaged(self, desired: Desired, live: Any) -> list[dict[str, Any]]:
        """Live resources the policy neither names nor owns: ``{"area", "type", "id", "name"?, "detail"?}``."""
        return []

    def pending(self, desired: Desired, live: Any) -> list[dict[str, Any]]:
        """Desired state AWS is still waiting on someone else for (e.g. a resource share invitation
        not yet accepted): ``{"area", "status", "detail", ...}``. Neither a change nor in sync."""
        return []

    def security(self, desired: Desired, live: Any) -> list[dict[str, Any]]:
        """Grants of the account's resources to other principals that the policy does not declare
        (``{"kind", "path", "principal", "resource", "resource_arn", "actions", "detail"}``): drift
        that every report shows first (areas/resource_policies/area.py)."""
        return []

    def warnings(self, desired: Desired, live: Any) -> list[str]:
        """Things a reviewer must know that are not changes (sorted, deterministic)."""
        return []

    def scope_sizes(self, desired: Desired, live: Any) -> dict[str, int]:
        """Existing items per guard scope (e.g. members of each opt-out list), for percentage limits."""
        return {}

    def fingerprint_data(self, live: Any) -> Any:
        """What of ``live`` enters the fingerprint; everything by default."""
        return live

    def with_other_areas(self, api: Api, desired: Desired, lives: dict[str, Any], changes: list[Change]) -> list[Change]:
        """The plan's ``changes`` (every area's) with what this area adds because of other areas'
        changes, given every area's live state (``lives``). Default: unchanged. The opt-out area
        carries end-user opt-outs to the list an identity moves to (areas/opt_outs/carry.py)."""
        return changes

    def verification_scope(self, desired: Desired, applied: list[Change]) -> Desired:
        """The policy the post-apply verification re-reads and diffs this area against, given the
        changes applied to it: all of it by default. An area may narrow it to what ``applied``
        touched when reading the rest again would cost calls and prove nothing."""
        return desired

    @classmethod
    def drift_acceptor(cls, edit: PolicyEdit) -> DriftAcceptor | None:
        """How ``drift --accept`` folds the live state of the area's resource types back into the
        policy files (reconciler/config/edit.py): a fresh acceptor for the run ``edit``. None (the
        default): the area's drift is listed for a human to edit."""
        return None

    def verify_effects(self, api: Api, desired: Desired, lives: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
        """After an apply, the effects the policy promises that do not hold (one line each; none
        by default), judged on ``fresh`` (the areas re-read after the writes; an area missing there
        was not written: its state is in ``lives``, this run's read before the writes). An empty
        plan is not a policy in force: any problem fails the apply (``effects_failure``)."""
        return []


_REGISTRY: dict[str, type[Area]] = {}


@cache
def _import_areas() -> None:
    import importlib
    import pkgutil

    import reconciler.areas as pkg

    # Each area is a package ``reconciler/areas/<area>/`` whose ``area`` module registers it. A
    # module directly under areas/ is imported too, so that one written before areas became
    # packages still registers what it defines.
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg:
            importlib.import_module(f"{pkg.__name__}.{info.name}.area")
        elif info.name not in {"base", "importing"}:
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def register(cls: type[Area]) -> type[Area]:
    _REGISTRY[cls.name] = cls
    return cls


def registry() -> dict[str, type[Area]]:
    """Every registered area, by name (sorted). The area packages are imported once: reports ask
    per change, and a directory scan per call would put file-system work on that hot path."""
    _import_areas()
    return dict(sorted(_REGISTRY.items()))


@cache
def declared_types(declaration: str) -> frozenset[str]:
    """The union over every area of a declaration of resource types or flags (``internal_types``,
    ``guarded_additions``, ``end_user_drop_flags``); each is unique to its area. Cached: asked per change."""
    return frozenset(t for cls in registry().values() for t in getattr(cls, declaration))


def engine_operations() -> tuple[ApiOperation, ...]:
    """Operations the engine itself calls outside any area: the drift feed's CloudTrail reads."""
    from reconciler.drift_feed.events import OPERATIONS

    return OPERATIONS


def declarations() -> list[ApiOperation]:
    """Every operation declared anywhere: each area's, then the engine's own (unsorted, repeats kept)."""
    return [*(op for cls in registry().values() for op in cls.operations), *engine_operations()]


def all_operations() -> list[ApiOperation]:
    """Every declared operation of every area (and the engine's own), de-duplicated and sorted."""
    seen: dict[tuple[str, str], ApiOperation] = {}
    for op in declarations():
        seen.setdefault((op.service, op.name), op)
    return [seen[key] for key in sorted(seen)]


def changed_attributes(live: dict[str, Any], want: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Attributes whose wanted value differs from the live one: ``{name: (live, wanted)}``.

    Only keys of ``want`` whose value is not ``None`` are managed (``None`` = the policy is silent).
    DeepDiff compares nested values (lists, dicts) structurally, ignoring list order.
    """
    from deepdiff import DeepDiff

    managed = {key: value for key, value in want.items() if value is not None}
    current = {key: live.get(key) for key in managed}
    diff = DeepDiff(current, managed, ignore_order=True)
    changed = {str(key) for key in diff.affected_root_keys}
    return {key: (current[key], managed[key]) for key in sorted(changed)}
