"""The text table on stdout, the goals verdicts and the JSON document (schema: docs/performance.md)."""

from __future__ import annotations

from typing import Any

FORMAT = "reconciler-bench"
VERSION = 1
CALLS_GOAL = 1.05
TIME_GOAL = 1.2
S2_SPEEDUP_GOAL = 50.0
S3_FACTOR = 2.0
S6_SPEEDUP_GOAL = 100.0  # incremental nightly drift vs the full S5 drift, simulated time
SHARE_TIME_GOAL = 1.05  # S5 at --quota-share 0.5 vs its (doubled) quota-bound time
DIFF_CPU_GOAL = 2.0
MEMORY_GOAL_MIB = 1024.0
COLUMNS = (
    ("scenario", "scenario", "<"),
    ("strategy", "strategy", "<"),
    ("api_calls", "calls", ">"),
    ("lower_bound_calls", "lower bound", ">"),
    ("calls_ratio", "x", ">"),
    ("sim_seconds", "sim s", ">"),
    ("quota_bound_seconds", "quota-bound s", ">"),
    ("time_ratio", "x", ">"),
    ("cpu_seconds", "cpu s", ">"),
    ("peak_memory_mib", "peak MiB", ">"),
    ("throttled", "throttled", ">"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[title for _, title, _ in COLUMNS]]
    for item in rows:
        label = item["strategy"] + ("*" if item.get("extrapolated") else "") + ("!" if item.get("error") else "")
        cells.append([label if key == "strategy" else _cell(item.get(key)) for key, _, _ in COLUMNS])
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for number, row in enumerate(cells):
        parts = [f"{text:{align}{width}}" for text, width, (_, _, align) in zip(row, widths, COLUMNS, strict=True)]
        lines.append("| " + " | ".join(parts) + " |")
        if number == 0:
            lines.append("|" + "|".join(("-" * (w + 1) + ":" if a == ">" else ":" + "-" * (w + 1)) for w, (_, _, a) in zip(widths, COLUMNS, strict=True)) + "|")
    return "\n".join(lines) + "\n"


def _find(rows: list[dict[str, Any]], scenario: str, strategy: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["scenario"] == scenario and r["strategy"] == strategy), None)


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the performance issue: measured value, target, met or not."""
    rows = results["rows"]
    verdicts: list[dict[str, Any]] = []

    def add(goal: str, value: Any, target: str, met: bool | None) -> None:
        verdicts.append({"goal": goal, "value": value, "target": target, "met": met})

    for item in (r for r in rows if r["strategy"] == "product"):
        add(f"{item['scenario']} calls / lower bound", item["calls_ratio"], f"<= {CALLS_GOAL}",
            None if item["calls_ratio"] is None else item["calls_ratio"] <= CALLS_GOAL)
        add(f"{item['scenario']} simulated time / quota-bound", item["time_ratio"], f"<= {TIME_GOAL}",
            None if item["time_ratio"] is None else item["time_ratio"] <= TIME_GOAL)
    mine, theirs = _find(rows, "S2", "product"), _find(rows, "S2", "refresh-then-diff")
    if mine and theirs and mine.get("sim_seconds") and theirs.get("sim_seconds") is not None:
        speedup = round(theirs["sim_seconds"] / mine["sim_seconds"], 1)
        add("S2 speed-up over refresh-then-diff", speedup, f">= {S2_SPEEDUP_GOAL:g}x", speedup >= S2_SPEEDUP_GOAL)
    block = _find(rows, "S3", "product")
    if block and block.get("sim_seconds") is not None:
        changed = block["lower_bound_by_operation"].get("pinpoint-sms-voice-v2:UpdateProtectConfigurationCountryRuleSet", 0)
        add("S3 seconds to the last block", block["sim_seconds"], f"<= {S3_FACTOR:g} x {changed} = {S3_FACTOR * changed:g}",
            block["sim_seconds"] <= S3_FACTOR * changed)
    full, incremental = _find(rows, "S5", "product"), _find(rows, "S6", "product")
    if full and incremental and incremental.get("sim_seconds") and full.get("sim_seconds") is not None:
        speedup = round(full["sim_seconds"] / incremental["sim_seconds"], 1)
        add("S6 speed-up over the full S5 drift", speedup, f">= {S6_SPEEDUP_GOAL:g}x", speedup >= S6_SPEEDUP_GOAL)
    shared = _find(rows, "S5-share", "product")
    if shared and shared.get("time_ratio") is not None:
        add("S5-share simulated time / doubled quota-bound", shared["time_ratio"], f"<= {SHARE_TIME_GOAL}",
            shared["time_ratio"] <= SHARE_TIME_GOAL)
    metrics = (results.get("diff") or {}).get("metrics", {})
    for mode in ("additive", "exact"):
        key = f"{mode}_diff_cpu_seconds"
        if key in metrics:
            add(f"diff of the large list ({mode}) CPU s", metrics[key], f"< {DIFF_CPU_GOAL:g}", metrics[key] < DIFF_CPU_GOAL)
    plan = _find(rows, "S1", "product")
    if plan and plan.get("peak_memory_mib") is not None:
        add("S1 plan peak memory MiB", plan["peak_memory_mib"], f"< {MEMORY_GOAL_MIB:g}", plan["peak_memory_mib"] < MEMORY_GOAL_MIB)
    return verdicts


def text(results: dict[str, Any]) -> str:
    lines = [
        f"Scale: {results['scale_text']}",
        f"Quotas: AWS defaults (sms-voice 1/s, Put/DeleteOptedOutNumber 10/s, RAM 5/s); latency "
        f"{results['latency_seconds'] * 1000:g} ms; simulated clock. Wall time {results['wall_seconds']:g} s.",
        "",
        table(results["rows"]).rstrip(),
        "",
        "* extrapolated per-number loop (see JSON 'extrapolated'); ! the run failed (see JSON 'error').",
        "S3 'sim s' is the time until the last block is written.",
        "",
        "Goals:",
    ]
    for verdict in goals(results):
        state = {True: "met", False: "MISSED", None: "n/a"}[verdict["met"]]
        lines.append(f"  {state:6} {verdict['goal']}: {_cell(verdict['value'])} (target {verdict['target']})")
    errors = [r for r in results["rows"] if r.get("error")]
    for item in errors:
        lines.append(f"  error: {item['scenario']} {item['strategy']}: {item['error'][:300]}")
    return "\n".join(lines) + "\n"


def document(results: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "scale": results["scale"],
        "latency_seconds": results["latency_seconds"],
        "wall_seconds": results["wall_seconds"],
        "results": results["rows"],
        "diff": results.get("diff"),
        "goals": goals(results),
    }
