"""A faithful, stateful emulator of the pinpoint-sms-voice-v2, RAM and STS APIs (and CloudTrail's event history).

Attach it to a boto3 session in-process (:class:`Sandbox`) or serve it over HTTP
(``reconciler sandbox serve``). See docs/sandbox.md.

    sandbox = Sandbox()
    sms = sandbox.session(account_id="111122223333").client("pinpoint-sms-voice-v2")
    sandbox.calls  # [CallRecord(service, operation, account, region, time, error), ...]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.sandbox.faults import Faults, Latency
from reconciler.sandbox.quotas import Quotas
from reconciler.sandbox.state import DEFAULT_ACCOUNT, DEFAULT_REGION, Clock, World
from reconciler.sandbox.wire import CallRecord, Gateway, InProcessAdapter

__all__ = ["CallRecord", "Clock", "Faults", "Latency", "Quotas", "Sandbox", "World"]

# Any secret works: the sandbox identifies callers by access key id and does not check signatures.
SANDBOX_SECRET = "sandbox-secret-access-key"


class Sandbox:
    """One emulated AWS: a :class:`World` plus the request pipeline, attachable to boto3 sessions."""

    def __init__(
        self,
        world: World | None = None,
        quotas: Quotas | None = None,
        faults: Faults | None = None,
        latency: Latency | float | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.world = world or World()
        if isinstance(latency, int | float):
            latency = Latency(float(latency))
        self.gateway = Gateway(
            self.world, quotas=quotas, faults=faults, latency=latency, time_scale=time_scale
        )
        self._adapter = InProcessAdapter(self.world, self.gateway)

    @property
    def calls(self) -> list[CallRecord]:
        """Every call answered so far, in order (no parameters: they may hold personal data)."""
        return self.gateway.calls

    def attach(self, session: Any) -> Any:
        """Route a boto3 (or botocore) session's sms-voice, RAM, STS and CloudTrail requests to this sandbox."""
        self._adapter.attach(session)
        return session

    def session(self, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> Any:
        """A new attached ``boto3.Session`` whose access key id is ``account_id``."""
        import boto3

        session = boto3.Session(
            aws_access_key_id=account_id,
            aws_secret_access_key=SANDBOX_SECRET,
            region_name=region,
        )
        return self.attach(session)

    def client(
        self, service: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, **kwargs: Any
    ) -> Any:
        return self.session(account_id, region).client(service, **kwargs)

    @classmethod
    def from_snapshot(cls, path: str | Path, **kwargs: Any) -> Sandbox:
        from reconciler.sandbox.snapshot import load

        return cls(world=load(path, clock=kwargs.pop("clock", None)), **kwargs)

    def save(self, path: str | Path) -> None:
        from reconciler.sandbox.snapshot import save

        save(self.world, path)
