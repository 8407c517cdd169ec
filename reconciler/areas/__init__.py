"""Policy areas. Each area is one package ``reconciler/areas/<area>/`` holding everything the area
means (policy section, live read, diff, apply, import, rendering); its ``area`` module registers
one :class:`~reconciler.areas.base.Area`. The engine iterates over ``registry()`` for reads,
diffs, apply steps, rate limits and the IAM policy. See docs/architecture.md.
"""
