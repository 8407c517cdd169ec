"""Smoke test of the benchmark: ``python -m bench --quick --json FILE`` runs and writes the
documented fields (docs/performance.md, "JSON"). No timing assertions: timings belong to the
benchmark's report, not to CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROW_FIELDS = {
    "scenario": str,
    "title": str,
    "strategy": str,
    "api_calls": int,
    "api_calls_total": int,
    "lower_bound_calls": int,
    "calls_ratio": float,
    "sim_seconds": float,
    "sim_seconds_total": float,
    "quota_bound_seconds": float,
    "time_ratio": float,
    "cpu_seconds": float,
    "sandbox_cpu_seconds": float,
    "peak_memory_mib": float,
    "throttled": int,
    "errors": int,
    "calls_by_operation": dict,
    "lower_bound_by_operation": dict,
    "lower_bound_explanation": str,
    "marks": dict,
    "notes": list,
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "S3", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8")), done.stdout


def test_json_has_one_object_per_scenario_and_strategy(report: tuple[dict, str]) -> None:
    document, _ = report
    assert document["format"] == "reconciler-bench" and document["version"] == 1
    assert document["scale"]["name"] == "quick" and document["scale"]["big_list"] == 50_000
    pairs = [(row["scenario"], row["strategy"]) for row in document["results"]]
    assert pairs == [("S3", "product"), ("S3", "naive"), ("S3", "refresh-then-diff")]


def test_every_row_has_the_documented_fields(report: tuple[dict, str]) -> None:
    document, _ = report
    for row in document["results"]:
        assert row["error"] is None, row["error"]
        for name, kind in ROW_FIELDS.items():
            value = row[name]
            assert isinstance(value, kind) or (kind is float and isinstance(value, int)), (name, value)
        assert row["api_calls"] > 0 and row["lower_bound_calls"] > 0
        assert row["sim_seconds"] > 0 and row["quota_bound_seconds"] > 0
        assert sum(row["calls_by_operation"].values()) <= row["api_calls_total"]
        assert row["api_calls"] <= row["api_calls_total"]


def test_s3_measures_the_blocks_it_wrote(report: tuple[dict, str]) -> None:
    document, _ = report
    for row in document["results"]:
        updates = row["calls_by_operation"].get("pinpoint-sms-voice-v2:UpdateProtectConfigurationCountryRuleSet", 0)
        assert updates >= 25 * 4, row["strategy"]  # every configuration, every capability
        assert 0 < row["marks"]["last_block"] == row["sim_seconds"] <= row["sim_seconds_total"]


def test_goals_and_table_are_reported(report: tuple[dict, str]) -> None:
    document, stdout = report
    goals = {goal["goal"]: goal for goal in document["goals"]}
    assert "S3 seconds to the last block" in goals
    assert {"value", "target", "met"} <= set(goals["S3 seconds to the last block"])
    assert "diff of the large list (additive) CPU s" in goals
    assert "| S3" in stdout and "refresh-then-diff" in stdout and "Scale: quick" in stdout
