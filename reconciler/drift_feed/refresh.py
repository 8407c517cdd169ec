"""How an area brings its part of the baseline up to date from the events, instead of being read whole.

By default an incremental drift keeps an area's baseline when no event touched it and reads it
whole otherwise (or when the policy changed since the baseline). An area whose whole read is too
dear for that (a million-entry opt-out list) declares a :class:`Refresher` as ``REFRESHER`` in its
feed module (``reconciler/areas/<area>/feed.py``); the drift then never reads it whole itself, and:

* a full drift that keeps a baseline calls :meth:`Refresher.keep` before the read and
  :meth:`Refresher.kept` after it: what the area kept beyond its live state (every entry of each
  list read whole) goes into the baseline (``Baseline.kept``);
* the policy it reads by is digested apart (:meth:`Refresher.policy_digests`, over the ``Desired``
  fields it names in ``policy_fields``), so a change to it does not count as a change to the rest
  of the policy (which re-reads every other area whole);
* an incremental drift calls :meth:`Refresher.refresh` with the baseline and the touches its feed
  mapped: the live state a full read would return now, what to keep for the next run, and what was
  read again (for the report).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from reconciler.config.model import Desired

if TYPE_CHECKING:
    from reconciler.areas.base import Area
    from reconciler.aws import Api
    from reconciler.drift_feed.baseline import Baseline
    from reconciler.drift_feed.mapping import Touch


@dataclass
class Refreshed:
    live: Any  # the area's live state as a full read would return it now
    kept: Any  # what the area keeps in the next baseline (``Refresher.kept``'s kind)
    description: str  # what was read again, e.g. "12 touched number(s) in 2 list(s) looked up (3 call(s))"


class Refresher(ABC):
    """An area's incremental read (see the module docstring)."""

    # The ``Desired`` fields ``policy_digests`` covers: left out of the digest of the rest of the policy.
    policy_fields: ClassVar[tuple[str, ...]] = ()

    def policy_digests(self, desired: Desired) -> dict[str, str]:
        """Digests of what the area reads by (keys unique across areas, stored in ``Baseline.policy``)."""
        return {}

    def keep(self, area: Area) -> None:
        """Before a full read that renews the baseline: have ``area`` keep what ``refresh`` needs."""
        return  # by default an area keeps nothing beyond its live state

    def kept(self, area: Area) -> Any:
        """After that read: what ``area`` kept (stored in the baseline), and stop keeping it."""
        return None

    @abstractmethod
    def refresh(self, api: Api, area: Area, desired: Desired, baseline: Baseline, touches: Sequence[Touch]) -> Refreshed:
        """The baseline's state of this area brought up to date with ``touches`` (its own, from this
        run's events), for the policy as it is now: what a full read would return."""


@cache
def refreshers() -> dict[str, Refresher]:
    """Every area's ``REFRESHER``, by area name (areas without one are read whole when touched)."""
    from reconciler.drift_feed.mapping import feed_modules

    found: dict[str, Refresher] = {}
    for name, module in feed_modules().items():
        refresher = getattr(module, "REFRESHER", None)
        if refresher is not None:
            assert isinstance(refresher, Refresher), f"{module.__name__}.REFRESHER is not a Refresher"
            found[name] = refresher
    return found


__all__ = ["Refreshed", "Refresher", "refreshers"]
