"""The verified baseline an incremental drift starts from, kept in the checkpoint store.

What it holds (for one target): the live state every area read in the last full drift (or the
last incremental one, which patched it: see ``covered_until``), the time that full read *started*
(writes during a three-hour read are in the next run's event window), the time up to which events
are folded in, what the policy asked for when it was read (an area read differently for another
policy must be read again), what each area that refreshes itself kept beyond its live state
(:mod:`.refresh`: the opt-out area keeps every entry of each list read whole, so a number written
or deleted since is patched exactly, the entry count and the end-user opt-outs included), and the
live-state fingerprints, checked again when it is loaded.

Where: the ``--checkpoint`` directory, which the drift workflow keeps in the Actions cache and
restores by prefix, so the next night's run finds it. It holds opted-out numbers, so it is sealed
like a checkpoint (Fernet with a key derived from ``RECONCILER_PLAN_KEY``: encrypted and
authenticated). The live state is serialised with :mod:`pickle`: only a holder of the plan key can
produce a payload that decrypts, and a payload from another reconciler version (or one that does
not load or match its fingerprints) is discarded and the drift reads in full.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import structlog

from reconciler import __version__
from reconciler.checkpoint import Checkpoints
from reconciler.config.model import Desired
from reconciler.drift_feed.refresh import refreshers
from reconciler.fingerprint import canonical, digest_bytes, fingerprint

log = structlog.get_logger("reconciler.drift_feed")

FORMAT = 2  # 2: what areas keep is ``kept`` by area (was the opt-out lists' ``entries``)


@dataclass
class Baseline:
    target: str
    account_id: str
    region: str
    full_read_at: float  # when the last full read started (unix seconds)
    covered_until: float  # events from before this are folded into ``lives``
    lives: dict[str, Any]  # area -> live state as its read returned it
    policy: dict[str, str]  # what the policy asked the areas to read (``policy_digests``)
    kept: dict[str, Any] = field(default_factory=dict)  # area -> what its Refresher kept (refresh.py)
    area_fingerprints: dict[str, str] = field(default_factory=dict)
    version: str = __version__
    format: int = FORMAT


def policy_digests(desired: Desired) -> dict[str, str]:
    """What the reads depend on: each refreshing area's own digests of the fields it reads by
    (:meth:`~reconciler.drift_feed.refresh.Refresher.policy_digests`), and the rest of the policy
    as one digest (``others``), which every other area is read by."""
    digests: dict[str, str] = {}
    own: dict[str, Any] = {}
    for refresher in refreshers().values():
        digests.update(refresher.policy_digests(desired))
        own.update(dict.fromkeys(refresher.policy_fields, ()))
    digests["others"] = fingerprint(dataclasses.replace(desired, **own))
    return digests


def scope(target: str, account_id: str, region: str) -> str:
    return f"drift-baseline|v{FORMAT}|{target}|{account_id}|{region}"


def area_fingerprints(lives: dict[str, Any], areas: dict[str, Any]) -> dict[str, str]:
    return {name: digest_bytes(canonical(areas[name].fingerprint_data(live))) for name, live in lives.items()}


def freeze(baseline: Baseline) -> bytes:
    """The baseline's bytes now: live state is frozen before diffing may annotate it."""
    return pickle.dumps(baseline, protocol=pickle.HIGHEST_PROTOCOL)


def save(store: Checkpoints, baseline: Baseline, payload: bytes) -> None:
    store.save_document(scope(baseline.target, baseline.account_id, baseline.region), payload)
    log.info("baseline.saved", target=baseline.target, areas=sorted(baseline.lives),
             full_read_at=round(baseline.full_read_at), covered_until=round(baseline.covered_until))


def load(store: Checkpoints, target: str, account_id: str, region: str, areas: dict[str, Any]) -> tuple[Baseline | None, str]:
    """The stored baseline and "", or None and why there is none usable."""
    payload = store.load_document(scope(target, account_id, region))
    if payload is None:
        return None, "no baseline in the checkpoint store"
    try:
        baseline = pickle.loads(payload)  # authenticated with the plan key (see module docstring)
    except Exception as error:  # any failure to load means: read in full
        return None, f"the stored baseline does not load ({type(error).__name__})"
    if not isinstance(baseline, Baseline) or baseline.format != FORMAT or baseline.version != __version__:
        return None, "the stored baseline was made by another reconciler version"
    known = {name: area for name, area in areas.items() if name in baseline.lives}
    try:
        again = area_fingerprints({n: baseline.lives[n] for n in known}, known)
    except Exception as error:
        return None, f"the stored baseline does not fit this reconciler ({type(error).__name__})"
    if any(again[n] != baseline.area_fingerprints.get(n) for n in again):
        return None, "the stored baseline does not match its own fingerprints"
    return baseline, ""


__all__ = ["Baseline", "freeze", "load", "policy_digests", "save", "scope"]
