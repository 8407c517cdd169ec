"""``reconciler block COUNTRY… [--capability …] [--reason TEXT]``: add emergency country blocks
(a command of the protect area: ``ProtectArea.commands``).

Appends one line per country to ``<config>/emergency.yaml`` (comments and layout untouched),
then validates the whole policy; on any error the file is restored and nothing changes.
Countries already blocked on the requested capabilities are reported and left alone, so running
the same command twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from pathlib import Path
from typing import Any

from reconciler import countries
from reconciler.areas.protect.emergency_file import (
    EMERGENCY_FILE,
    EmergencyFileError,
    append_block,
    covered_capabilities,
    read_emergency_blocks,
)
from reconciler.areas.protect.spec import CAPABILITIES
from reconciler.cli import UserError
from reconciler.config.edit import EditError

# Common mistakes worth a precise hint: codes that are not ISO 3166-1 alpha-2.
_ALIASES = {"UK": "GB", "EL": "GR", "KO": "KR"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "block",
        help="block countries in an emergency (edits emergency.yaml for a pull request)",
        description="Add emergency blocks to <config>/emergency.yaml. Open a pull request with the result; "
        "the apply workflow applies blocks first.",
    )
    parser.add_argument("countries", nargs="+", metavar="COUNTRY", help="ISO 3166-1 alpha-2 codes, e.g. NG GH")
    parser.add_argument(
        "--capability",
        action="append",
        choices=CAPABILITIES,
        type=str.upper,
        metavar="CAPABILITY",
        help="SMS, VOICE, MMS or RCS; repeat the option for several (default: all four)",
    )
    parser.add_argument("--reason", default=None, metavar="TEXT", help="why, for reviewers and the audit trail (max 500 characters)")
    parser.add_argument("--config", default="config", metavar="DIR", help="the policy directory (default: config)")
    parser.set_defaults(func=run)


def _parse_countries(values: list[str]) -> list[str]:
    codes: list[str] = []
    problems: list[str] = []
    for raw in values:
        for part in raw.replace(",", " ").split():
            code = part.strip().upper()
            if code in _ALIASES:
                problems.append(f"{part!r} is not an ISO 3166-1 alpha-2 code (use {_ALIASES[code]})")
            elif not countries.is_supported(code):
                problems.append(f"{part!r} is not a country code AWS protect rules accept")
            elif code not in codes:
                codes.append(code)
    if problems:
        raise UserError("; ".join(problems), hint="use upper-case ISO 3166-1 alpha-2 codes such as NG, GB or US")
    if not codes:
        raise UserError("no country given")
    return codes


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    codes = _parse_countries(args.countries)
    wanted = tuple(c for c in CAPABILITIES if c in set(args.capability or CAPABILITIES))
    if args.reason is not None and not (1 <= len(args.reason.strip()) <= 500):
        raise UserError("--reason must be 1 to 500 characters")
    reason = args.reason.strip() if args.reason else None
    config_dir = Path(args.config)
    if not config_dir.is_dir():
        raise UserError(f"{config_dir}: no such policy directory", hint="pass --config DIR")
    path = config_dir / EMERGENCY_FILE
    original = path.read_text(encoding="utf-8") if path.exists() else None
    try:
        existing = read_emergency_blocks(config_dir)
    except EditError as error:
        raise UserError(str(error), hint=f"fix {path} by hand (see docs/emergency.md)") from None

    added: list[str] = []
    try:
        for code in codes:
            missing = [c for c in wanted if c not in covered_capabilities(existing, code)]
            label = f"{code} ({countries.name(code)})"
            if not missing:
                print(f"{label} is already blocked for {', '.join(wanted)}: no change")
                continue
            caps = None if tuple(missing) == CAPABILITIES else missing
            append_block(config_dir, code, caps, reason)
            added.append(f"{label} for {', '.join(missing)}")
        if added:
            _validate(config_dir)
    except (EmergencyFileError, EditError) as error:
        _restore(path, original)
        raise UserError(str(error), hint=f"nothing was changed; fix {path} by hand (see docs/emergency.md)") from None
    except BaseException:
        _restore(path, original)
        raise
    if not added:
        return 0
    for line in added:
        print(f"blocked {line}")
    after = path.read_text(encoding="utf-8")
    sys.stdout.writelines(
        difflib.unified_diff((original or "").splitlines(True), after.splitlines(True), str(path), str(path))
    )
    print(f"edited {path} in {time.perf_counter() - started:.2f}s; next: open a pull request "
          "(the plan comment shows the effect), merge it, and the apply workflow blocks first.")
    return 0


def _restore(path: Path, original: str | None) -> None:
    if original is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(original, encoding="utf-8")


def _validate(config_dir: Path) -> None:
    from reconciler.config import format_text, has_errors, load_policy

    policy, diagnostics = load_policy(config_dir)
    if policy is None or has_errors(diagnostics):
        raise EditError("the policy does not validate after the edit:\n" + format_text(diagnostics).rstrip())
