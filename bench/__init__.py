"""Performance benchmark: the product against the API lower bound and two baselines.

``python -m bench [--quick] [--json FILE]`` (see docs/performance.md). Every scenario runs against
the in-process sandbox with AWS's default quota table, a fixed latency and a simulated clock, so a
three-hour read costs seconds of CPU and simulated seconds are exact and reproducible.
"""
