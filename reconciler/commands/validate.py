"""``reconciler validate [--config DIR] [--format text|github|json]``: check the policy offline.

Exit 1 when any error is found, 0 otherwise (warnings alone do not fail). Never touches AWS.
"""

from __future__ import annotations

import argparse
import sys

from reconciler.config import format_github, format_json, format_text, load_policy
from reconciler.config.diagnostics import Diagnostic, sorted_diagnostics
from reconciler.guardrails.loader import guardrails_path, load_guardrails

_FORMATTERS = {"text": format_text, "github": format_github, "json": format_json}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "validate",
        help="check the policy files (YAML, schema and meaning) without touching AWS",
        description=(
            "Load every *.yaml file of the configuration directory (the policy, and guardrails.yaml when "
            "present) and report every problem with file, line, column and a hint. Exit 1 when any error is found."
        ),
    )
    parser.add_argument(
        "--config", default="config", metavar="DIR", help="the policy directory (default: config)"
    )
    parser.add_argument(
        "--format",
        choices=sorted(_FORMATTERS),
        default="text",
        help="text (default), github (GitHub Actions annotations) or json",
    )
    parser.set_defaults(func=run)


def _summary(config_dir: str, diagnostics: list[Diagnostic], targets: list[str] | None) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    counts = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
    if targets is None:
        return f"{config_dir}: invalid ({counts})"
    return f"{config_dir}: valid ({counts}); targets: {', '.join(targets)}"


def run(args: argparse.Namespace) -> int:
    policy, diagnostics = load_policy(args.config)
    # The guardrails beside the policy are checked with it (file:line annotations in pull requests).
    guardrails_file = guardrails_path(args.config)
    if guardrails_file.is_file():
        guardrails, problems = load_guardrails(guardrails_file, sorted(policy.targets) if policy else None)
        diagnostics = sorted_diagnostics([*diagnostics, *problems])
        if guardrails is None:
            policy = None
    sys.stdout.write(_FORMATTERS[args.format](diagnostics))
    if args.format != "json":
        print(_summary(args.config, diagnostics, sorted(policy.targets) if policy else None))
    return 0 if policy is not None else 1
