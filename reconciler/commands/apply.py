"""``reconciler apply [PLANFILE]``: make live state match the policy, then verify.

Without PLANFILE the plan is computed now and shown before anything is written (blocks first:
they are confirmed and written before other areas are read). With ``--auto-approve`` the apply
streams: each block and each opted-out number addition is written as soon as it is known, while
the other areas are still read (reconciler/early_writes.py). With PLANFILE (from ``plan --out``) the saved
plan is re-checked against live state and the policy and refused when stale.

Asks for confirmation on a terminal; without a terminal it refuses unless ``--auto-approve``.
Exit codes: 0 applied and verified, 1 error, refusal, failure or verification residue.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from typing import Any

from reconciler.apply import ApplyOptions, ApplyResult, apply_target, describe
from reconciler.cli import UserError
from reconciler.guard import GuardOptions
from reconciler.logs import say
from reconciler.options import Context, add_common, out_stream_is_tty
from reconciler.plan import Change, Plan
from reconciler.progress import clear_live_line
from reconciler.report import json_report, text
from reconciler.report.escape import log_text
from reconciler.revision import resolve as resolve_revision

DESCRIPTION = """\
Make the live state match the policy, then read again to verify that nothing is left to do.

Without PLANFILE the plan is made now and shown for confirmation; blocks come first and are
written before the other areas are read. With --auto-approve nothing is asked: blocks and
opted-out number additions are written as soon as they are known, the rest once the whole plan
has passed the safety checks. With PLANFILE (saved by 'plan --out') exactly that plan is applied,
and refused if the live state or the policy changed since.

On a terminal apply asks for 'yes'; without one it needs --auto-approve. Ctrl-C stops it
promptly: calls already sent finish, no new ones start, and what was applied is listed.

exit codes: 0 applied and verified, 1 error, refusal, failure or changes left after the apply,
130 interrupted.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("apply", help="apply the policy (or a saved plan) and verify",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("planfile", nargs="?", metavar="PLANFILE", help="a plan saved with 'plan --out'")
    add_common(parser)
    parser.add_argument("--auto-approve", action="store_true", help="do not ask (required without a terminal)")
    parser.add_argument("--force", action="store_true",
                        help="allow changes that always need it: removing the account default protect configuration, "
                             "turning deletion protection off, deleting a share")
    parser.add_argument("--revision", metavar="SHA", default=None,
                        help="the policy's git commit being applied (default: HEAD of the config directory's "
                             "repository); an apply of a revision older than the one the account records is refused "
                             "unless --force")
    parser.add_argument("--allow-pool-juggling", action="store_true",
                        help="update pooled numbers by taking them out of their pool and back (never the last one)")
    defaults = GuardOptions()
    parser.add_argument("--max-deletions", type=int, default=defaults.max_deletions, metavar="N",
                        help=f"most resource deletions per scope (default {defaults.max_deletions})")
    parser.add_argument("--max-deletion-percent", type=float, default=defaults.max_deletion_percent, metavar="P",
                        help=f"most deletions as a percentage of a scope (default {defaults.max_deletion_percent:g})")
    parser.add_argument("--max-removals", type=int, default=defaults.max_removals, metavar="N",
                        help=f"most membership removals per scope (default {defaults.max_removals})")
    parser.add_argument("--max-removal-percent", type=float, default=defaults.max_removal_percent, metavar="P",
                        help=f"most removals as a percentage of a scope (default {defaults.max_removal_percent:g})")
    parser.add_argument("--max-additions", type=int, default=defaults.max_additions, metavar="N",
                        help=f"most opted-out number additions per list (default {defaults.max_additions})")
    parser.add_argument("--drop-end-user-opt-outs", type=int, default=None, metavar="N",
                        help="allow deleting opt-out lists that drop exactly N end-user opt-outs (recipients who "
                             "replied STOP) no identity carries to another list")
    parser.add_argument("--lock-url", default=None, metavar="URL",
                        help="hold the target's lock while applying: s3://BUCKET/PREFIX or a directory "
                             "(default: $RECONCILER_LOCK_URL; no lock when neither is set)")
    parser.add_argument("--lock-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="wait this long for another run's lock (default 300)")
    parser.set_defaults(func=run)


def ask(plan: Plan, title: str, verbose: bool = False) -> bool:
    clear_live_line()
    sys.stdout.write(text.render([plan], colour=out_stream_is_tty(), verbose=verbose))
    sys.stdout.write(f"\nApply these {title} to target {plan.target}? Only 'yes' is accepted: ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    return answer == "yes"


@contextlib.contextmanager
def locked(args: argparse.Namespace, context: Context, name: str) -> Iterator[Any]:
    url = args.lock_url or os.environ.get("RECONCILER_LOCK_URL")
    if not url:
        yield None
        return
    from reconciler.locking import open_backend, target_lock

    backend = open_backend(url)
    with target_lock(context.policy.targets[name], backend, operation="apply", timeout=args.lock_timeout) as lease:
        yield lease


def run(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    if not interactive and not args.auto_approve:
        raise UserError("apply needs a terminal to confirm the changes; nothing was read or changed",
                        hint="review a saved plan and run `reconciler apply PLANFILE --auto-approve` in automation")
    saved: dict[str, Plan] = {}
    if args.planfile:
        if args.only or args.exclude:
            raise UserError("--only/--exclude cannot be combined with a saved plan: it covers the areas it was made for")
        plans = json_report.load(args.planfile)
        saved = {plan.target: plan for plan in plans}
    context = Context(args, only=[], exclude=[], command="apply") if saved else Context(args, command="apply")
    names = context.engine.target_names(args.target or sorted(saved))
    unknown = [n for n in names if saved and n not in saved]
    if unknown:
        raise UserError(f"the saved plan has no target {', '.join(unknown)}", hint=f"it covers: {', '.join(sorted(saved))}")
    guard = GuardOptions(
        force=args.force,
        allow_pool_juggling=args.allow_pool_juggling,
        max_deletions=args.max_deletions,
        max_deletion_percent=args.max_deletion_percent,
        max_removals=args.max_removals,
        max_removal_percent=args.max_removal_percent,
        max_additions=args.max_additions,
        drop_end_user_opt_outs=args.drop_end_user_opt_outs,
    )
    confirm = None if args.auto_approve else functools.partial(ask, verbose=args.verbose > 0)
    revision = resolve_revision(context.policy.config_dir, args.revision)
    if saved and confirm is not None:
        sys.stdout.write(text.render([saved[n] for n in names], colour=out_stream_is_tty(), verbose=args.verbose > 0))
        sys.stdout.write("\nApply this saved plan? Only 'yes' is accepted: ")
        sys.stdout.flush()
        if sys.stdin.readline().strip() != "yes":
            print("Apply cancelled; nothing was changed.")
            return 1
        confirm = None
    results: list[ApplyResult] = []
    acknowledged: dict[str, list[Change]] = {}
    try:
        for name in names:
            with locked(args, context, name) as lease:
                options = ApplyOptions(
                    guard=guard,
                    confirm=confirm,
                    expected=saved.get(name),
                    before_write=lease.ensure_held if lease is not None else None,
                    revision=revision,
                )
                acknowledged[name] = options.acknowledged
                result = apply_target(context.engine, name, options)
            results.append(result)
            if not result.ok:
                break
    except KeyboardInterrupt:
        clear_live_line()
        print(interrupted_summary(acknowledged, names))
        raise
    finally:
        if context.persist():
            say(f"Saved the sandbox state to {context.args.sandbox}", "info", "sandbox.saved")
    clear_live_line()
    return report(results, names)


def interrupted_summary(acknowledged: dict[str, list[Change]], names: list[str]) -> str:
    """What an interrupted apply changed: per target, the changes AWS acknowledged, by area."""
    lines = []
    total = sum(len(changes) for changes in acknowledged.values())
    lines.append(f"Apply INTERRUPTED: {total} change{'s' if total != 1 else ''} applied before stopping; "
                 "no change was started after Ctrl-C. Run apply again to finish.")
    for name in names:
        if name not in acknowledged:
            lines.append(f"target {name}: not started")
            continue
        counts: dict[str, int] = {}
        for change in list(acknowledged[name]):
            counts[change.area] = counts.get(change.area, 0) + 1
        detail = ", ".join(f"{area} {count}" for area, count in sorted(counts.items())) or "nothing"
        lines.append(f"target {name}: applied {detail}")
    return "\n".join(lines)


def report(results: list[ApplyResult], names: list[str]) -> int:
    applied = sum(len(r.applied) for r in results)
    failed = [r for r in results if not r.ok]
    skipped = names[len(results):]
    if not failed:
        print(f"Apply complete: {applied} change(s) applied to {len(results)} target(s); verified: the plan is now empty.")
    elif any(r.residue or r.not_in_force for r in failed):
        print(f"Apply FAILED verification: {applied} change(s) applied, but the plan is not empty afterwards; see below.")
    elif any(r.opt_outs_reachable for r in failed):
        print(f"Apply FAILED verification: {applied} change(s) applied, but end-user opt-outs did not follow their "
              "identities; see below.")
    elif any(r.refused for r in failed):
        print(f"Apply REFUSED after the block phase: {applied} change(s) applied; see below.")
    elif any(r.declined for r in failed):
        print(f"Apply cancelled: {applied} change(s) applied before cancelling.")
    else:
        print(f"Apply FAILED: {applied} change(s) applied before stopping; see below.")
    for result in results:
        for line in describe(result):
            print(log_text(line))  # keys and AWS error messages: escaped for the terminal or CI log
    for name in skipped:
        print(f"target {name}: not started (an earlier target failed)")
    return 1 if failed else 0
