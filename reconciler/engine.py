"""The engine: for each target, connect, check the account, read, diff, guard, apply, verify.

    engine = Engine(policy, factory, only=("protect",))
    run = engine.start("prod")                # session (+ AssumeRole), STS account check
    plan = engine.plan(run)                   # read every selected area, diff -> Plan

Apply is phased (see :mod:`reconciler.apply`): the block-phase area (protect) is read first and
its BLOCK changes are written first, so an emergency block never waits for a million-number
opt-out list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from reconciler import interrupt
from reconciler.areas.base import Area, registry
from reconciler.aws import (
    Api,
    CallRecord,
    RateLimiter,
    SessionFactory,
    caller_account,
    connect,
    declared_rates,
    error_code,
)
from reconciler.checkpoint import Checkpoints
from reconciler.cli import UserError
from reconciler.config.model import Desired, Policy, Target
from reconciler.effects.plan_effects import plan_effects
from reconciler.fingerprint import canonical, combine, digest_bytes, secret_digest, secret_key
from reconciler.plan import Change, Plan
from reconciler.report.mask import mask_text

log = structlog.get_logger("reconciler.engine")


class AccountMismatch(UserError):
    """The credentials belong to another account than the target's: nothing is read or changed."""


def area_classes(only: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[type[Area]]:
    """The selected areas in read order (block-phase area first). Unknown names are a user error."""
    known = registry()
    unknown = sorted({name for name in (*only, *exclude) if name not in known})
    if unknown:
        raise UserError(
            f"unknown area {', '.join(unknown)}",
            hint=f"areas are: {', '.join(known)}",
        )
    chosen = [cls for name, cls in known.items() if (not only or name in only) and name not in exclude]
    return sorted(chosen, key=lambda cls: (not cls.block_phase, cls.read_order, cls.name))


def aws_failure(target: str, what: str, error: Exception) -> UserError:
    """An AWS error as a one-line user error (masked, no traceback)."""
    code = error_code(error) or type(error).__name__
    message = mask_text(str(error))
    hint = None
    if isinstance(error, NoCredentialsError):
        hint = "configure credentials (AWS_PROFILE, environment, SSO…) or use --sandbox"
    elif code in {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}:
        hint = "the role needs the permissions listed by `reconciler iam-policy`"
    return UserError(f"target {target}: {what} failed: {message}", hint=hint)


@dataclass
class TargetRun:
    """Everything known about one target during one command."""

    target: Target
    desired: Desired
    api: Api
    classes: list[type[Area]]
    areas: dict[str, Area] = field(default_factory=dict)  # name -> instance, in read order
    lives: dict[str, Any] = field(default_factory=dict)  # name -> live state read
    canonicals: dict[str, bytes] = field(default_factory=dict)  # name -> canonical live bytes
    read_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.target.name


class Engine:
    def __init__(
        self,
        policy: Policy,
        factory: SessionFactory | None = None,
        only: Sequence[str] = (),
        exclude: Sequence[str] = (),
        rate_scale: float = 1.0,
        sleep: Callable[[float], None] = interrupt.sleep,
        command: str = "plan",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.command = command  # "plan" | "apply" | "drift" | "import": handed to every area
        self.factory = factory or SessionFactory()
        self.classes = area_classes(only, exclude)
        self.rate_scale = rate_scale
        self.sleep = sleep
        # What the rate limiter reads; pair it with ``sleep`` (e.g. a simulated clock's now/sleep).
        self.clock = clock
        # Wall time as AWS keeps it (unix seconds): where the drift feed's event window starts.
        self.wall: Callable[[], float] = time.time
        # ``--quota-share``: the share of each API quota to use; None: the target's quota_share, else 1.
        self.quota_share: float | None = None
        self.apis: list[Api] = []  # every Api created, for call counting in tests and reports
        self.checkpoint: Checkpoints | None = None  # drift --checkpoint: long reads save their place
        # target name -> a listener of its AWS calls (the CLI's read progress)
        self.call_listener: Callable[[str], Callable[[CallRecord], None]] | None = None

    # Targets -----------------------------------------------------------------------------------

    def target_names(self, selected: Iterable[str] = ()) -> list[str]:
        names = sorted(self.policy.targets)
        chosen = list(dict.fromkeys(selected))
        unknown = [name for name in chosen if name not in self.policy.targets]
        if unknown:
            raise UserError(
                f"unknown target {', '.join(unknown)}",
                hint=f"targets in {self.policy.config_dir}: {', '.join(names) or 'none'}",
            )
        return chosen or names

    def start(self, name: str, classes: list[type[Area]] | None = None) -> TargetRun:
        """Connect to the target and check that the credentials belong to its account."""
        target = self.policy.targets[name]
        desired = self.policy.desired.get(name) or Desired(target=target)
        try:
            session = connect(self.factory, target.account_id, target.region, target.role_arn)
        except (ClientError, BotoCoreError) as error:
            what = f"assuming role {target.role_arn}" if target.role_arn else "creating a session"
            raise aws_failure(name, what, error) from None
        share = self.quota_share if self.quota_share is not None else (target.quota_share or 1.0)
        limiter = RateLimiter(declared_rates(), scale=self.rate_scale, clock=self.clock, sleep=self.sleep, share=share)
        api = Api(session, target.region, limiter=limiter, sleep=self.sleep, clock=self.clock)
        self.apis.append(api)
        if self.call_listener is not None:
            api.listeners.append(self.call_listener(name))
        try:
            account = caller_account(api)
        except (ClientError, BotoCoreError) as error:
            raise aws_failure(name, "checking the caller identity (sts:GetCallerIdentity)", error) from None
        if account != target.account_id:
            where = f" ({target.source})" if target.source else ""
            raise AccountMismatch(
                f"target {name}{where} is account {target.account_id}, but the credentials belong to "
                f"account {account}; refusing to read or change anything",
                hint="use credentials for the target's account, or set role_arn on the target",
            )
        run = TargetRun(target, desired, api, list(classes if classes is not None else self.classes))
        for cls in run.classes:
            area = self.new_area(cls)
            if area.manages(desired) or cls.block_phase:
                run.areas[cls.name] = area
        return run

    def new_area(self, cls: type[Area]) -> Area:
        area = cls()
        area.command = self.command
        area.checkpoint = self.checkpoint
        return area

    # Reading and diffing ------------------------------------------------------------------------

    def read(self, run: TargetRun, names: Iterable[str]) -> None:
        """Read ``names`` concurrently: AWS quotas are per operation, so areas (which call
        different operations, or share a quota the rate limiter splits) finish in the time of the
        slowest instead of the sum. Results are stored in ``names`` order; the first failure (in
        that order) is raised."""
        pending = [name for name in dict.fromkeys(names) if name not in run.lives]
        reads = run.api.parallel([lambda name=name: self._read_area(run, name) for name in pending])  # type: ignore[misc]
        for name, (live, seconds) in zip(pending, reads, strict=True):
            run.lives[name] = live
            run.canonicals[name] = canonical(run.areas[name].fingerprint_data(live))
            run.read_seconds[name] = seconds

    def _read_area(self, run: TargetRun, name: str) -> tuple[Any, float]:
        area = run.areas[name]
        started = time.perf_counter()
        log.debug("read.start", target=run.name, area=name)
        try:
            live = area.read(run.api, run.desired)
        except (ClientError, BotoCoreError) as error:
            raise aws_failure(run.name, f"reading {name}", error) from None
        seconds = round(time.perf_counter() - started, 3)
        log.debug("read.done", target=run.name, area=name, seconds=seconds)
        return live, seconds

    def block_areas(self, run: TargetRun) -> list[str]:
        return [name for name, area in run.areas.items() if area.block_phase]

    def other_areas(self, run: TargetRun) -> list[str]:
        return [name for name, area in run.areas.items() if not area.block_phase]

    def plan(self, run: TargetRun, names: Sequence[str] | None = None) -> Plan:
        """Read (what is not read yet) and diff ``names`` (default: every selected area)."""
        names = list(run.areas) if names is None else list(names)
        self.read(run, names)
        return self.build_plan(run, names)

    def build_plan(self, run: TargetRun, names: Sequence[str]) -> Plan:
        plan = Plan(target=run.name, account_id=run.target.account_id, region=run.target.region)
        plan.areas = list(names)
        for name in names:
            area, live = run.areas[name], run.lives[name]
            changes = area.diff(run.desired, live)
            key = secret_key(run.canonicals[name])
            for change in changes:
                if change.secret is not None:
                    plan.secret_digests[change.key] = secret_digest(key, change.secret)
            plan.changes.extend(changes)
            plan.area_fingerprints[name] = digest_bytes(run.canonicals[name])
            strategy = area.strategy(run.desired, live)
            if strategy:
                plan.strategies[name] = strategy
            plan.warnings.extend(f"{name}: {w}" for w in area.warnings(run.desired, live))
            plan.unmanaged.extend(area.unmanaged(run.desired, live))
            plan.pending.extend(area.pending(run.desired, live))
            plan.security.extend(area.security(run.desired, live))
            plan.scope_sizes.update(area.scope_sizes(run.desired, live))
        for name in names:  # changes that depend on other areas' changes (opt-outs follow identities)
            updated = run.areas[name].with_other_areas(run.api, run.desired, run.lives, plan.changes)
            if updated is plan.changes:
                continue
            plan.changes = updated
            key = secret_key(run.canonicals[name])
            for change in plan.changes:
                if change.area == name and change.secret is not None and change.key not in plan.secret_digests:
                    plan.secret_digests[change.key] = secret_digest(key, change.secret)
        duplicates = _duplicate_keys(plan.changes)
        if duplicates:
            # A programming error in an area, never a user mistake: refuse rather than apply twice.
            raise RuntimeError(f"duplicate change keys: {', '.join(duplicates)}")
        plan.changes = plan.sorted_changes()
        plan.unmanaged.sort(key=lambda item: (str(item.get("area")), str(item.get("type")), str(item.get("id"))))
        plan.security.sort(key=lambda item: (str(item.get("resource")), str(item.get("principal")), str(item.get("path"))))
        plan.fingerprint = combine(plan.area_fingerprints)
        plan.effects = plan_effects(run.lives, plan.changes)
        return plan

    def verify(self, run: TargetRun, scopes: dict[str, Desired], fresh: dict[str, Any] | None = None) -> Plan:
        """Re-read and diff each area of ``scopes`` with a new instance against its policy scope
        (``Area.verification_scope``), concurrently: after an apply the result must be empty.
        ``fresh`` receives each area's live state as re-read (for the effect checks)."""
        names = list(scopes)

        def one(name: str) -> Plan:
            again = TargetRun(run.target, scopes[name], run.api, run.classes)
            again.areas[name] = self.new_area(type(run.areas[name]))
            self.read(again, [name])
            if fresh is not None:
                fresh[name] = again.lives[name]
            return self.build_plan(again, [name])

        plans = run.api.parallel([lambda name=name: one(name) for name in names])  # type: ignore[misc]
        merged = Plan(target=run.name, account_id=run.target.account_id, region=run.target.region, areas=names)
        for plan in plans:
            merged.changes.extend(plan.changes)
            merged.area_fingerprints.update(plan.area_fingerprints)
        merged.changes = merged.sorted_changes()
        merged.fingerprint = combine(merged.area_fingerprints)
        return merged


def _duplicate_keys(changes: Sequence[Change]) -> list[str]:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for change in changes:
        (duplicates if change.key in seen else seen).add(change.key)
    return sorted(duplicates)


__all__ = ["AccountMismatch", "Engine", "TargetRun", "area_classes"]
