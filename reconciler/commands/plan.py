"""``reconciler plan``: read live state, diff against the policy, show (and optionally save) the plan.

Exit codes: 0 success (with ``--detailed-exitcode``: no changes), 2 changes (only with
``--detailed-exitcode``), 1 error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from reconciler.cli import UserError
from reconciler.engine import TargetRun
from reconciler.files import check_writable
from reconciler.guard import GuardOptions, check
from reconciler.logs import say
from reconciler.options import Context, add_common, out_stream_is_tty
from reconciler.plan import Plan
from reconciler.progress import clear_live_line
from reconciler.report import json_report, text

DESCRIPTION = """\
Read the live state of each target, compare it with the policy and show what apply would change.
Nothing is changed. Blocks (phase 1) are listed first, then the other changes in the order apply
makes them; resources the policy does not manage and anything apply would refuse come last.

exit codes: 0 success (with --detailed-exitcode: no changes), 2 changes (only with
--detailed-exitcode), 1 error.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("plan", help="show what apply would change", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser)
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text for a terminal (default), markdown for a pull request, json for tools (docs/plan-json.md)")
    parser.add_argument("--out", metavar="PLANFILE", help="also save the plan (JSON, no raw opted-out numbers) for 'apply PLANFILE'")
    parser.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes, 0 when none")
    parser.set_defaults(func=run)


def render(plans: list[Plan], fmt: str, mode: str = "plan", verbose: bool = False) -> str:
    if fmt == "json":
        return json_report.render(plans)
    if fmt == "markdown":
        from reconciler.report.markdown import render as markdown

        return markdown(plans, mode="drift" if mode == "drift" else "plan")
    return text.render(plans, colour=out_stream_is_tty(), verbose=verbose)


def compute(context: Context, names: list[str], planner: Callable[[TargetRun], Plan] | None = None) -> list[Plan]:
    """One plan per target; ``planner`` reads and diffs a started run (default: read everything)."""
    plans = []
    for name in context.engine.target_names(names):
        run = context.engine.start(name)
        plan = planner(run) if planner is not None else context.engine.plan(run)
        _refuse_blocks_out_of_force(run, plan)
        # What apply would refuse with default options, shown to reviewers up front.
        plan.guard_findings = [f.message for f in check(plan, plan.changes, GuardOptions())]
        plans.append(plan)
    return plans


def _refuse_blocks_out_of_force(run: TargetRun, plan: Plan) -> None:
    """An empty plan is not a policy in force: when an area's effect model shows a declared block
    not in force (``Area.verify_effects``) and no change of that area would put it in force, say so
    (exit 1) rather than "no changes"."""
    for name, area in run.areas.items():
        if area.effects_failure != "not_in_force" or run.lives.get(name) is None:
            continue
        if any(c.area == name for c in plan.changes):
            continue
        gaps = area.verify_effects(run.api, run.desired, run.lives, {})
        if gaps:
            shown = "\n".join(f"  - {gap}" for gap in gaps[:20]) + (f"\n  - … and {len(gaps) - 20} more" if len(gaps) > 20 else "")
            raise UserError(
                f"target {run.name}: declared blocks are not in force, yet the plan has no {name} change:\n{shown}",
                hint="this is a reconciler bug or a live state it cannot model; block the paths by hand and report it",
            )


def apply_command(args: argparse.Namespace) -> str:
    """The apply that reproduces this plan's setting, ready to copy: the same policy directory,
    sandbox and targets (a saved plan fixes its areas, so --only/--exclude are not repeated)."""
    import shlex

    from reconciler.options import BUILTIN

    words = ["reconciler", "apply", args.out]
    if args.config != "config":
        words += ["--config", args.config]
    if args.sandbox == BUILTIN:
        words.append("--sandbox")
    elif args.sandbox:
        words += ["--sandbox", args.sandbox]
    for target in args.target:
        words += ["--target", target]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    if args.out:
        check_writable(args.out, "plan file")  # before reading anything: a typo costs nothing
    context = Context(args, command="plan")
    plans = compute(context, args.target)
    clear_live_line()
    sys.stdout.write(render(plans, args.format, verbose=args.verbose > 0))
    if args.out:
        json_report.save(plans, args.out)
        say(f"Saved the plan to {args.out}; apply it with: {apply_command(args)}", "info", "plan.saved")
    changed = any(plan.changes for plan in plans)
    return 2 if args.detailed_exitcode and changed else 0
