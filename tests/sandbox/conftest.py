"""Fixtures of the sandbox platform tests (wire, validation, RAM, STS, server, quotas, snapshots).

``sandbox`` is the public :class:`reconciler.sandbox.Sandbox` on a simulated clock. Every
successful response its clients receive, for every service, is checked against botocore's
output shape by an ``after-call`` hook (``tests/sandbox/shapes.py``), so no test can forget to.
"""

from __future__ import annotations

import pytest
from platform_support import START, CheckedSandbox

from reconciler.sandbox.server import start_in_thread
from reconciler.sandbox.state import Clock, World
from reconciler.sandbox.wire import Gateway


@pytest.fixture
def sandbox() -> CheckedSandbox:
    return CheckedSandbox(World(Clock(start=START, simulated=True)))


@pytest.fixture
def server():
    """A sandbox served over HTTP on loopback (the `reconciler sandbox serve` server), in a thread."""
    gateway = Gateway(World(Clock(start=START, simulated=True)))
    running, thread = start_in_thread(gateway)
    yield running
    running.shutdown()
    running.server_close()
    thread.join(timeout=5)
