"""Incremental drift: read the CloudTrail change feed instead of every entry of every list.

A full drift of a large account reads every opt-out list entry at 1 request/s (3.4 hours for a
million-number list). Changes made outside git are API calls, and CloudTrail's event history
records every management call for 90 days. So a full ``drift`` keeps a *baseline*: the live state
it read, when the read started, and what the policy asked for then (:mod:`.baseline`). While the
baseline is younger than ``--baseline-max-age`` (7 days) and inside CloudTrail's retention, the
next ``drift`` reads only the events since the baseline (with an overlap for CloudTrail's
delivery delay, :mod:`.events`), maps each event to the live state it may have changed
(:mod:`.mapping`, with one section per area in ``reconciler/areas/<area>/feed.py``), re-reads just
that (whole areas, or what an area's :mod:`.refresh` hook patches: opt-out list entries), and
diffs the patched state: the same report a full read gives. An event the mapping does not know
forces a full read (fail closed); so do a baseline that is too old or unusable, and ``--full``.

The documented limit: CloudTrail delivers events best-effort; a write whose event is never
delivered (or arrives later than the overlap allows) is missed by incremental runs and found by
the next full read (the weekly one in the drift workflow). End-user STOP replies are not API
calls and never appear in the feed; the reconciler never removes them, and the full read sees them.
"""
