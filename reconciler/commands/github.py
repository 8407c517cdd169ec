"""``reconciler github …``: render reports and post them to pull requests and drift issues.

    reconciler github render --plan pr.json [--base-drift base.json] [--fork] [--out comment.md]
    reconciler github render --plan fork-plan.json --untrusted-fork --out comment.md
    reconciler github comment --pr 12 --body-file comment.md [--key all] [--expect-head-sha SHA]
    reconciler github drift-issue --target prod --report-file drift.md
    reconciler github drift-issue --target prod --clean
    reconciler github guardrails --pr 12 --head-sha SHA --plan pr.json --guardrails .base/config/guardrails.yaml --out verdicts.json
    reconciler github check-merge --commit SHA --branch main --plan plan.json --guardrails guardrails.yaml

Environment: GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name), GITHUB_API_URL (default
https://api.github.com); RECONCILER_TEAMS_TOKEN (optional) reads team memberships, which the
workflow's GITHUB_TOKEN cannot. Any failure to post exits 1, so the workflow step fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from reconciler.cli import UserError
from reconciler.commands.check import evaluate_or_fail, load_or_fail
from reconciler.files import MiB, check_writable, read_limited
from reconciler.github.client import GitHubClient, GitHubError
from reconciler.github.comments import check_head, marker, upsert_comment
from reconciler.github.issues import DRIFT_LABEL, close_issue, upsert_issue
from reconciler.github.plans import load_plans
from reconciler.guardrails.approvals import SUMMARY_CONTEXT, approvals, merge_refusals, publish, publish_error
from reconciler.guardrails.evaluate import EMERGENCY_EXEMPTION
from reconciler.guardrails.render import markdown as verdicts_markdown
from reconciler.guardrails.render import text as verdicts_text
from reconciler.guardrails.render import to_json as verdicts_json
from reconciler.report.escape import markdown_pre
from reconciler.report.markdown import LIMIT, render


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "github", help="post plan comments and drift issues on GitHub",
        description="Render plans as Markdown and post them to pull requests and drift issues. Needs GITHUB_TOKEN "
                    "and GITHUB_REPOSITORY (owner/name); GITHUB_API_URL defaults to https://api.github.com.")
    sub = parser.add_subparsers(dest="github_command", metavar="SUBCOMMAND", required=True)

    r = sub.add_parser("render", help="render JSON plans as a Markdown report (comment, issue, job summary)")
    r.add_argument("--plan", action="append", required=True, metavar="FILE", help="plan JSON (repeatable: one per target)")
    r.add_argument(
        "--base-drift",
        action="append",
        default=None,
        metavar="FILE",
        help="plan JSON of the base branch's policy against the same live state: its changes are shown as drift",
    )
    r.add_argument("--mode", choices=("plan", "drift"), default="plan",
                   help="plan: a pull request's plan (default); drift: a drift report for an issue")
    r.add_argument("--title", default=None, metavar="TEXT", help="the report's heading (default: SMS policy plan, or SMS policy drift)")
    r.add_argument("--artifact-url", default=None, metavar="URL", help="link to the run's artifacts")
    r.add_argument("--fork", action="store_true", help="say the plan ran against the sandbox snapshot (fork pull request)")
    r.add_argument("--untrusted-fork", action="store_true",
                   help="the plan JSON comes from an untrusted fork's run: validate it strictly (schema, size limits) "
                        "and say so in a banner; the trusted workflow posts this, never the fork's own Markdown")
    r.add_argument("--log", default=None, metavar="FILE", help="append this command output (e.g. the apply log), escaped and collapsed")
    r.add_argument("--full", action="store_true", help="every change, however long (for the artifact; not for a comment)")
    r.add_argument("--verdicts", default=None, metavar="FILE",
                   help="guardrail verdicts (JSON of 'check --format json' or 'github guardrails --out'), shown first")
    r.add_argument("--out", default="-", metavar="FILE", help="output file (default: stdout)")
    r.set_defaults(func=_render)

    c = sub.add_parser("comment", help="create or update the sticky plan comment on a pull request")
    c.add_argument("--pr", type=int, required=True, metavar="NUMBER", help="pull request number")
    c.add_argument("--body-file", required=True, metavar="FILE", help="the comment's Markdown, e.g. from 'github render'")
    c.add_argument("--key", "--target", dest="key", default="all", metavar="KEY", help="marker key: one sticky comment per key (default: all)")
    c.add_argument("--expect-head-sha", default=None, metavar="SHA", help="post only if the pull request's head is this commit")
    c.set_defaults(func=_comment)

    d = sub.add_parser("drift-issue", help="open/update the drift issue of a target, or close it when clean")
    d.add_argument("--target", required=True, metavar="NAME", help="the target whose drift issue this is")
    group = d.add_mutually_exclusive_group(required=True)
    group.add_argument("--report-file", metavar="FILE", help="the drift report (Markdown)")
    group.add_argument("--clean", action="store_true", help="drift is gone: close the open issue with a comment")
    d.add_argument("--label", default=DRIFT_LABEL, metavar="LABEL",
                   help=f"the label that marks drift issues (default: {DRIFT_LABEL})")
    d.add_argument("--run-url", default=None, metavar="URL", help="link to the run, quoted in the closing comment")
    d.set_defaults(func=_drift_issue)

    g = sub.add_parser("guardrails", help="evaluate the guardrails on a pull request: approvals and commit statuses",
                       description="Evaluate the guardrails over the pull request's plans, find which needs-approval "
                                   "rules an approving review on the head commit satisfies, and publish one commit status "
                                   f"per fired rule plus the summary status {SUMMARY_CONTEXT} (the one to require). "
                                   "Exit 0 once published, whatever the verdicts: the statuses carry them.")
    g.add_argument("--pr", type=int, required=True, metavar="NUMBER", help="pull request number")
    g.add_argument("--head-sha", required=True, metavar="SHA", help="the commit the plans were made for")
    g.add_argument("--plan", action="append", required=True, metavar="FILE", help="plan JSON (repeatable: one per target)")
    g.add_argument("--guardrails", required=True, metavar="FILE", help="the guardrails of the base branch")
    g.add_argument("--target-url", default=None, metavar="URL", help="link of the statuses (the run)")
    g.add_argument("--out", default=None, metavar="FILE", help="write the verdicts as JSON (for 'github render --verdicts')")
    g.set_defaults(func=_guardrails)

    m = sub.add_parser("check-merge", help="refuse to apply a merge commit whose pull request lacked a required approval",
                       description="Evaluate the guardrails over the plan of a merge commit and check the approvals of "
                                   "the pull request(s) merged as that commit, on their head at merge. Exit 1, naming "
                                   "the rule, the approver and the pull request, when one is missing or a rule denies.")
    m.add_argument("--commit", required=True, metavar="SHA", help="the merge commit to be applied")
    m.add_argument("--branch", default="main", metavar="BRANCH", help="the branch it was merged into (default: main)")
    m.add_argument("--plan", action="append", required=True, metavar="FILE", help="plan JSON of that commit (repeatable)")
    m.add_argument("--guardrails", required=True, metavar="FILE", help="the guardrails of the branch before the merge")
    m.set_defaults(func=_check_merge)


MAX_BODY_FILE_BYTES = 16 * MiB  # a log or report to post; GitHub takes 65,536 characters of it at most


def _read_body(path: str) -> str:
    data = read_limited(path, MAX_BODY_FILE_BYTES, "file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: cannot read: not UTF-8 ({error.reason} at byte {error.start})") from None


def _client() -> GitHubClient:
    try:
        return GitHubClient.from_env()
    except GitHubError as error:
        raise UserError(error.message, error.hint) from None


def _render(args: argparse.Namespace) -> int:
    untrusted = args.untrusted_fork
    if untrusted and args.log:
        raise UserError("--log cannot be combined with --untrusted-fork: a fork's log is its own claim",
                        hint="link the fork run's log with --artifact-url instead")
    if untrusted and args.verdicts:
        raise UserError("--verdicts cannot be combined with --untrusted-fork: a fork's verdicts are its own claim")
    if args.out != "-":
        check_writable(args.out, "rendered report")
    verdicts = _read_verdicts(args.verdicts) if args.verdicts else None
    plans = [p for path in args.plan for p in load_plans(path, untrusted=untrusted)]
    base = None if args.base_drift is None else [p for path in args.base_drift for p in load_plans(path, untrusted=untrusted)]
    title = args.title or ("SMS policy drift" if args.mode == "drift" else "SMS policy plan")
    text = render(plans, title=title, mode=args.mode, base_drift=base, artifact_url=args.artifact_url,
                  fork_mode=args.fork or untrusted, full=args.full, untrusted_fork=untrusted,
                  guardrails=verdicts_markdown(verdicts) if verdicts is not None else None)
    if args.log:
        text += _log_block(_read_body(args.log), sys.maxsize if args.full else LIMIT - len(text))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as error:
            raise UserError(f"{args.out}: cannot write the rendered report: {error.strerror}") from None
    return 0


def _log_block(log: str, room: int) -> str:
    """A collapsed, escaped copy of a command's output; its tail when it does not fit."""
    head = "\n<details><summary>Log</summary>\n\n<pre>\n"
    tail = "</pre>\n</details>\n"
    body = markdown_pre(log)
    budget = room - len(head) - len(tail) - 40
    if budget <= 0:
        return ""
    if len(body) > budget:
        body = "… (start cut; the full log is in the artifact)\n" + body[len(body) - budget :]
    return head + body + ("" if body.endswith("\n") else "\n") + tail


def _comment(args: argparse.Namespace) -> int:
    body = _read_body(args.body_file)
    client = _client()
    try:
        if args.expect_head_sha:
            check_head(client, args.pr, args.expect_head_sha)
        posted = upsert_comment(client, args.pr, body, marker("plan", args.key))
    except GitHubError as error:
        raise UserError(error.message, error.hint) from None
    print(f"comment {posted.action}: {posted.url or posted.id}")
    return 0


def _drift_issue(args: argparse.Namespace) -> int:
    client = _client()
    try:
        mark = marker("drift", args.target)
        if args.clean:
            note = "Drift is gone: live state matches the policy on the default branch again."
            if args.run_url:
                note += f" (checked by {args.run_url})"
            result = close_issue(client, note, mark, args.label)
        else:
            body = _read_body(args.report_file)
            result = upsert_issue(client, f"Drift detected on target {args.target}", body, mark, args.label)
    except GitHubError as error:
        raise UserError(error.message, error.hint) from None
    if result.action == "none":
        print(f"no open drift issue for target {args.target}")
    else:
        print(f"issue {result.action}: #{result.number} {result.url}".rstrip())
    return 0


def _read_verdicts(path: str) -> dict[str, Any]:
    try:
        document = json.loads(_read_body(path))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{error.lineno}:{error.colno}: not guardrail verdicts: {error.msg}") from None
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list) or not all(isinstance(f, dict) and {"rule", "verdict"} <= set(f) for f in findings):
        raise UserError(f"{path}: not guardrail verdicts (expected the JSON of `reconciler check --format json`)")
    return dict(document)


def _teams_client(client: GitHubClient) -> GitHubClient:
    """Team memberships need an organization read permission the workflow token lacks."""
    token = os.environ.get("RECONCILER_TEAMS_TOKEN", "").strip()
    return dataclasses.replace(client, token=token) if token else client


def _guardrails(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[0-9a-f]{40}", args.head_sha):
        raise UserError(f"--head-sha {args.head_sha!r} is not a full commit SHA")
    if args.out:
        check_writable(args.out, "verdicts")
    client = _client()
    try:
        try:
            guardrails = load_or_fail(args.guardrails)
            evaluation = evaluate_or_fail(guardrails, [p for path in args.plan for p in load_plans(path)])
        except UserError:
            # Never a pass: the required summary status says the rules could not look.
            publish_error(client, args.head_sha, "guardrails could not be evaluated: see the run", args.target_url)
            raise
        approved = approvals(client, _teams_client(client), evaluation, args.pr, args.head_sha)
        posted = publish(client, args.head_sha, evaluation, approved, args.target_url)
    except GitHubError as error:
        raise UserError(error.message, error.hint) from None
    sys.stdout.write(verdicts_text(evaluation, approved))
    for status in posted:
        print(f"status {status['context']}: {status['state']} — {status['description']}")
    if args.out:
        Path(args.out).write_text(json.dumps(verdicts_json(evaluation, approved), indent=2, sort_keys=True) + "\n",
                                  encoding="utf-8")
    return 0


def _check_merge(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[0-9a-f]{40}", args.commit):
        raise UserError(f"--commit {args.commit!r} is not a full commit SHA")
    guardrails = load_or_fail(args.guardrails)
    evaluation = evaluate_or_fail(guardrails, [p for path in args.plan for p in load_plans(path)])
    client = _client()
    try:
        problems = merge_refusals(client, _teams_client(client), evaluation, args.commit, args.branch)
    except GitHubError as error:
        raise UserError(error.message, error.hint) from None
    if problems:
        raise UserError(f"not applying commit {args.commit[:12]}: " + "; ".join(problems),
                        hint="approve the change in a new pull request (an approval must be on its head commit), "
                             "or revert it")
    exempt = any(f.exempt == EMERGENCY_EXEMPTION for f in evaluation.findings)
    print(f"guardrails: commit {args.commit[:12]} may be applied"
          + (f" ({EMERGENCY_EXEMPTION})" if exempt else ""))
    return 0
