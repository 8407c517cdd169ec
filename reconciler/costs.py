"""The quota-aware cost model: which way to read (or not read) an opt-out list, and what it costs.

Planning is bound by AWS quotas, not CPU. ``DescribeOptedOutNumbers`` runs at 1 request/s and
returns a page of at most 100 entries, or up to 5 named numbers; ``PutOptedOutNumber`` runs at
10 requests/s and is idempotent. For one list with ``d`` candidate numbers (listed numbers not yet
known to be present) and ``L`` live entries the strategies are:

=================  ==========================================  =====================================
strategy           calls                                       when it is correct
=================  ==========================================  =====================================
``watermark``      0 reads                                     additive list unchanged since the last
                                                               apply (the list's watermark tag holds
                                                               the digest of the numbers it wrote)
``write-through``  0 reads; up to d writes at 10/s in apply    additive, plan/apply, d = numbers new
                                                               since the apply the watermark records;
                                                               the plan shows "up to d additions
                                                               (unverified)"
``read-all``       ceil(L/100) reads at 1/s                    always (``exact`` and ``import`` use it)
``lookup``         ceil(d/5) reads at 1/s                      additive lists
``probe``          pages, then lookups: <= 2 x min(both)       additive lists of unknown size
=================  ==========================================  =====================================

``L`` is unknown before reading (``DescribeOptOutLists`` gives no counts). The watermark tag stores
the live entry count seen at the last apply as a hint; without a hint the area *probes*: it reads
pages while that costs less than looking the remaining candidates up, then looks up whatever the
pages have not shown. That never costs more than twice the better of the two (a classic
rent-or-buy bound) and usually costs exactly the better one.

Write-through is chosen only for numbers the list is not already known to hold: the delta between
the policy and the numbers the watermark vouches for (see ``reconciler.areas.opt_outs.area``). Writing
``d`` numbers costs d/10 s, less than looking them up (d/5 s), so a pull request that adds 1,000
numbers to a million-number list plans with no reads and applies in ~100 s, where refreshing the
list first costs ~10,000 s. When nothing vouches for the list (no watermark, e.g. right after
``import``), plan verifies instead, so an imported policy plans to zero changes.

``drift`` never trusts the watermark and never writes: it verifies with ``read-all`` or ``lookup``.
Every function here is pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

PAGE_SIZE = 100  # DescribeOptedOutNumbers MaxResults maximum
LOOKUP_BATCH = 5  # DescribeOptedOutNumbers OptedOutNumbers maximum
READ_RATE = 1.0  # DescribeOptedOutNumbers requests per second (AWS default quota)
WRITE_RATE = 10.0  # Put/DeleteOptedOutNumber requests per second (AWS default quota)

Command = Literal["plan", "apply", "drift", "import"]
Mode = Literal["additive", "exact"]
StrategyKind = Literal["watermark", "read-all", "lookup", "probe", "write-through", "none"]


@dataclass(frozen=True)
class Strategy:
    """A chosen way to learn (or skip learning) one list's membership, with its expected cost."""

    kind: StrategyKind
    reads: int  # expected DescribeOptedOutNumbers calls
    writes: int  # at most this many PutOptedOutNumber calls in apply (write-through only)
    reason: str

    @property
    def read_seconds(self) -> float:
        return self.reads / READ_RATE

    @property
    def write_seconds(self) -> float:
        return self.writes / WRITE_RATE

    def describe(self) -> str:
        """One line for the plan's strategy table, e.g. ``lookup: 12 calls, 12 s at 1/s (...)``."""
        if self.kind == "write-through":
            cost = f"0 reads; up to {_calls(self.writes, 'write')}, {_seconds(self.write_seconds)} at 10/s in apply"
        else:
            cost = f"estimated {_calls(self.reads, 'call')}, {_seconds(self.read_seconds)} at 1/s"
        return f"{self.kind}: {cost} ({self.reason})"

    def made(self, calls: int, whole_list: bool) -> str:
        """The calls a read made, said so that it never contradicts the estimate beside it."""
        text = f"made {_calls(calls, 'call')}" + (" (whole list read)" if whole_list else "")
        if self.kind == "read-all" and calls > self.reads:
            text += "; more than estimated: the list holds more entries than its last recorded size"
        return text


def _calls(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def read_all_calls(live_entries: int) -> int:
    """Pages needed to read a list of ``live_entries`` (an empty list still costs one call)."""
    return max(1, math.ceil(live_entries / PAGE_SIZE))


def lookup_calls(numbers: int) -> int:
    return math.ceil(numbers / LOOKUP_BATCH)


def write_calls(numbers: int) -> int:
    return numbers


def choose(
    mode: Mode,
    command: Command,
    listed: int,
    live_hint: int | None,
    delta: int | None,
) -> Strategy:
    """The cheapest correct strategy for one existing list.

    ``listed``: numbers the policy lists. ``live_hint``: the live entry count recorded at the last
    apply, if any. ``delta``: ``None`` when nothing vouches for the list's contents; otherwise how
    many listed numbers were added to the policy since the apply the list's watermark records
    (0: the policy still lists exactly what that apply wrote).
    """
    if command == "import" or mode == "exact":
        reads = read_all_calls(live_hint if live_hint is not None else listed)
        why = "import reads every entry" if command == "import" else "exact mode must see every entry"
        return Strategy("read-all", reads, 0, why)
    if delta is not None and command != "drift":
        if delta == 0:
            return Strategy("watermark", 0, 0, "unchanged since the last apply")
        # delta writes at 10/s always beat delta/5 lookups at 1/s over plan + apply.
        return Strategy("write-through", 0, write_calls(delta), f"{delta} numbers new since the last apply")
    # Verify every listed number: nothing vouches for the list, or drift (which trusts no watermark).
    if listed == 0:
        return Strategy("none", 0, 0, "no listed numbers to check")
    lookup = lookup_calls(listed)
    if live_hint is None:
        return Strategy("probe", lookup, 0, f"list size unknown; pages, then lookups; at most {2 * lookup} calls")
    read_all = read_all_calls(live_hint)
    if read_all <= lookup:
        return Strategy("read-all", read_all, 0, f"~{live_hint} entries to read vs {listed} numbers to look up")
    return Strategy("lookup", lookup, 0, f"{listed} numbers to look up vs ~{live_hint} entries to read")


def keep_probing(pages_read: int, unseen: int) -> bool:
    """Whether a probe should read another page rather than look up the ``unseen`` candidates.

    Reading stops once the pages read reach the lookup cost of what is still unseen: from then on
    the lookups are the cheaper way to finish, and the total stays within twice the optimum.
    """
    return unseen > 0 and pages_read < lookup_calls(unseen)
