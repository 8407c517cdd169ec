"""Plans a person can read: one line per change, membership changes grouped per list, internal
records and read costs only with -v, numbers masked the same in the plan and apply's progress."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pty_support import Terminal

from reconciler import costs
from reconciler.countries import SUPPORTED
from reconciler.plan import Change, Plan
from reconciler.report.text import render

REPO = Path(__file__).resolve().parents[2]


def reconciler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    made = reconciler(tmp_path, "sandbox", "snapshot", "--generate", "example", "--account", "111111111111",
                      "--out", "state.json")
    assert made.returncode == 0, made.stderr
    return tmp_path


def test_the_example_plan_reads_as_one_line_per_change(workdir: Path) -> None:
    result = reconciler(workdir, "plan", "--sandbox", "state.json")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    assert "  + opt_outs/shared-optouts  — add 175 numbers to shared-optouts" in out.splitlines()
    assert "#10" not in out  # no per-number lines without -v
    assert "create resource share sandbox-share (1 principal, 3 resources)" in out
    # Attribute changes once, in one notation (no Python repr such as False or 'Default').
    line = next(x for x in out.splitlines() if "phone_numbers/number/" in x)
    assert line.endswith("deletion_protection false -> true, international_sending false -> true, "
                         "opt_out_list Default -> shared-optouts")
    assert "False" not in out and "'" not in out
    # VOICE defaults to BLOCK but for US, CA, GB: every other country of AWS's table changes.
    blocked = sorted(SUPPORTED - {"US", "CA", "GB"})
    assert (f"block VOICE to {', '.join(blocked[:8])} and {len(blocked) - 8} more: ALLOW -> BLOCK "
            f"for all {len(blocked)}") in out
    # Internal records and read costs are for -v.
    for hidden in ("watermark", "emergency-record", "live state fingerprint", "read opt_outs:"):
        assert hidden not in out
    assert "(and 1 internal record to update, shown with -v)" in out


def test_verbose_shows_members_in_numeric_order_internal_records_and_costs(workdir: Path) -> None:
    out = reconciler(workdir, "plan", "--sandbox", "state.json", "-v").stdout
    members = re.findall(r"^      (\+\d+\*\*\*\*)(?:#(\d+))?$", out, flags=re.M)
    assert len(members) == 175
    keys = [(prefix, int(suffix or 0)) for prefix, suffix in members]
    assert keys == sorted(keys)  # #2 before #10, not as text
    assert ("+1206555****", 10) in keys
    assert "opt_outs/shared-optouts/watermark" in out
    strategy = next(x for x in out.splitlines() if x.startswith("  read opt_outs:"))
    assert "estimated" in strategy and "made" in strategy and "1 calls" not in strategy


def test_a_read_that_outgrew_its_estimate_says_so() -> None:
    strategy = costs.choose("exact", "plan", listed=10, live_hint=50, delta=None)
    assert strategy.describe().startswith("read-all: estimated 1 call, ")
    made = strategy.made(10_000, whole_list=True)
    assert made.startswith("made 10,000 calls (whole list read); more than estimated")


def test_internal_records_are_not_drift() -> None:
    from reconciler.commands.drift import categorise, has_drift, render_text

    watermark = Change("opt_outs", "update", "opt-out-list-watermark", "opt_outs/shared-optouts/watermark",
                       before={"numbers": 350, "live_entries": 350}, after={"numbers": 350, "live_entries": 351})
    plan = Plan("prod", [watermark], account_id="111111111111", region="us-east-1")
    assert categorise(plan)["drifted"] == []
    assert not has_drift([plan])
    assert render_text([plan], colour=False).startswith("No drift")
    from reconciler.report.markdown import render as markdown

    assert "watermark" not in markdown([plan], mode="drift")
    assert "watermark" not in markdown([Plan("prod", account_id="111111111111", region="us-east-1")],
                                       base_drift=[plan])


def test_internal_records_alone_are_not_changes_to_review() -> None:
    record = Change("protect", "update", "emergency-record", "protect/p/emergency-record/add",
                    after="MMS:FR:A", summary="record the statuses to restore")
    text = render([Plan("prod", [record], account_id="1", region="r")])
    assert text.startswith("No changes")
    assert "MMS:FR:A" not in text
    assert "MMS:FR:A" in render([Plan("prod", [record], account_id="1", region="r")], verbose=True)


def test_apply_progress_masks_numbers_as_the_plan_does(workdir: Path) -> None:
    plan = reconciler(workdir, "plan", "--sandbox", "state.json").stdout
    assert "+1888555****" in plan
    term = Terminal(["apply", "--sandbox", "state.json", "--auto-approve"], workdir, {"RECONCILER_RATE_SCALE": "20"})
    assert term.finish(timeout=120) == 0, term.text
    assert "phone_numbers/number/+1888555****" in term.text
    assert not re.search(r"\+1888555\d{4}", term.text)
    # The list of what was done (or failed) masks it as well.
    from reconciler.apply import ApplyResult, describe

    number = Change("phone_numbers", "update", "phone-number", "phone_numbers/number/+18885550100")
    lines = describe(ApplyResult("prod", applied=[number], failed=number, error="boom"))
    assert "  done: phone_numbers/number/+1888555****" in lines
    assert "  FAILED: phone_numbers/number/+1888555****: boom" in lines
