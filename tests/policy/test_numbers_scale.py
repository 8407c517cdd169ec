"""A million-number numbers_file validates in seconds (the figure is printed and kept in docs/policy.md)."""

from __future__ import annotations

import random
import time
from pathlib import Path

from reconciler.config import load_policy
from reconciler.config.numbers import e164_problem, mask, read_numbers

from .conftest import TARGETS

COUNT = 1_000_000


def _million(path: Path) -> list[str]:
    """1,000,000 distinct numbers over six countries, in random order, plus two bad lines."""
    rng = random.Random(20261127)
    numbers = [f"+1206{n:07d}" for n in range(400_000)]
    numbers += [f"+447700{n:06d}" for n in range(250_000)]
    numbers += [f"+614{n:08d}" for n in range(150_000)]
    numbers += [f"+4915{n:09d}" for n in range(100_000)]
    numbers += [f"+3906{n:08d}" for n in range(50_000)]  # Italian landlines keep their 0
    numbers += [f"+9198{n:08d}" for n in range(50_000)]
    rng.shuffle(numbers)
    lines = ["# opt-outs exported from the preference centre", *numbers]
    lines.insert(500_001, "+1206555")  # too short
    lines.insert(900_001, "12065550100")  # no +
    path.write_text("\n".join(lines) + "\n")
    return numbers


def test_million_number_file(config_dir: Path) -> None:
    numbers = _million(config_dir / "optouts.txt")
    # Bad lines deep inside a big file are found at their exact line.
    parsed = read_numbers(config_dir / "optouts.txt")
    assert [(i.line, i.kind) for i in parsed.issues] == [(500_002, "invalid"), (900_002, "invalid")]
    assert parsed.invalid_count == 2 and parsed.duplicate_count == 0

    text = (config_dir / "optouts.txt").read_text().replace("+1206555\n", "").replace("\n12065550100\n", "\n")
    (config_dir / "optouts.txt").write_text(text)
    (config_dir / "policy.yaml").write_text(
        TARGETS + "opt_out_lists:\n  - name: big\n    numbers_file: optouts.txt\n"
    )
    started, cpu = time.perf_counter(), time.process_time()
    policy, diagnostics = load_policy(config_dir)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"\nvalidated a {COUNT:,}-number numbers_file in {elapsed:.2f} s ({cpu:.2f} s CPU)")

    assert diagnostics == [] and policy is not None
    (optouts,) = policy.desired["prod"].opt_out_lists
    assert len(optouts.numbers) == COUNT
    assert optouts.numbers == tuple(sorted(numbers))


def test_fast_path_agrees_with_the_careful_path(tmp_path: Path) -> None:
    rng = random.Random(7)
    lines = []
    for _ in range(5000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 16)))
        lines.append(rng.choice(["+", "+", "+", ""]) + digits)
    path = tmp_path / "n.txt"
    path.write_text("\n".join(lines) + "\n")
    parsed = read_numbers(path, max_issues=len(lines))
    invalid = {issue.line for issue in parsed.issues if issue.kind == "invalid"}
    for line_number, number in enumerate(lines, start=1):
        assert (e164_problem(number) is not None) == (line_number in invalid), number
    assert all("****" in issue.text or len(issue.text) <= 5 for issue in parsed.issues)
    assert mask("+12065550100") == "+1206555****"
