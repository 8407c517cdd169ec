"""Options shared by the commands that talk to AWS (plan, apply, drift, import…), and the
plumbing from parsed arguments to a loaded policy, a session factory and an :class:`Engine`.

``--sandbox [SNAPSHOT]`` runs against an in-process sandbox: seeded from SNAPSHOT (a file
written by ``reconciler sandbox snapshot`` or by an earlier ``--sandbox`` apply, which saves its
state back), or, without SNAPSHOT, from the built-in example account that matches ``config/``.
To use ``reconciler sandbox serve`` instead, set the standard ``AWS_ENDPOINT_URL_*`` variables.
"""

from __future__ import annotations

import argparse
import fcntl
import math
import os
import sys
from typing import IO, Any

from reconciler.aws import SandboxSessionFactory, SessionFactory
from reconciler.cli import UserError
from reconciler.config.model import Policy
from reconciler.engine import Engine
from reconciler.logs import say

BUILTIN = "builtin-example"
RATE_SCALE_ENV = "RECONCILER_RATE_SCALE"


def add_common(parser: argparse.ArgumentParser, areas: bool = True, targets: bool = True) -> None:
    parser.add_argument("--config", default="config", metavar="DIR", help="the policy directory (default: config)")
    parser.add_argument(
        "--sandbox",
        nargs="?",
        const=BUILTIN,
        default=None,
        metavar="SNAPSHOT",
        help="run against an in-process sandbox seeded from SNAPSHOT (default: the built-in example account)",
    )
    parser.add_argument("--log-format", choices=("console", "json"), default="console",
                        help="how log lines on stderr look: console (for people) or json (one object a line)")
    parser.add_argument("--no-color", action="store_true",
                        help="no colour in the output (also when NO_COLOR is set or TERM=dumb)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="show read costs and internal records in plans, and log every AWS call")
    if targets:
        parser.add_argument("--target", action="append", default=[], metavar="NAME", help="only this target (repeatable)")
        parser.add_argument("--quota-share", type=quota_share, default=None, metavar="FRACTION",
                            help="use at most this share of each API rate quota (0 < FRACTION <= 1), leaving the rest "
                                 "to the account's applications; overrides targets[].quota_share (default: that, else 1). "
                                 "An emergency apply's block phase uses the whole quota")
    if areas:
        parser.add_argument("--only", action="append", default=[], metavar="AREA", help="only this area (repeatable)")
        parser.add_argument("--exclude", action="append", default=[], metavar="AREA", help="skip this area (repeatable)")


def quota_share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0 < value <= 1):
        raise argparse.ArgumentTypeError(f"{text} is not a share: give a fraction above 0 and at most 1, e.g. 0.5")
    return value


def setup_logging(args: argparse.Namespace) -> None:
    from reconciler.logs import configure

    if getattr(args, "no_color", False):
        from reconciler.terminal import disable_colour

        disable_colour()
    configure(args.log_format, args.verbose)


def load(config_dir: str) -> Policy:
    from reconciler.config import format_text, has_errors, load_policy

    policy, diagnostics = load_policy(config_dir)
    if policy is None or has_errors(diagnostics):
        raise UserError(f"the policy in {config_dir} is not valid:\n{format_text(diagnostics).rstrip()}",
                        hint="fix the errors above (`reconciler validate` shows them too)")
    warnings = [d for d in diagnostics if not d.is_error]
    if warnings:
        say(format_text(warnings).rstrip(), "warning", "policy.warnings")
    return policy


def open_sandbox(snapshot: str, policy: Policy) -> Any:
    from reconciler.sandbox import Sandbox

    if snapshot == BUILTIN:
        from reconciler.sandbox.generator import generate_example

        # The example account built from the policy (the state before its first apply), once
        # per target, so any config plans against it.
        sandbox = Sandbox()
        for target in sorted(policy.targets.values(), key=lambda t: t.name):
            generate_example(sandbox.world, account=target.account_id, region=target.region, config_dir=policy.config_dir)
        return sandbox
    check_snapshot_path(snapshot)
    try:
        return Sandbox.from_snapshot(snapshot)
    except ValueError as error:
        raise UserError(f"sandbox snapshot {snapshot}: {error}") from None


def check_snapshot_path(snapshot: str) -> None:
    if not os.path.exists(snapshot):
        raise UserError(f"sandbox snapshot {snapshot} does not exist",
                        hint="create one with `reconciler sandbox snapshot`, or use --sandbox without a file")
    if not os.path.isfile(snapshot):
        raise UserError(f"sandbox snapshot {snapshot} is not a regular file",
                        hint="give the snapshot file written by `reconciler sandbox snapshot` (or an earlier --sandbox apply)")


def snapshot_lock_path(snapshot: str) -> str:
    """The lock file of a snapshot: in the temporary directory, named after the snapshot's real
    path, so that no stray ``.lock`` file appears next to the snapshot (in a git working tree)."""
    import hashlib
    import tempfile

    real = os.path.realpath(snapshot)
    digest = hashlib.sha256(real.encode()).hexdigest()[:24]
    return os.path.join(tempfile.gettempdir(), f"reconciler-sandbox-{digest}.lock")


def hold_snapshot(snapshot: str) -> IO[str]:
    """An exclusive lock on the snapshot's lock file that lasts as long as the process (the OS
    drops it at exit, so a killed apply never leaves it held). The file itself stays: deleting
    a lock file others may be waiting on would let two applies hold "the" lock at once."""
    handle = open(snapshot_lock_path(snapshot), "a", encoding="utf-8")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say(f"waiting for another apply to finish with sandbox snapshot {snapshot}", "info", "sandbox.waiting")
        fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def rate_scale(sandboxed: bool) -> float:
    """Client-side rate limits: AWS quotas for real accounts; off for the in-process sandbox
    (it enforces no quotas unless configured). ``RECONCILER_RATE_SCALE`` overrides both."""
    value = os.environ.get(RATE_SCALE_ENV)
    if value is not None:
        try:
            scale = float(value)
        except ValueError:
            raise UserError(f"{RATE_SCALE_ENV}={value!r} is not a number") from None
        if not math.isfinite(scale) or scale < 0:
            raise UserError(f"{RATE_SCALE_ENV}={value!r} is not a finite number >= 0", hint="e.g. 2 for twice AWS's default quotas")
        return scale
    return 0.0 if sandboxed else 1.0


class Context:
    """What a command needs: the policy, the sandbox (if any) and an engine factory."""

    def __init__(
        self,
        args: argparse.Namespace,
        only: list[str] | None = None,
        exclude: list[str] | None = None,
        command: str = "plan",
    ) -> None:
        setup_logging(args)
        self.args = args
        self.policy = load(args.config)
        if args.sandbox and args.sandbox != BUILTIN and command == "apply":
            # Two applies on one snapshot file would each load, change and save it, and the last
            # save would silently drop the other's changes: hold the file from load to save.
            check_snapshot_path(args.sandbox)
            self._snapshot_lock = hold_snapshot(args.sandbox)
        self.sandbox = open_sandbox(args.sandbox, self.policy) if args.sandbox else None
        self.factory: SessionFactory = SandboxSessionFactory(self.sandbox) if self.sandbox else SessionFactory()
        self.engine = Engine(
            self.policy,
            self.factory,
            only=only if only is not None else getattr(args, "only", []),
            exclude=exclude if exclude is not None else getattr(args, "exclude", []),
            rate_scale=rate_scale(self.sandbox is not None),
            command=command,
        )
        self.engine.quota_share = getattr(args, "quota_share", None)
        from reconciler.progress import ReadProgress

        self.engine.call_listener = ReadProgress

    def wrote(self) -> bool:
        """Did any write call reach AWS (the sandbox) in this run?"""
        from reconciler.aws import READ_PREFIXES

        return any(count and not key.split(".", 1)[1].startswith(READ_PREFIXES)
                   for api in self.engine.apis for key, count in api.calls.items())

    def persist(self) -> bool:
        """An in-process sandbox seeded from a file keeps what apply changed (the README
        walkthrough). Without a write the file is left as it is: saving would only move its
        clock, a needless change to a snapshot kept in git. True when saved."""
        if self.sandbox is not None and self.args.sandbox != BUILTIN and self.wrote():
            self.sandbox.save(self.args.sandbox)
            return True
        return False


def out_stream_is_tty() -> bool:
    """May the report on stdout be coloured? (a TTY, and neither NO_COLOR, --no-color nor TERM=dumb)"""
    from reconciler.terminal import colour

    return colour(sys.stdout)
