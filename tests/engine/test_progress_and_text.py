"""Progress output (bar on a terminal, events otherwise) and the text report's shape."""

from __future__ import annotations

import io
import json

from reconciler.logs import configure
from reconciler.plan import PHASE_BLOCKS, Change, Plan
from reconciler.progress import Progress
from reconciler.report.text import render

CHANGE = Change("protect", "update", "country-rules", "protect/prod/rules/SMS/block", phase=PHASE_BLOCKS,
                before={"AU": "ALLOW"}, after={"AU": "BLOCK"}, summary="block SMS to AU")


def test_terminal_gets_a_bar_and_ci_gets_structured_events() -> None:
    terminal = io.StringIO()
    bar = Progress("prod", 2, stream=terminal, tty=True)
    bar.start(CHANGE)
    assert "[" + "-" * 30 + "] 0/2 protect/prod/rules/SMS/block" in terminal.getvalue()
    bar.finish(CHANGE, "ok")

    logs = io.StringIO()
    configure("json", 0, stream=logs)
    try:
        quiet = Progress("prod", 1, stream=io.StringIO(), tty=False)
        quiet.start(CHANGE)
        quiet.finish(CHANGE, "ok")
    finally:
        configure("console", 0)
    event = json.loads(logs.getvalue().splitlines()[-1])
    assert (event["event"], event["step"], event["total"], event["key"], event["outcome"]) == (
        "apply.step", 1, 1, "protect/prod/rules/SMS/block", "ok",
    )


def test_text_report_starts_with_the_summary_and_masks_numbers() -> None:
    override = Change("protect", "add", "number-override", "protect/prod/override/+1206555****",
                      after={"action": "BLOCK", "note": "+12065550123"}, secret="+12065550123")
    text = render([Plan("prod", [override, CHANGE], account_id="111122223333", region="us-east-1")])
    lines = text.splitlines()
    assert lines[0] == "Plan: 2 changes in 1 target (1 update, 1 add)."
    assert lines.index("  Phase 1 — blocks (written first, each as soon as it is known):") < lines.index(
        "  Phase 2 — changes in dependency order:"
    )
    assert "+12065550123" not in text and "+1206555****" in text
    assert render([Plan("prod")]).startswith("No changes: live state matches the policy (1 target).")
