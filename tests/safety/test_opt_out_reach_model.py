"""The pure effect model of opt-out reach, and the carried-windows tag."""

from __future__ import annotations

from reconciler.areas.opt_outs.carry import encode_windows, merge_windows, parse_windows
from reconciler.effects.opt_out_reach import (
    Identity,
    ReachState,
    honoured,
    honoured_lists,
    list_moves,
    newly_reachable,
    with_lists,
)

STOP = "+12065550101"
STATE = ReachState(
    identities=(
        Identity("phone-number", "phone-1", "a"),
        Identity("phone-number", "phone-2", "b", pools=("pool-1",)),  # its own list does not count
        Identity("pool", "pool-1", "c"),
        Identity("sender-id", "ACME/GB", pools=("pool-1",)),
        Identity("sender-id", "LONE/GB"),
    ),
    pool_lists={"pool-1": "c"},
    entries={"a": frozenset({STOP}), "b": frozenset(), "c": frozenset({STOP}), "Default": frozenset()},
    end_user={"a": frozenset({STOP}), "c": frozenset({STOP})},
)


def test_each_identity_honours_the_list_aws_checks_a_send_against() -> None:
    lists = {h.identity.id: (h.lists, h.end_user_opt_outs) for h in honoured(STATE)}
    assert lists == {
        "phone-1": (frozenset({"a"}), 1),
        "phone-2": (frozenset({"c"}), 1),
        "pool-1": (frozenset({"c"}), 1),
        "ACME/GB": (frozenset({"c"}), 1),
        "LONE/GB": (frozenset({"Default"}), 0),
    }
    in_two_pools = Identity("sender-id", "TWO/GB", pools=("pool-1", "pool-2"))
    assert honoured_lists(in_two_pools, STATE) == frozenset({"c", "Default"})


def test_moving_a_pool_exposes_its_stops_from_the_pool_its_numbers_and_sender_ids() -> None:
    after = with_lists(STATE, {}, {"pool-1": "b"})
    assert list_moves(STATE, after) == {("c", "b")}
    assert newly_reachable(STATE, after) == {
        ("phone-number", "phone-2"): frozenset({STOP}),
        ("pool", "pool-1"): frozenset({STOP}),
        ("sender-id", "ACME/GB"): frozenset({STOP}),
    }
    carried = ReachState(after.identities, after.pool_lists, {**after.entries, "b": frozenset({STOP})}, after.end_user)
    assert newly_reachable(STATE, carried) == {}


def test_moving_a_pooled_numbers_own_list_changes_nothing_it_honours() -> None:
    after = with_lists(STATE, {"phone-2": "a"}, {})
    assert list_moves(STATE, after) == set() and newly_reachable(STATE, after) == {}


def test_windows_merge_close_times_and_always_fit_a_tag_value() -> None:
    assert merge_windows([(100.0, 100.0), (130.0, 130.0), (1000.0, 1000.0)]) == [(100.0, 130.0), (1000.0, 1000.0)]
    many = [(float(t), float(t)) for t in range(0, 10_000_000, 100_000)]
    merged = merge_windows(many)
    value = encode_windows(merged)
    assert len(value) <= 256 and merged[0][0] == 0 and merged[-1][1] == 9_900_000
    assert parse_windows(value) == merged
    assert parse_windows("v1;5-3;x-1;10-20") == [(10.0, 20.0)] and parse_windows("garbage") == []
