"""The opt-out read strategy is a pure function of mode, command, sizes and what the watermark vouches for."""

from __future__ import annotations

import pytest

from reconciler import costs


def test_exact_mode_always_reads_the_whole_list() -> None:
    strategy = costs.choose("exact", "plan", listed=10, live_hint=1_000_000, delta=0)
    assert strategy.kind == "read-all"
    assert strategy.reads == 10_000
    assert strategy.read_seconds == 10_000


def test_import_reads_everything() -> None:
    assert costs.choose("additive", "import", listed=0, live_hint=None, delta=None).kind == "read-all"


def test_unchanged_list_under_a_watermark_needs_no_reads() -> None:
    strategy = costs.choose("additive", "plan", listed=1_000_000, live_hint=1_000_000, delta=0)
    assert (strategy.kind, strategy.reads, strategy.writes) == ("watermark", 0, 0)


def test_pull_request_adding_numbers_writes_them_through() -> None:
    # S2: 1,000 numbers added to a million-number list the watermark vouches for.
    strategy = costs.choose("additive", "plan", listed=1_001_000, live_hint=1_000_000, delta=1_000)
    assert strategy.kind == "write-through"
    assert strategy.reads == 0
    assert strategy.write_seconds == 100
    refresh_then_diff = costs.read_all_calls(1_000_000) / costs.READ_RATE + 1_000 / costs.WRITE_RATE
    assert refresh_then_diff / (strategy.read_seconds + strategy.write_seconds) >= 50


def test_drift_never_trusts_the_watermark() -> None:
    strategy = costs.choose("additive", "drift", listed=20, live_hint=1_000_000, delta=0)
    assert strategy.kind == "lookup"
    assert strategy.reads == 4
    assert strategy.writes == 0


@pytest.mark.parametrize(
    ("listed", "hint", "kind", "reads"),
    [
        (12, 1_000_000, "lookup", 3),  # few listed numbers on a huge list: look them up
        (1_000_000, 1_000_000, "read-all", 10_000),  # whole list listed: reading is 20x cheaper
        (500, 100, "read-all", 1),
        (5, 10_000, "lookup", 1),
        (500, 10_000, "read-all", 100),  # 100 pages == 100 lookups: reading also sees the rest
    ],
)
def test_verification_picks_the_cheaper_read(listed: int, hint: int, kind: str, reads: int) -> None:
    strategy = costs.choose("additive", "plan", listed=listed, live_hint=hint, delta=None)
    assert (strategy.kind, strategy.reads) == (kind, reads)


def test_unknown_size_probes_within_twice_the_lookup_cost() -> None:
    strategy = costs.choose("additive", "plan", listed=50, live_hint=None, delta=None)
    assert strategy.kind == "probe"
    assert strategy.reads == 10
    assert "at most 20 calls" in strategy.describe()


def test_nothing_listed_reads_nothing() -> None:
    assert costs.choose("additive", "plan", listed=0, live_hint=None, delta=None).reads == 0


def test_probe_stops_when_lookups_become_cheaper() -> None:
    assert costs.keep_probing(pages_read=0, unseen=10)
    assert costs.keep_probing(pages_read=1, unseen=10)
    assert not costs.keep_probing(pages_read=2, unseen=10)
    assert not costs.keep_probing(pages_read=0, unseen=0)


def test_describe_names_calls_and_seconds() -> None:
    text = costs.choose("additive", "plan", listed=12, live_hint=1_000_000, delta=None).describe()
    assert text.startswith("lookup: estimated 3 calls, 3 s at 1/s")
    text = costs.choose("additive", "apply", listed=30, live_hint=None, delta=30).describe()
    assert text.startswith("write-through: 0 reads; up to 30 writes, 3 s at 10/s in apply")
