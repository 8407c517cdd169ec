"""A sandbox served over HTTP from the test process, so CLI runs (in-process or as subprocesses
that may be killed) reach it through the standard AWS endpoint variables and its state survives
them. Every response is recorded so tests can count writes and read error messages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import scenario

from reconciler.sandbox import Faults, Sandbox
from reconciler.sandbox.protocols import RawRequest, RawResponse
from reconciler.sandbox.server import start_in_thread
from reconciler.sandbox.state import World

READ_PREFIXES = ("Describe", "List", "Get")


def is_write(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


@dataclass
class Served:
    sandbox: Sandbox
    endpoint: str
    responses: list[tuple[str, int, bytes]] = field(default_factory=list)  # (service, status, body)

    @property
    def world(self) -> World:
        return self.sandbox.world

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        return scenario.cli_env(self.endpoint, session_token=True, base=base)

    def client(self, service: str = "pinpoint-sms-voice-v2") -> Any:
        import boto3

        session = boto3.Session(
            aws_access_key_id=scenario.ACCESS_KEY_ID,
            aws_secret_access_key=scenario.SECRET_ACCESS_KEY,
            region_name=scenario.REGION,
        )
        return session.client(service, endpoint_url=self.endpoint)

    def writes(self) -> int:
        """Successful writes the sandbox has answered (its call log)."""
        return sum(1 for call in self.sandbox.calls if is_write(call.operation) and call.error is None and call.service != "sts")


@contextmanager
def serve(world: World, faults: Faults | None = None, verbose: bool = False) -> Iterator[Served]:
    sandbox = Sandbox(world=world, faults=faults)
    served = Served(sandbox, "")
    gateway = sandbox.gateway
    original = gateway.handle
    lock = threading.Lock()

    def recording(service: str, request: RawRequest) -> RawResponse:
        response = original(service, request)
        with lock:
            served.responses.append((service, response.status, response.body))
        return response

    gateway.handle = recording  # type: ignore[method-assign]
    server, thread = start_in_thread(gateway)
    server.verbose = verbose
    served.endpoint = server.endpoint
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
