"""``reconciler import --out DIR``: write a policy directory that describes what is live.

Reads every area of each target and writes policy files that plan to zero changes:
``targets.yaml`` and one file per area (each area's ``importer`` module says what it writes and
how; see reconciler/areas/importing.py), plus files of numbers beside them. Nothing live is
changed. What the policy language cannot express is left out and reported on stderr.

Existing files are never overwritten: if any file the import would write exists, nothing is
written and the command fails naming them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.areas.importing import NUMBERS_DIR, ImportContext, importers
from reconciler.aws import Api, SandboxSessionFactory, SessionFactory
from reconciler.cli import UserError
from reconciler.config.model import Policy, Target
from reconciler.logs import say
from reconciler.options import add_common, load, open_sandbox, rate_scale, setup_logging


@dataclass
class Imported:
    target: Target
    lives: dict[str, Any]  # policy file of the area -> its live state, read for the import
    notes: list[str] = field(default_factory=list)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "import",
        help="write a policy directory from live state (never overwrites files)",
        description=(
            "Read the live state of the targets and write a policy directory that plans to zero "
            "changes. Targets come from --config, or from --account/--region."
        ),
    )
    add_common(parser, areas=False)
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write the policy into")
    parser.add_argument("--account", metavar="ID", help="import this account instead of the targets of --config")
    parser.add_argument("--region", metavar="REGION", help="the region of --account")
    parser.add_argument("--name", default="imported", metavar="NAME", help="target name for --account (default: imported)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    setup_logging(args)
    policy = _policy(args)
    targets = [policy.targets[name] for name in (args.target or sorted(policy.targets))]
    sandbox = open_sandbox(args.sandbox, policy) if args.sandbox else None
    factory: SessionFactory = SandboxSessionFactory(sandbox) if sandbox is not None else SessionFactory()
    out = Path(args.out)
    _check_out_dir(out)
    _refuse_existing(out, policy_files())
    imports = [import_target(factory, t, rate_scale=rate_scale(sandbox is not None)) for t in targets]
    files = render(imports)
    write_files(out, files)
    for item in imports:
        for note in item.notes:
            say(f"warning: {item.target.name}: {note}", "warning", "import.note")
    print(f"wrote {len(files)} files to {out} ({', '.join(t.name for t in targets)})")
    return 0


def _policy(args: argparse.Namespace) -> Policy:
    """A policy holding just the targets to import."""
    if args.account or args.region:
        if not (args.account and args.region):
            raise UserError("--account and --region go together", hint="e.g. --account 111122223333 --region us-east-1")
        if not (len(args.account) == 12 and args.account.isdigit()):
            raise UserError(f"--account {args.account!r} is not a 12-digit account id")
        target = Target(args.name, args.account, args.region)
        return Policy(config_dir=args.out, targets={target.name: target}, desired={})
    policy = load(args.config)
    unknown = [name for name in args.target if name not in policy.targets]
    if unknown:
        raise UserError(f"unknown target {', '.join(unknown)}", hint=f"targets: {', '.join(sorted(policy.targets))}")
    return Policy(config_dir=policy.config_dir, targets=policy.targets, desired={})


# Reading ----------------------------------------------------------------------------------------


def connect_target(factory: SessionFactory, target: Target, rate_scale: float = 1.0) -> Api:
    """Connect exactly as plan does (role assumption, account check)."""
    from reconciler.engine import Engine

    policy = Policy(config_dir="", targets={target.name: target}, desired={})
    engine = Engine(policy, factory, rate_scale=rate_scale)
    return engine.start(target.name, classes=[]).api


def import_target(factory: SessionFactory, target: Target, api: Api | None = None, rate_scale: float = 1.0) -> Imported:
    """Read everything live of every area of ``target``: the areas whose reads are long and use
    quotas of their own (``AreaImporter.alone``) in parallel with the others, read one by one."""
    api = api or connect_target(factory, target, rate_scale)
    every = importers()
    lives: dict[str, Any] = {}

    def reader(chosen: list[Any]) -> Any:
        def read() -> None:
            for importer in chosen:
                lives[importer.file] = importer.read(api, target)

        return read

    alone = [reader([importer]) for importer in every if importer.alone]
    api.parallel([*alone, reader([importer for importer in every if not importer.alone])])
    notes = [note for importer in every if importer.notes for note in importer.notes(lives[importer.file])]
    return Imported(target, lives, notes)


# Rendering (pure) -------------------------------------------------------------------------------

TARGETS_FILE = "targets.yaml"


def policy_files() -> tuple[str, ...]:
    """The fixed files an import may write; checked before reading (numbers files once known)."""
    return tuple(sorted({TARGETS_FILE, *(importer.file for importer in importers())}))


def render(imports: Sequence[Imported]) -> dict[str, str]:
    """Relative path -> file content, for every file of the imported policy."""
    several = len(imports) > 1
    every = importers()
    sections: dict[str, dict[str, list[Any]]] = {TARGETS_FILE: {"targets": []}}
    for importer in every:
        sections[importer.file] = {name: [] for name in importer.sections}
    files: dict[str, str] = {}
    for item in imports:
        scope = {"targets": [item.target.name]} if several else {}
        target_doc: dict[str, Any] = {
            "name": item.target.name,
            "account_id": item.target.account_id,
            "region": item.target.region,
        }
        if item.target.role_arn:
            target_doc["role_arn"] = item.target.role_arn
        sections[TARGETS_FILE]["targets"].append(target_doc)
        context = ImportContext(item.target, several)
        for importer in every:
            imported = importer.render(item.lives[importer.file], context)
            for name, docs in imported.sections.items():
                sections[importer.file][name].extend({**doc, **scope} for doc in docs)
            files.update(imported.files)
    for path, doc in sections.items():
        kept = {key: value for key, value in doc.items() if value}
        if kept or path == TARGETS_FILE:
            files[path] = _header() + yaml.safe_dump(kept, sort_keys=False, default_flow_style=False, width=100)
    return dict(sorted(files.items()))


def _header() -> str:
    return "# Written by `reconciler import` from live state; edit freely.\n"


# Writing ----------------------------------------------------------------------------------------


def _refuse_existing(out: Path, paths: Iterable[str]) -> None:
    existing = sorted(p for p in paths if (out / p).exists())
    if existing:
        raise UserError(
            f"{out} already holds {', '.join(existing)}; import never overwrites files",
            hint="choose an empty --out directory, or move those files away",
        )


def _check_out_dir(out: Path) -> None:
    """Refuse an --out that cannot become a directory we write to, before reading anything."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"--out {out}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot create files under {existing} (not writable)")
    # Permissions do not tell everything (/proc, read-only mounts): create the missing directories
    # once to see, and remove them again so a failed read leaves nothing behind.
    missing = []
    probe = out
    while probe != existing:
        missing.append(probe)
        probe = probe.parent
    try:
        for directory in reversed(missing):
            directory.mkdir()
    except OSError as error:
        raise UserError(f"--out {out}: cannot create directory {directory}: {error.strerror}") from None
    finally:
        for directory in missing:
            with contextlib.suppress(OSError):
                directory.rmdir()


def write_files(out: Path, files: dict[str, str]) -> None:
    """Write every file, or none: all paths are checked first; files are created exclusively.
    Numbers files hold personal data (opted-out numbers): they are created readable by the owner only."""
    _refuse_existing(out, files)
    for path, content in files.items():
        target = out / path
        mode = 0o600 if path.startswith(f"{NUMBERS_DIR}/") else 0o644
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: never overwrite, even in a race.
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(content)
        except OSError as error:
            raise UserError(f"--out {out}: cannot write {path}: {error.strerror or type(error).__name__}") from None
