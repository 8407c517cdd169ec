"""``drift`` for one target: incremental from the baseline when it may be, else a full read.

    mode = DriftFeed(options, wall).plan(engine, run)   # a Plan, with plan.drift_mode saying what ran

Incremental only when every condition holds, else full (and the report says which failed):
a baseline store (``--checkpoint``) and no ``--full``; a stored baseline that loads, for this
reconciler version and its own fingerprints; the last full read younger than ``max_age`` and the
event window inside CloudTrail's 90 days; every event in the window known to the mapping.
A full read renews the baseline; an incremental run rolls it forward (its patched state, events
covered up to the run's start) but keeps the time of the last full read, which the age counts from.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from reconciler.aws import error_code
from reconciler.checkpoint import Checkpoints
from reconciler.drift_feed import baseline as store
from reconciler.drift_feed.events import RETENTION_SECONDS, read_feed
from reconciler.drift_feed.mapping import AREA, Touch, touches
from reconciler.drift_feed.refresh import Refreshed, Refresher, refreshers
from reconciler.engine import Engine, TargetRun
from reconciler.fingerprint import canonical
from reconciler.plan import Plan

log = structlog.get_logger("reconciler.drift_feed")

DAY = 24 * 3600.0
DEFAULT_MAX_AGE = 7 * DAY
# CloudTrail delivers an event "within an average of about 5 minutes of an API call" and does not
# guarantee it: the window reaches this far before the baseline's cover, three times the average.
DEFAULT_OVERLAP = 15 * 60.0
# Keep the window start this far inside the 90-day retention (events age out while we page).
RETENTION_MARGIN = 3600.0
UNKNOWN_SHOWN = 5


@dataclass
class FeedOptions:
    store: Checkpoints | None = None
    full: bool = False
    max_age: float = DEFAULT_MAX_AGE
    overlap: float = DEFAULT_OVERLAP


@dataclass
class DriftMode:
    """What a drift of one target read, for its report."""

    mode: str  # "full" | "incremental"
    reason: str
    baseline_full_read: float | None = None
    window_start: float | None = None
    events: int = 0
    event_pages: int = 0
    event_names: dict[str, int] = field(default_factory=dict)
    reread: dict[str, str] = field(default_factory=dict)  # area -> what was read again
    baseline_saved: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "reason": self.reason,
            "baseline_full_read": _iso(self.baseline_full_read), "window_start": _iso(self.window_start),
            "events": self.events, "event_pages": self.event_pages, "event_names": dict(sorted(self.event_names.items())),
            "covered": dict(sorted(self.reread.items())), "baseline_saved": self.baseline_saved,
        }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DriftFeed:
    def __init__(self, options: FeedOptions, wall: Callable[[], float] = time.time) -> None:
        self.options = options
        self.wall = wall

    def plan(self, engine: Engine, run: TargetRun) -> Plan:
        started = self.wall()
        options = self.options
        if options.full:
            return self._full(engine, run, started, "--full")
        if options.store is None:
            return self._full(engine, run, started, "no baseline store: incremental drift needs --checkpoint DIR")
        target = run.target
        baseline, why = store.load(options.store, target.name, target.account_id, target.region, run.areas)
        if baseline is None:
            return self._full(engine, run, started, why)
        age = started - baseline.full_read_at
        if age > options.max_age:
            return self._full(engine, run, started, f"the last full read is {age / DAY:.1f} days old "
                                                    f"(--baseline-max-age {options.max_age / DAY:g} days)")
        window = baseline.covered_until - options.overlap
        if started - window > RETENTION_SECONDS - RETENTION_MARGIN:
            return self._full(engine, run, started, "the event window reaches past CloudTrail's 90 days")
        try:
            feed = read_feed(run.api, window)
        except (ClientError, BotoCoreError) as error:
            code = error_code(error) or type(error).__name__
            return self._full(engine, run, started, f"the CloudTrail event history could not be read ({code}); "
                                                    "the role needs cloudtrail:LookupEvents (reconciler iam-policy)")
        mode = DriftMode("incremental", "", baseline.full_read_at, window, len(feed.events), feed.pages,
                         dict(Counter(e.name for e in feed.events)))
        found: dict[str, list[Touch]] = defaultdict(list)
        unknown: Counter[str] = Counter()
        for event in feed.events:
            mapped = touches(event)
            if mapped is None:
                unknown[f"{event.service}:{event.name}"] += 1
                continue
            for touch in mapped:
                found[touch.area].append(touch)
        if unknown:
            names = ", ".join(f"{name} ×{n}" for name, n in sorted(unknown.items())[:UNKNOWN_SHOWN])
            more = f" and {len(unknown) - UNKNOWN_SHOWN} more" if len(unknown) > UNKNOWN_SHOWN else ""
            return self._full(engine, run, started, f"the change feed holds writes drift cannot map to what they change: "
                                                    f"{names}{more}", mode)
        return self._incremental(engine, run, started, baseline, found, mode)

    # Full ----------------------------------------------------------------------------------

    def _full(self, engine: Engine, run: TargetRun, started: float, reason: str, feed: DriftMode | None = None) -> Plan:
        mode = DriftMode("full", reason)
        if feed is not None:  # the feed was read before the fall-back: its calls are in the report
            mode.events, mode.event_pages, mode.event_names = feed.events, feed.event_pages, feed.event_names
        # A baseline is renewed: each area that refreshes itself keeps what its refresh needs.
        keeping = self._refreshers(run) if self.options.store is not None else {}
        for name, refresher in keeping.items():
            refresher.keep(run.areas[name])
        names = list(run.areas)
        engine.read(run, names)
        kept = {name: refresher.kept(run.areas[name]) for name, refresher in keeping.items()}
        payload = self._payload(run, started, started, kept)
        plan = engine.build_plan(run, names)
        if payload is not None and self.options.store is not None:
            self._save(payload, mode)
        plan.drift_mode = mode.to_json()
        log.info("drift.mode", target=run.name, mode="full", reason=reason)
        return plan

    # Incremental ---------------------------------------------------------------------------

    def _incremental(self, engine: Engine, run: TargetRun, started: float, baseline: store.Baseline,
                     found: dict[str, list[Touch]], mode: DriftMode) -> Plan:
        policy = store.policy_digests(run.desired)
        others_changed = policy["others"] != baseline.policy.get("others")
        # Areas that refresh themselves from the baseline (reconciler/drift_feed/refresh.py).
        refreshing = {name: r for name, r in self._refreshers(run).items() if name in baseline.lives}
        whole = []
        for name in run.areas:
            if name in refreshing:
                continue
            if name not in baseline.lives:
                whole.append(name)
                mode.reread[name] = "read whole (not in the baseline)"
            elif others_changed:
                whole.append(name)
                mode.reread[name] = "read whole (the policy changed since the baseline)"
            elif any(t.kind == AREA for t in found.get(name, [])):
                whole.append(name)
                count = sum(1 for t in found[name] if t.kind == AREA)
                mode.reread[name] = f"read whole ({count} event(s) touched it)"
            else:
                mode.reread[name] = "unchanged since the baseline: not read"
        for name in run.areas:
            if name not in whole and name not in refreshing and name in baseline.lives:
                run.lives[name] = baseline.lives[name]
                run.canonicals[name] = canonical(run.areas[name].fingerprint_data(baseline.lives[name]))

        def refresh(name: str, refresher: Refresher) -> Callable[[], Refreshed]:
            return lambda: refresher.refresh(run.api, run.areas[name], run.desired, baseline, found.get(name, []))

        tasks: list[Callable[[], Any]] = []
        if whole:
            tasks.append(lambda: engine.read(run, whole))
        tasks += [refresh(name, refresher) for name, refresher in refreshing.items()]
        results = run.api.parallel(tasks)[len(tasks) - len(refreshing):]
        kept: dict[str, Any] = {}
        for name, refreshed in zip(refreshing, results, strict=True):
            run.lives[name] = refreshed.live
            run.canonicals[name] = canonical(run.areas[name].fingerprint_data(refreshed.live))
            kept[name] = refreshed.kept
            mode.reread[name] = refreshed.description
        names = list(run.areas)
        payload = self._payload(run, baseline.full_read_at, started, kept)
        plan = engine.build_plan(run, names)
        for name, what in mode.reread.items():
            if name not in whole:
                plan.strategies[name] = f"incremental: {what}"
        self._save(payload, mode)
        plan.drift_mode = mode.to_json()
        log.info("drift.mode", target=run.name, mode="incremental", events=mode.events, pages=mode.event_pages)
        return plan

    # Baseline ------------------------------------------------------------------------------

    @staticmethod
    def _refreshers(run: TargetRun) -> dict[str, Refresher]:
        """The run's areas that refresh themselves from a baseline, by name (in the run's order)."""
        known = refreshers()
        return {name: known[name] for name in run.areas if name in known}

    def _payload(self, run: TargetRun, full_read_at: float, covered_until: float,
                 kept: dict[str, Any]) -> tuple[store.Baseline, bytes] | None:
        """The baseline as read, frozen before diffing (which may annotate live state)."""
        if self.options.store is None:
            return None
        lives = dict(run.lives)
        baseline = store.Baseline(
            target=run.name, account_id=run.target.account_id, region=run.target.region,
            full_read_at=full_read_at, covered_until=covered_until, lives=lives,
            policy=store.policy_digests(run.desired), kept=dict(kept),
            area_fingerprints=store.area_fingerprints(lives, run.areas),
        )
        return baseline, store.freeze(baseline)

    def _save(self, payload: tuple[store.Baseline, bytes] | None, mode: DriftMode) -> None:
        if payload is None or self.options.store is None:
            return
        store.save(self.options.store, *payload)
        mode.baseline_saved = True


__all__ = ["DEFAULT_MAX_AGE", "DEFAULT_OVERLAP", "DriftFeed", "DriftMode", "FeedOptions"]
