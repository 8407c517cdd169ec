"""Policy areas. Each module defines one :class:`~reconciler.areas.base.Area` and registers it.

Adding a policy area = one module here (plus its schema fragment); the engine iterates over
``registry()`` for reads, diffs, apply steps, rate limits and the IAM policy.
"""
