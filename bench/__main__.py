"""``python -m bench [--quick] [--json FILE] [--only SCENARIO]``: see docs/performance.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import measure, report, world
from bench.run import ORDER, run_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a scaled-down account for CI (50,000-number list)")
    parser.add_argument("--json", metavar="FILE", help="write one object per scenario and strategy to FILE")
    parser.add_argument("--latency", type=float, default=0.05, metavar="SECONDS", help="added per request (default 0.05)")
    parser.add_argument("--only", action="append", choices=ORDER, default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--trace", metavar="DIR", help="write each run's call log (simulated time, operation) to DIR")
    args = parser.parse_args(argv)
    if args.trace:
        measure.TRACE_DIR = Path(args.trace).resolve()
    scale = world.QUICK if args.quick else world.FULL
    results = run_all(scale, args.latency, tuple(args.only))
    sys.stdout.write(report.text(results))
    if args.json:
        Path(args.json).write_text(json.dumps(report.document(results), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
