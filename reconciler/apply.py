"""Apply: phased, guarded, rate-limited execution of a plan, then verification.

For one target (``_apply_target`` states the phases in this order)::

    1. connect; STS account check (engine.start)
    2. read the block-phase area (protect) only; its PHASE_BLOCKS changes (emergency blocks, new
       BLOCK rules, BLOCK overrides) are guarded, confirmed and written — before any other area
       is read, so an emergency block never waits for a million-number opt-out list
    3. read the other areas; guard, confirm and run the remaining changes in dependency order
       (reconciler/executor.py)
    4. re-read what changed (``Area.verification_scope``) and diff again: the plan must be empty,
       else exit 1 listing the residue

With nothing to confirm (``--auto-approve``, no saved plan) steps 2 and 3 stream (``_stream``):
each block is written as soon as its configuration's rule sets are read, the other areas are read
meanwhile (once protect's Name tags are read) and opted-out number additions are written as soon
as their list is read (reconciler/early_writes.py); the rest waits for the whole plan and the guard.

With a saved plan (``apply FILE``) every step first checks that the live state of the areas it
read still has the saved fingerprint and that the changes computed now are exactly the saved
ones (secrets compared through their keyed digests); otherwise the plan is stale and refused.
Steps are idempotent, so a rerun after a crash converges.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from reconciler import revision as revisions
from reconciler.areas.base import registry
from reconciler.cli import UserError
from reconciler.early_writes import EarlyWriter
from reconciler.engine import Engine, TargetRun, aws_failure
from reconciler.executor import run_changes
from reconciler.fingerprint import KEYED_DIGEST_PREFIX, PLAN_KEY_ENV
from reconciler.guard import GuardOptions, enforce
from reconciler.plan import PHASE_BLOCKS, Change, Plan
from reconciler.progress import Progress
from reconciler.report.mask import mask_text
from reconciler.revision import Revision

log = structlog.get_logger("reconciler.apply")

# (plan shown, stage title) -> approved?
Confirm = Callable[[Plan, str], bool]


class StalePlan(UserError):
    """The saved plan no longer describes what apply would do."""


@dataclass
class ApplyResult:
    target: str
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    not_done: list[Change] = field(default_factory=list)
    residue: list[Change] = field(default_factory=list)
    # Declared blocks the effect model of a fresh read shows not in force, per send path.
    not_in_force: list[str] = field(default_factory=list)
    # Identities that can reach end-user opt-outs they refused before (reconciler/areas/opt_outs/verify.py).
    opt_outs_reachable: list[str] = field(default_factory=list)
    declined: bool = False
    refused: str | None = None  # a guard or staleness refusal (after the blocks, when they ran)
    plan: Plan | None = None  # everything that was planned (both stages)

    @property
    def ok(self) -> bool:
        return (self.failed is None and not self.residue and not self.not_in_force and not self.opt_outs_reachable
                and not self.declined and self.refused is None)


@dataclass
class ApplyOptions:
    guard: GuardOptions = field(default_factory=GuardOptions)
    confirm: Confirm | None = None  # None: approved (auto-approve or a saved plan approved up front)
    expected: Plan | None = None  # the saved plan for this target
    progress: Callable[[str, int], Progress] = Progress
    before_write: Callable[[], None] | None = None  # e.g. a lock lease's ensure_held
    # The policy revision applied (reconciler/revision.py): checked against the one the account
    # records before anything is read, recorded after a verified apply. None: not in git.
    revision: Revision | None = None
    # Every change AWS acknowledged, as it happens: what an interrupted apply reports.
    acknowledged: list[Change] = field(default_factory=list)


def _identity(changes: Sequence[Change], digests: dict[str, str]) -> list[tuple[str, str, str]]:
    import json

    return sorted(
        (c.key, json.dumps(c.to_json(), sort_keys=True, default=str), digests.get(c.key, "")) for c in changes
    )


def check_fresh(expected: Plan, fresh: Plan, areas: Sequence[str]) -> None:
    """Refuse when ``fresh`` (re-read now) differs from the saved plan for ``areas``."""
    stale = [a for a in areas if expected.area_fingerprints.get(a) != fresh.area_fingerprints.get(a)]
    if stale:
        raise StalePlan(
            f"target {expected.target}: the saved plan is stale: the live state of {', '.join(stale)} changed since "
            "the plan was made (fingerprint differs)",
            hint="run `reconciler plan --out FILE` again and review the new plan",
        )
    saved = [c for c in expected.changes if c.area in areas]
    now = [c for c in fresh.changes if c.area in areas]
    keyed_then = {d.startswith(KEYED_DIGEST_PREFIX) for c in saved if (d := expected.secret_digests.get(c.key))}
    keyed_now = {d.startswith(KEYED_DIGEST_PREFIX) for c in now if (d := fresh.secret_digests.get(c.key))}
    if keyed_then and keyed_now and keyed_then != keyed_now:
        state = "set" if True in keyed_then else "not set"
        raise StalePlan(
            f"target {expected.target}: the saved plan was made with {PLAN_KEY_ENV} {state}; apply needs the same",
            hint=f"{'set' if state == 'set' else 'unset'} {PLAN_KEY_ENV} (the same secret as the plan job) and retry",
        )
    saved_id = _identity(saved, {c.key: expected.secret_digests.get(c.key, "") for c in saved})
    now_id = _identity(now, {c.key: fresh.secret_digests.get(c.key, "") for c in now})
    if saved_id != now_id:
        differing = sorted({k for k, _, _ in set(saved_id) ^ set(now_id)})
        raise StalePlan(
            f"target {expected.target}: the saved plan no longer matches the policy: {len(differing)} change(s) "
            f"differ ({', '.join(differing[:5])}{' …' if len(differing) > 5 else ''})",
            hint="the policy changed since the plan was made; plan again and review",
        )


@dataclass
class _RunLanes:
    """A target run as the executor sees it."""

    run: TargetRun
    acknowledged: list[Change] = field(default_factory=list)

    def apply_one(self, change: Change) -> None:
        self.run.areas[change.area].apply(self.run.api, change)
        self.acknowledged.append(change)  # list.append is atomic: lanes share the list

    def parallel(self, tasks: Sequence[Callable[[], None]]) -> list[None]:
        return self.run.api.parallel(tasks)


def execute(run: TargetRun, changes: Sequence[Change], options: ApplyOptions, result: ApplyResult) -> bool:
    """Run ``changes`` (see :mod:`reconciler.executor`); stop at the first failure. True when all succeeded."""
    progress = options.progress(run.name, len(changes))
    outcome = run_changes(_RunLanes(run, options.acknowledged), changes, progress, options.before_write)
    result.applied.extend(outcome.applied)
    if not outcome.ok:
        result.failed, result.error = outcome.failed, outcome.error
        result.not_done.extend(outcome.not_done)
        log.error("apply.failed", target=run.name, key=outcome.failed.key if outcome.failed else None,
                  error=outcome.error, not_done=len(outcome.not_done))
    return outcome.ok


def _read_writing_early(engine: Engine, run: TargetRun, names: list[str], options: ApplyOptions,
                        wait: Callable[[], None] | None = None) -> tuple[Plan | None, EarlyWriter, UserError | None]:
    """Read and diff ``names`` (after ``wait``) while a writer applies the protective changes they
    report (reconciler/early_writes.py). A failed read is returned, not raised, so that what the
    writer did meanwhile is still reported."""
    writer = EarlyWriter(_RunLanes(run, options.acknowledged), run.name, options.guard, options.progress(run.name, 0),
                         run.api.clock, run.api.wait_until, options.before_write)
    for name in names:
        run.areas[name].early_changes = writer.report

    def read() -> Plan:
        try:
            if wait is not None:
                wait()
            return engine.plan(run, names)
        finally:  # the writer always learns that nothing more comes
            writer.close()
            for name in names:
                run.areas[name].early_changes = None

    def write() -> Plan | None:
        writer.write()
        return None

    try:
        return run.api.parallel([read, write])[0], writer, None
    except UserError as failure:
        return None, writer, failure


@dataclass
class _Side:
    """What one of the two concurrent halves of a streaming apply did."""

    result: ApplyResult
    plan: Plan | None = None
    refusal: UserError | None = None


@contextlib.contextmanager
def whole_quota_for_blocks(run: TargetRun, names: Sequence[str]) -> Iterator[None]:
    """During an emergency (the policy declares emergency blocks) the block phase may use the
    whole quota of its operations, not just ``--quota-share``: stopping messages to a country
    comes before leaving room for the application's own calls."""
    limiter = run.api.limiter
    operations = {(op.service, op.name) for name in names for op in run.areas[name].operations}
    if limiter is None or not run.desired.emergency_blocks or not operations:
        yield
        return
    limiter.use_whole_quota(operations)
    try:
        yield
    finally:
        limiter.use_whole_quota(operations, whole=False)


def _stream(engine: Engine, run: TargetRun, options: ApplyOptions, result: ApplyResult) -> Plan | None:
    """Stage 1 without a confirmation to wait for: the block-phase areas are read while their
    blocks are written as they become known, and then the blocks left are guarded and written;
    meanwhile, once the block-phase areas no longer use quota the others share, the other areas
    are read while their protective changes (opted-out number additions) are written. Returns the
    block-phase plan, or None when the apply must stop (``result`` says why)."""
    first, others = engine.block_areas(run), engine.other_areas(run)
    blocks_side, others_side = _Side(ApplyResult(run.name)), _Side(ApplyResult(run.name))

    def blocks() -> None:
        try:
            with whole_quota_for_blocks(run, first):
                write_blocks()
        finally:  # whatever happened, the other areas' reads must not wait for ever
            for name in first:
                milestone = run.areas[name].shared_reads_done
                if milestone is not None:
                    milestone.reach(run.api.clock())

    def write_blocks() -> None:
        plan, writer, blocks_side.refusal = _read_writing_early(engine, run, first, options)
        blocks_side.plan = plan
        _collect(writer, blocks_side.result)
        if plan is None or writer.failed is not None:
            return
        written = {c.key for c in writer.applied}
        left = [c for c in plan.changes if c.phase == PHASE_BLOCKS and c.key not in written]
        if left:
            try:
                enforce(plan, left, options.guard)
            except UserError as refusal:
                blocks_side.refusal = refusal
                blocks_side.result.not_done = list(left)
                return
            execute(run, left, options, blocks_side.result)

    def wait_for_blocks() -> None:
        for name in first:
            milestone = run.areas[name].shared_reads_done
            if milestone is not None:
                milestone.wait(run.api.wait_until)

    def rest() -> None:
        others_side.plan, writer, others_side.refusal = _read_writing_early(engine, run, others, options, wait_for_blocks)
        _collect(writer, others_side.result)

    run.api.parallel([blocks, rest] if others else [blocks])
    for side in (blocks_side, others_side):
        result.applied.extend(side.result.applied)
        result.not_done.extend(side.result.not_done)
        if side.result.failed is not None and result.failed is None:
            result.failed, result.error = side.result.failed, side.result.error
    result.applied.sort(key=Change.sort_key)
    refusal = blocks_side.refusal or others_side.refusal
    if refusal is not None:
        # A failed read or a guard finding: raised when nothing was written, else reported with
        # what the early writers did.
        if not result.applied and result.failed is None:
            raise refusal
        result.refused = refusal.message
        return None
    if result.failed is not None:
        planned = [*(blocks_side.plan.changes if blocks_side.plan else []), *(others_side.plan.changes if others_side.plan else [])]
        settled = {c.key for c in result.applied} | {c.key for c in result.not_done} | {result.failed.key}
        result.not_done.extend(c for c in planned if c.key not in settled)
        return None
    return blocks_side.plan


def _collect(writer: EarlyWriter, into: ApplyResult) -> None:
    into.applied.extend(writer.applied)
    if writer.failed is not None:
        into.failed, into.error = writer.failed, writer.error
        log.error("apply.failed", target=into.target, key=writer.failed.key, error=writer.error)


def _confirm_and_run(run: TargetRun, stage: Plan, title: str, options: ApplyOptions, result: ApplyResult) -> bool:
    """Show ``stage`` for confirmation (unless approved up front), then run it. True: go on."""
    if options.confirm is not None and not options.confirm(stage, title):
        result.declined = True
        result.not_done = list(stage.changes)
        return False
    return execute(run, stage.changes, options, result)


def apply_target(engine: Engine, name: str, options: ApplyOptions) -> ApplyResult:
    """Apply one target; with a revision, refuse a stale one first and record it when verified."""
    if options.revision is None:
        return _apply_target(engine, name, options, None)
    run = engine.start(name)
    try:
        arn, last = revisions.recorded(run.api)
    except (ClientError, BotoCoreError) as error:
        raise aws_failure(name, "reading the applied revision", error) from None
    revisions.check(name, engine.policy.config_dir, options.revision, last, options.guard.force)
    result = _apply_target(engine, name, options, run)
    if result.ok:
        try:
            revisions.record(run.api, arn, options.revision)
        except (ClientError, BotoCoreError) as error:
            result.error = f"recording the applied revision failed: {error}"
            result.refused = result.error
    return result


def _apply_target(engine: Engine, name: str, options: ApplyOptions, started: TargetRun | None) -> ApplyResult:
    """The phases of one target's apply, in order; each returns False when the apply stops there
    (``result`` says why). The engine provides the per-target steps (read, plan, verify)."""
    run = _start(engine, name, options, started)
    result = ApplyResult(target=name)
    # 1. Block phase, and 2. early protective writes while the other areas are read.
    if not _block_phase(engine, run, options, result):
        return result
    # 3. The guarded rest, in dependency order.
    if not _guarded_rest(engine, run, options, result):
        return result
    # 4. Verification: what changed plans to nothing, and the policy's effects are in force.
    _verify(engine, run, result)
    return result


def _start(engine: Engine, name: str, options: ApplyOptions, started: TargetRun | None) -> TargetRun:
    """Connect (or reuse the started run) with the areas the saved plan covers, if any."""
    expected = options.expected
    classes = None
    if expected is not None:
        from reconciler.areas.base import registry

        every = registry()
        missing = [a for a in expected.areas if a not in every]
        if missing:
            raise UserError(f"the saved plan uses unknown areas: {', '.join(missing)}")
        classes = sorted((every[a] for a in expected.areas), key=lambda c: (not c.block_phase, c.read_order, c.name))
    run = engine.start(name, classes) if started is None or classes is not None else started
    if expected is not None:
        # Areas the policy no longer manages vanish from the run: that is a policy change.
        absent = [a for a in expected.areas if a not in run.areas]
        if absent:
            raise StalePlan(
                f"target {name}: the saved plan covers {', '.join(absent)}, which the policy no longer manages",
                hint="plan again",
            )
    return run


def _block_phase(engine: Engine, run: TargetRun, options: ApplyOptions, result: ApplyResult) -> bool:
    expected = options.expected
    first = engine.block_areas(run)
    if options.confirm is None and expected is None and first:
        # Nothing to confirm: stream (see _stream). Stage 2 below finds the blocks done.
        return _stream(engine, run, options, result) is not None
    # Stage 1: blocks. Only the block-phase area is read; its blocks are shown, confirmed and
    # written before any other area is read.
    with whole_quota_for_blocks(run, first):
        early = engine.plan(run, first)
        if expected is not None:
            check_fresh(expected, early, first)
        blocks = [c for c in early.changes if c.phase == PHASE_BLOCKS]
        if blocks:
            stage = Plan(target=run.name, changes=blocks, account_id=early.account_id, region=early.region,
                         areas=first, scope_sizes=early.scope_sizes)
            enforce(early, blocks, options.guard)
            return _confirm_and_run(run, stage, "blocks (applied before other areas are read)", options, result)
    return True


def _guarded_rest(engine: Engine, run: TargetRun, options: ApplyOptions, result: ApplyResult) -> bool:
    """Everything else, in dependency order. A refusal here is reported with the changes already
    written (rather than raised), so the user sees exactly what was done."""
    expected = options.expected
    done = {c.key for c in result.applied}
    full = engine.plan(run)
    rest = [c for c in full.changes if c.key not in done]
    result.plan = full
    try:
        if expected is not None:
            check_fresh(expected, full, engine.other_areas(run))
        if rest:
            enforce(full, rest, options.guard, written=result.applied)
    except UserError as refusal:
        if not result.applied:
            raise
        result.refused = refusal.message
        result.not_done = list(rest)
        return False
    if rest:
        stage = Plan(target=run.name, changes=rest, account_id=full.account_id, region=full.region, areas=full.areas,
                     strategies=full.strategies, warnings=full.warnings, unmanaged=full.unmanaged,
                     scope_sizes=full.scope_sizes)
        return _confirm_and_run(run, stage, "changes", options, result)
    return True


def _verify(engine: Engine, run: TargetRun, result: ApplyResult) -> None:
    """What changed must now plan to nothing, and the declared blocks and end users' opt-outs must
    hold in the effect model of the state read after the writes."""
    applied: dict[str, list[Change]] = {}
    for change in result.applied:
        applied.setdefault(change.area, []).append(change)
    touched = sorted(applied, key=list(run.areas).index)
    fresh: dict[str, object] = {}
    if touched:
        again = engine.verify(run, {area: run.areas[area].verification_scope(run.desired, applied[area]) for area in touched},
                              fresh)
        result.residue = again.sorted_changes()
        if result.residue:
            log.error("apply.residue", target=run.name, changes=[c.key for c in result.residue])
    _verify_effects(engine, run, fresh, result)


# How each kind of effect failure is logged: the key its problems go under.
_EFFECT_LOG_KEYS = {"not_in_force": "paths", "opt_outs_reachable": "identities"}


def _verify_effects(engine: Engine, run: TargetRun, fresh: dict[str, object], result: ApplyResult) -> None:
    """Every area's promised effects must hold on the state read after the writes
    (``Area.verify_effects``), also an area this run does not manage: the writes of others may
    break what it promises (an identity moved to another opt-out list)."""
    for name, cls in registry().items():
        area = run.areas.get(name) or engine.new_area(cls)
        problems = area.verify_effects(run.api, run.desired, run.lives, fresh)
        if not problems:
            continue
        if area.effects_failure == "opt_outs_reachable":
            result.opt_outs_reachable += problems
        else:
            result.not_in_force += problems
        log.error(f"apply.{area.effects_failure}", target=run.name, **{_EFFECT_LOG_KEYS[area.effects_failure]: problems})


def _listed(prefix: str, changes: Sequence[Change], limit: int = 20) -> list[str]:
    # Keys masked as in the plan and the progress bar: a number reads the same everywhere.
    lines = [f"  {prefix}: {mask_text(c.key)}" for c in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"  {prefix}: … and {len(changes) - limit} more")
    return lines


def describe(result: ApplyResult) -> list[str]:
    """Human lines: what was done, what failed, what was not done, residue."""
    lines = [f"target {result.target}: {len(result.applied)} change(s) applied"]
    lines += _listed("done", result.applied)
    if result.failed is not None:
        lines.append(f"  FAILED: {mask_text(result.failed.key)}: {result.error}")
    if result.declined:
        lines.append("  declined: nothing more was changed")
    if result.refused:
        lines.append("  refused, nothing more was changed:")
        lines += [f"    {line.strip()}" for line in result.refused.splitlines()[1:] or [result.refused]]
    lines += _listed("not done", result.not_done)
    if result.residue:
        lines.append(f"  verification failed: {len(result.residue)} change(s) still planned after apply:")
        lines += _listed("residue", [c for c in result.residue])
    if result.not_in_force:
        lines.append("  verification failed: declared blocks are not in force (effect model of a fresh read):")
        lines += [f"    not in force: {gap}" for gap in result.not_in_force[:20]]
        if len(result.not_in_force) > 20:
            lines.append(f"    not in force: … and {len(result.not_in_force) - 20} more")
    if result.opt_outs_reachable:
        lines.append("  verification failed: recipients who replied STOP are reachable again (fresh read):")
        lines += [f"    {line}" for line in result.opt_outs_reachable[:20]]
        if len(result.opt_outs_reachable) > 20:
            lines.append(f"    … and {len(result.opt_outs_reachable) - 20} more")
    return lines


__all__ = ["ApplyOptions", "ApplyResult", "StalePlan", "apply_target", "describe", "execute"]
