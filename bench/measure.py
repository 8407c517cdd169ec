"""One measured run of one scenario with one strategy, in a forked child process.

Forking after the accounts are built gives every run the same fresh world (a run's writes vanish
with its child), a clean quota state, its own simulated clock, and a peak-memory figure of its own:
the child resets the kernel's resident-set high-water mark (``/proc/self/clear_refs``) before it
starts, and reports the peak minus the resident size at start. The world itself (hundreds of MiB for
a million-number list) is resident before the run and is therefore not counted: it stands for AWS.

CPU seconds are split: the sandbox's request handling (serialising, paging, validating: AWS's
work) is timed per request and subtracted, leaving the client's own CPU.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.world import EPOCH, Scale
from reconciler.sandbox import Latency, Quotas, Sandbox
from reconciler.sandbox.quotas import THROTTLE, WAIT
from reconciler.sandbox.state import Clock

THROTTLING = {"ThrottlingException", "Throttling", "TooManyRequestsException"}
# ``--trace DIR``: each measured run also writes its call log there (simulated time, operation,
# error), one TSV per run, to see where a scenario's seconds go.
TRACE_DIR: Path | None = None


@dataclass
class Context:
    """What a scenario run gets: the sandbox (fresh clock and quotas), paths and sizes."""

    sandbox: Sandbox
    scale: Scale
    policy_dir: Path  # the large account's imported policy (a git repository)
    workdir: Path  # a private scratch directory for this run
    facts: dict[str, Any]  # sizes learnt while building the accounts (for the lower bounds)
    notes: list[str] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # named simulated instants (e.g. "last_block")
    extrapolated: dict[str, Any] = field(default_factory=dict)  # naive loops cut short (see scripts.py)
    metrics: dict[str, float] = field(default_factory=dict)  # scenario-specific figures
    sandbox_cpu: Callable[[], float] = lambda: 0.0  # CPU seconds the sandbox has spent so far
    start: float = EPOCH  # the simulated time the run starts at (S6: days after the baseline)

    @property
    def clock(self) -> Clock:
        return self.sandbox.world.clock

    def elapsed(self) -> float:
        return self.clock.latest() - self.start


def _rss_kib(field_name: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")  # reset the peak resident set size to the current one (Linux >= 4.0)
        return True
    except OSError:
        return False


def prepare(sandbox: Sandbox, quota_mode: str | None, latency: float, start: float = EPOCH) -> dict[str, float]:
    """A fresh simulated clock (at ``start``), fresh quota buckets (none for ``None``), an empty
    call log, and accounting of the sandbox's CPU."""
    sandbox.world.clock = Clock(start=start, simulated=True)
    gateway = sandbox.gateway
    gateway.quotas = Quotas(mode=quota_mode) if quota_mode else None
    gateway.latency = Latency(latency)
    gateway.calls = []
    spent = {"cpu": 0.0}
    lock = threading.Lock()
    handle = getattr(gateway, "bench_original_handle", gateway.handle)
    gateway.bench_original_handle = handle  # type: ignore[attr-defined]

    def timed(service: str, request: Any) -> Any:
        started = time.thread_time()
        try:
            return handle(service, request)
        finally:
            used = time.thread_time() - started
            with lock:
                spent["cpu"] += used

    gateway.handle = timed  # type: ignore[method-assign]
    return spent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    run: Callable[[Context], None],
    context: Context,
    quota_mode: str,
    latency: float,
) -> dict[str, Any]:
    """Run ``run(context)`` in this process and measure it (call from the forked child)."""
    spent = prepare(context.sandbox, quota_mode, latency, context.start)
    context.sandbox_cpu = lambda: spent["cpu"]
    peak_ok = _reset_peak()
    rss_start = _rss_kib("VmRSS")
    cpu_start = _cpu()
    error = None
    # The run's threads take turns in simulated-time order: simulated seconds depend on the calls
    # made, not on how busy the machine is (reconciler/lanes.py).
    context.clock.run_lanes()
    try:
        run(context)
    except Exception as failure:  # reported in the results, never hidden
        error = f"{type(failure).__name__}: {failure}"
        traceback.print_exc(file=sys.stderr)
    finally:
        context.clock.end_lanes()
    cpu = _cpu() - cpu_start
    peak_kib = max(0, _rss_kib("VmHWM") - rss_start) if peak_ok else max(0, _rss_kib("VmRSS") - rss_start)
    calls = context.sandbox.calls
    if TRACE_DIR is not None:
        _write_trace(TRACE_DIR / f"{context.workdir.name}.tsv", calls, context.start)
    extra_calls = int(context.extrapolated.get("calls", 0))
    extra_cpu = float(context.extrapolated.get("cpu_seconds", 0.0))
    by_operation: Counter[str] = Counter(f"{c.service}:{c.operation}" for c in calls)
    throttled = sum(1 for c in calls if c.error in THROTTLING)
    throttled_by: Counter[str] = Counter(f"{c.service}:{c.operation}" for c in calls if c.error in THROTTLING)
    failed = sum(1 for c in calls if c.error and c.error not in THROTTLING)
    return {
        "api_calls": len(calls) + extra_calls,
        "calls_by_operation": dict(sorted(by_operation.items())),
        "throttled": throttled,
        "throttled_by_operation": dict(sorted(throttled_by.items())),
        "errors": failed,
        "sim_seconds": round(context.elapsed(), 3),
        "marks": {k: round(v - context.start, 3) for k, v in sorted(context.marks.items())},
        "cpu_seconds": round(max(0.0, cpu - spent["cpu"]) + extra_cpu, 3),
        "sandbox_cpu_seconds": round(spent["cpu"], 3),
        "peak_memory_mib": round(peak_kib / 1024, 1),
        "metrics": dict(sorted(context.metrics.items())),
        "notes": list(context.notes),
        "extrapolated": dict(context.extrapolated),
        "error": error,
    }


def _write_trace(path: Path, calls: list[Any], start: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write("seconds\tservice\toperation\terror\n")
        for call in sorted(calls, key=lambda c: c.time):
            out.write(f"{call.time - start:.3f}\t{call.service}\t{call.operation}\t{call.error or ''}\n")


def in_child(
    run: Callable[[Context], None],
    context: Context,
    quota_mode: str = THROTTLE,
    latency: float = 0.05,
) -> dict[str, Any]:
    """``measure`` in a forked child; the parent's world is untouched. Falls back to in-process
    measurement where ``fork`` is unavailable."""
    if not hasattr(os, "fork"):
        return measure(run, context, quota_mode, latency)
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        code = 0
        try:
            result = measure(run, context, quota_mode, latency)
            payload = json.dumps(result).encode()
        except BaseException as failure:
            payload = json.dumps({"error": f"{type(failure).__name__}: {failure}"}).encode()
            code = 1
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    if not data:
        return {"error": "the measured run died without a result"}
    answer: dict[str, Any] = json.loads(data)
    return answer


__all__ = ["THROTTLE", "WAIT", "Context", "in_child", "measure"]
