"""``reconciler init DIR``: scaffold a policy repository of its own.

Writes ``config/`` (imported from a live account with ``--from-account``, otherwise a commented
starter policy), workflows that call this project's reusable workflows pinned to one commit,
CODEOWNERS and a branch ruleset, a pre-commit configuration, a README and the pinned reconciler.

Never overwrites: a file that exists is kept as it is (and listed), so running ``init`` again
changes nothing, and completes a partly scaffolded repository. ``config/`` is written only when
it holds no policy yet.

The pin: ``--workflow-repository OWNER/NAME`` and ``--workflow-ref SHA`` (a full commit SHA; tags
and branches move). Without them, the values pip recorded when this reconciler was installed
from git (``pip install git+https://github.com/OWNER/NAME@SHA``) are used; otherwise init stops
and asks for them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from reconciler.cli import UserError
from reconciler.options import BUILTIN
from reconciler.scaffold import Pin, Target, check_pin, installed_pin, render


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "init",
        help="scaffold a policy repository: config/, pinned workflows, CODEOWNERS, pre-commit (never overwrites)",
        description=(
            "Scaffold a policy repository in DIR: config/ (imported from a live account with "
            "--from-account, otherwise a commented starter policy for --account), workflows calling "
            "the reconciler's reusable workflows pinned to a commit, CODEOWNERS, a branch ruleset, "
            "a pre-commit configuration and a README. Existing files are never overwritten."
        ),
    )
    parser.add_argument("dir", metavar="DIR", help="the repository directory (created if missing)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--from-account", metavar="ACCOUNT_ID", help="import config/ from this live account")
    source.add_argument("--account", metavar="ACCOUNT_ID", help="the starter policy's target account")
    parser.add_argument("--region", help="the target's region (default: AWS_REGION or AWS_DEFAULT_REGION)")
    parser.add_argument("--name", default="prod", help="the target's name, also its GitHub environment (default: prod)")
    parser.add_argument(
        "--sandbox",
        nargs="?",
        const=BUILTIN,
        default=None,
        metavar="SNAPSHOT",
        help="with --from-account: import from a sandbox seeded from SNAPSHOT instead of AWS",
    )
    parser.add_argument("--workflow-repository", metavar="OWNER/NAME",
                        help="the reconciler's GitHub repository whose reusable workflows are called")
    parser.add_argument("--workflow-ref", metavar="SHA", help="the commit of it the workflows are pinned to")
    parser.add_argument("--log-format", choices=("console", "json"), default="console", help="log format on stderr")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="debug logs: every AWS call")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reconciler.options import setup_logging

    setup_logging(args)
    pin = _pin(args)
    target = _target(args)
    out = Path(args.dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a directory")
    config = out / "config"
    has_policy = config.is_dir() and any(config.glob("*.yaml"))
    files = render(pin, target, starter=not args.from_account and not has_policy)
    if args.from_account and not has_policy:
        files.update({f"config/{path}": text for path, text in _imported(args, target).items()})
        starter = render(pin, target, starter=True)
        files.setdefault("config/emergency.yaml", starter["config/emergency.yaml"])
        files.setdefault("config/guardrails.yaml", starter["config/guardrails.yaml"])
    written, kept = _write_new(out, files)
    for path in kept:
        print(f"kept     {path} (exists)")
    for path in written:
        print(f"wrote    {path}")
    if has_policy:
        print("kept     config/ (it already holds a policy)")
    print(f"{out}: {len(written)} file(s) written, {len(kept)} kept; workflows pinned to {pin.repository}@{pin.ref}")
    if written:
        print(f"next: cd {out} && reconciler validate && reconciler plan --sandbox   (then docs/github.md §2-3)")
    return 0


def _pin(args: argparse.Namespace) -> Pin:
    recorded_repository, recorded_ref = installed_pin()
    repository = args.workflow_repository or recorded_repository
    ref = args.workflow_ref or recorded_ref
    if not repository or not ref:
        missing = " and ".join(
            option for option, value in (("--workflow-repository", repository), ("--workflow-ref", ref)) if not value
        )
        raise UserError(
            f"give {missing}: this reconciler was not installed from a git commit, so init cannot tell "
            "which commit of which repository the workflows should call",
            hint="e.g. --workflow-repository acme/sms-policy-reconciler --workflow-ref $(git -C PATH rev-parse HEAD)",
        )
    problems = check_pin(repository, ref)
    if problems:
        raise UserError("; ".join(problems), hint="e.g. --workflow-ref 0123456789abcdef0123456789abcdef01234567")
    return Pin(repository, ref)


def _target(args: argparse.Namespace) -> Target:
    account = args.from_account or args.account
    if not account:
        raise UserError("give --account ACCOUNT_ID (a starter policy) or --from-account ACCOUNT_ID (import what is live)")
    if not (len(account) == 12 and account.isdigit()):
        raise UserError(f"account {account!r} is not a 12-digit account id")
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UserError("give --region (or set AWS_REGION)", hint="e.g. --region us-east-1")
    if args.sandbox and not args.from_account:
        raise UserError("--sandbox goes with --from-account (the starter policy reads nothing)")
    return Target(args.name, account, region)


def _imported(args: argparse.Namespace, target: Target) -> dict[str, str]:
    """The policy files of ``reconciler import`` for the target."""
    from reconciler.aws import SandboxSessionFactory, SessionFactory
    from reconciler.commands import import_
    from reconciler.config.model import Policy
    from reconciler.config.model import Target as PolicyTarget
    from reconciler.options import open_sandbox, rate_scale

    policy_target = PolicyTarget(target.name, target.account_id, target.region)
    policy = Policy(config_dir=str(Path(args.dir) / "config"), targets={target.name: policy_target}, desired={})
    sandbox = open_sandbox(args.sandbox, policy) if args.sandbox else None
    factory: SessionFactory = SandboxSessionFactory(sandbox) if sandbox is not None else SessionFactory()
    imported = import_.import_target(factory, policy_target, rate_scale=rate_scale(sandbox is not None))
    for note in imported.notes:
        from reconciler.logs import say

        say(f"warning: {target.name}: {note}", "warning", "import.note")
    return import_.render([imported])


def _write_new(out: Path, files: dict[str, str]) -> tuple[list[str], list[str]]:
    """Create the files that do not exist yet (O_EXCL: never overwrite, even in a race)."""
    written, kept = [], []
    for path, content in files.items():
        destination = out / path
        if destination.exists() or destination.is_symlink():
            kept.append(path)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Imported numbers files hold opted-out numbers (personal data): owner-only.
        mode = 0o600 if path.startswith("config/numbers/") else 0o644
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
        written.append(path)
    return written, kept
