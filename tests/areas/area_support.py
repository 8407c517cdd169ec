"""Constants and helpers shared by the policy-area tests (a uniquely named module, not conftest)."""

from __future__ import annotations

from reconciler.sandbox import Sandbox

ACCOUNT = "111122223333"
REGION = "us-east-1"
START = 1_800_000_000.0


def calls(sandbox: Sandbox, operation: str) -> int:
    """How many times the sandbox answered ``operation`` so far."""
    return sum(1 for record in sandbox.calls if record.operation == operation)
