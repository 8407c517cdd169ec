"""``reconciler drift``: read-only report of how live state differs from the policy.

Categories: *drifted* (live differs: updates, and deletions/removals of what the policy
owns), *missing* (the policy wants something that is not there) and *unmanaged* (live
resources the policy neither names nor owns). Exit codes: 0 clean, 2 drift, 1 error.

``--accept`` folds the drift found into the policy files (``reconciler.config.edit``);
``compute(args)`` and ``categorise(plan)`` are the building blocks.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reconciler.checkpoint import Checkpoints
from reconciler.commands.plan import compute as compute_plans
from reconciler.drift_feed.incremental import DAY, DEFAULT_MAX_AGE, DEFAULT_OVERLAP, DriftFeed, FeedOptions
from reconciler.options import Context, add_common, out_stream_is_tty
from reconciler.plan import Change, Plan
from reconciler.progress import clear_live_line
from reconciler.report import security
from reconciler.report.escape import json_text, masked, neutralise_commands, terminal
from reconciler.report.json_report import DRIFT_FORMAT, VERSION, plan_to_json
from reconciler.report.markdown import drift_mode_line
from reconciler.report.text import change_lines

MISSING = frozenset({"create", "add", "associate"})


DESCRIPTION = """\
Report how the live state differs from the policy, without changing anything:
  drifted    live differs from the policy (or holds something the policy removes)
  missing    the policy wants something that is not there
  unmanaged  live resources the policy neither names nor owns

exit codes: 0 no drift, 2 drift, 1 error.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("drift", help="report drift between live state and the policy (read-only)",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser)
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text for a terminal (default), markdown for an issue, json for tools")
    parser.add_argument("--accept", action="store_true",
                        help="rewrite the policy files to match live for the drift found (comments and layout kept)")
    parser.add_argument("--checkpoint", metavar="DIR",
                        help="save the place of long list reads in DIR (encrypted with RECONCILER_PLAN_KEY) and resume "
                             "from it: a drift cut off mid-read continues where it stopped. DIR also keeps the baseline "
                             "of incremental drift")
    parser.add_argument("--full", action="store_true",
                        help="read every resource and entry and renew the baseline, even when an incremental drift "
                             "(CloudTrail events since the last full read) could be used")
    parser.add_argument("--baseline-max-age", type=_days, default=DEFAULT_MAX_AGE / DAY, metavar="DAYS",
                        help=f"read in full once the last full read is older than DAYS "
                             f"(default {DEFAULT_MAX_AGE / DAY:g}; at most 89: CloudTrail keeps 90 days)")
    parser.add_argument("--feed-overlap", type=_seconds, default=DEFAULT_OVERLAP, metavar="SECONDS",
                        help=f"start the CloudTrail event window this long before the baseline's cover, for "
                             f"events delivered late (default {DEFAULT_OVERLAP:g})")
    parser.set_defaults(func=run)


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 < value <= 89:
        raise argparse.ArgumentTypeError(f"{text} days: give more than 0 and at most 89 (CloudTrail keeps 90 days)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} seconds: give 0 to 86400")
    return value


def categorise(plan: Plan) -> dict[str, list[Any]]:
    """Drift by category. The reconciler's own records (a list's watermark, the emergency-block
    record) are not drift: nobody asked for them, and the next apply rewrites them."""
    changes = [c for c in plan.sorted_changes() if not c.internal]
    missing = [c for c in changes if c.action in MISSING]
    drifted = [c for c in changes if c.action not in MISSING]
    return {"drifted": drifted, "missing": missing, "unmanaged": list(plan.unmanaged), "pending": list(plan.pending),
            "security": list(plan.security)}


def compute(args: argparse.Namespace) -> list[Plan]:
    context = Context(args, command="drift")
    store = Checkpoints(args.checkpoint) if getattr(args, "checkpoint", None) else None
    context.engine.checkpoint = store
    engine = context.engine
    options = FeedOptions(
        store=store, full=bool(getattr(args, "full", False)),
        max_age=float(getattr(args, "baseline_max_age", DEFAULT_MAX_AGE / DAY)) * DAY,
        overlap=float(getattr(args, "feed_overlap", DEFAULT_OVERLAP)),
    )
    feed = DriftFeed(options, wall=lambda: engine.wall())
    return compute_plans(context, args.target, planner=lambda run: feed.plan(engine, run))


def render_text(plans: list[Plan], colour: bool, verbose: bool = False) -> str:
    totals = {"security": 0, "drifted": 0, "missing": 0, "unmanaged": 0}
    body: list[str] = []
    for plan in sorted(plans, key=lambda p: p.target):
        groups = categorise(plan)
        for key in totals:
            totals[key] += len(groups[key])
        body.append(terminal(f"Target {plan.target} ({plan.account_id}/{plan.region}):"
                             f" {len(groups['drifted'])} drifted, {len(groups['missing'])} missing, {len(groups['unmanaged'])} unmanaged"
                             + (f", {len(groups['security'])} security" if groups["security"] else "")))
        if groups["security"]:  # first: grants nobody reviewed
            body.append(f"  {security.TITLE}:")
            body += [terminal(f"    ! {security.sentence(finding)}") for finding in groups["security"]]
        for title in ("drifted", "missing"):
            changes: list[Change] = groups[title]
            if changes:
                body.append(f"  {title.capitalize()}:")
                for change in changes:
                    body += ["  " + line for line in change_lines(change, colour, verbose)]
        if groups["pending"]:
            body.append("  Pending (not drift: waiting on someone else, not yet in effect):")
            body += [terminal(f"    … {item.get('area')} {item.get('share')}: {item.get('detail')}") for item in groups["pending"]]
        if groups["unmanaged"]:
            body.append("  Unmanaged:")
            for item in groups["unmanaged"]:
                body.append(terminal(f"    ? {item.get('area')} {item.get('type')} {item.get('id')} {item.get('name') or ''}".rstrip()))
        for warning in plan.warnings:
            body.append(terminal(f"  warning: {warning}"))
        if plan.drift_mode:
            body.append(terminal("  " + drift_mode_line(plan.drift_mode)))
    pending = sum(len(plan.pending) for plan in plans)
    if not any(totals.values()) and pending:
        head = (f"No drift, but {pending} pending: the policy is not in effect until others act "
                f"(see Pending).")
    elif any(totals.values()):
        head = f"Drift: {totals['drifted']} drifted, {totals['missing']} missing, {totals['unmanaged']} unmanaged."
        if totals["security"]:
            head = f"SECURITY: {totals['security']} grant(s) the policy does not declare. " + head
    else:
        head = f"No drift: live state matches the policy ({len(plans)} target{'s' if len(plans) != 1 else ''})."
    return neutralise_commands("\n".join([head, "", *body]).rstrip() + "\n")


def render_json(plans: list[Plan]) -> str:
    targets = []
    for plan in sorted(plans, key=lambda p: p.target):
        groups = categorise(plan)
        targets.append({
            "target": plan.target,
            "drifted": [c.to_json() for c in groups["drifted"]],
            "missing": [c.to_json() for c in groups["missing"]],
            "unmanaged": masked(groups["unmanaged"]),
            "pending": masked(groups["pending"]),
            "security": masked(groups["security"]),
            "plan": plan_to_json(plan),
        })
    document = {"format": DRIFT_FORMAT, "version": VERSION, "plans": [t["plan"] for t in targets], "targets": targets}
    return json_text(document) + "\n"


def has_drift(plans: list[Plan]) -> bool:
    return any(any(not c.internal for c in plan.changes) or plan.unmanaged or plan.security for plan in plans)


def run(args: argparse.Namespace) -> int:
    plans = compute(args)
    clear_live_line()
    if args.format == "json":
        sys.stdout.write(render_json(plans))
    elif args.format == "markdown":
        from reconciler.report.markdown import render

        sys.stdout.write(render(plans, mode="drift"))
    else:
        sys.stdout.write(render_text(plans, out_stream_is_tty(), args.verbose > 0))
    if args.accept:
        accept(args.config, plans)
    return 2 if has_drift(plans) else 0


def accept(config_dir: str, plans: list[Plan]) -> None:
    """``--accept``: fold the drift into the policy files (see reconciler.config.edit)."""
    from reconciler.cli import UserError
    from reconciler.config.edit import EditError, accept_drift

    try:
        result = accept_drift(config_dir, plans)
    except EditError as error:
        raise UserError(str(error)) from None
    for path in result.changed_files:
        print(terminal(f"rewrote {path}"))
    for key in result.accepted:
        print(terminal(f"accepted live state: {key}"))
    for reason in result.skipped:
        print(terminal(f"not accepted (edit by hand): {reason}"))
