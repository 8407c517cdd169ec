"""``reconciler check PLAN.json…``: evaluate the guardrails over saved plans, offline.

    reconciler check out/prod.json out/staging.json [--guardrails config/guardrails.yaml] [--format json]

Exit 0: every rule passes (warnings included); 2: a needs-approval rule fired (a reviewer from
the named team or user must approve); 1: a rule denies, or the guardrails or plans are invalid,
or a rule cannot be evaluated on these plans (docs/guardrails.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reconciler.cli import UserError
from reconciler.config.diagnostics import format_text
from reconciler.guardrails.evaluate import MissingInput, evaluate
from reconciler.guardrails.loader import guardrails_path, load_guardrails
from reconciler.guardrails.model import Evaluation, Guardrails
from reconciler.guardrails.render import text, to_json
from reconciler.plan import Plan
from reconciler.report.plan_input import read_plans


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "check",
        help="evaluate the guardrails over saved plans (exit 0 pass, 2 needs approval, 1 deny)",
        description="Evaluate the rules of the guardrails file over plans saved with 'reconciler plan --out' "
                    "(one file per target, or one for all). Offline: no AWS, no GitHub. Exit 0 when every rule "
                    "passes or only warns, 2 when a needs-approval rule fires, 1 when a rule denies or cannot "
                    "be evaluated.",
    )
    parser.add_argument("plans", nargs="+", metavar="PLAN.json", help="plan JSON written by 'reconciler plan --out'")
    parser.add_argument("--guardrails", default=None, metavar="FILE",
                        help="the guardrails file (default: guardrails.yaml of --config)")
    parser.add_argument("--config", default="config", metavar="DIR", help="the policy directory (default: config)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    parser.set_defaults(func=run)


def load_or_fail(path: str | Path) -> Guardrails:
    """The guardrails of ``path``, or a :class:`UserError` listing every problem at file:line:col."""
    guardrails, problems = load_guardrails(path)
    if guardrails is None:
        if not Path(path).exists():
            raise UserError(f"{path}: no guardrails file",
                            hint="write one (docs/guardrails.md; `reconciler init` scaffolds an example) or pass --guardrails FILE")
        raise UserError(f"{path}: invalid guardrails ({len(problems)} problem(s)):\n" + format_text(problems).rstrip(),
                        hint="fix them; `reconciler validate` reports them too")
    return guardrails


def evaluate_or_fail(guardrails: Guardrails, plans: list[Plan]) -> Evaluation:
    try:
        return evaluate(guardrails, plans)
    except MissingInput as error:
        raise UserError(f"{len(error.problems)} guardrail rule(s) cannot be evaluated on these plans "
                        "(a guardrail that cannot look never passes):\n  " + "\n  ".join(error.problems)) from None


def run(args: argparse.Namespace) -> int:
    guardrails = load_or_fail(args.guardrails or guardrails_path(args.config))
    plans = [plan for path in args.plans for plan in read_plans(path)]
    evaluation = evaluate_or_fail(guardrails, plans)
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(evaluation), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(text(evaluation))
    return evaluation.exit_code()
