"""Shared helpers of the sms-voice contract tests (tests/sandbox/test_sms_*.py).

``Sandbox`` holds one world on a simulated clock; ``sandbox.client(account)`` is a real boto3
client attached in-process. Every successful response of those clients is checked against
botocore's output shape by an ``after-call`` hook, so no test can forget to.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from shapes import assert_matches_output_shape

from reconciler.sandbox.state import Clock, World
from reconciler.sandbox.wire import InProcessAdapter

OWNER = "111122223333"
CONSUMER = "444455556666"
REGION = "us-east-1"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SMS = "pinpoint-sms-voice-v2"


def _check_shape(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    if http_response.status_code == 200:
        assert_matches_output_shape(SMS, model.name, parsed)


class Sandbox:
    def __init__(self) -> None:
        self.world = World(Clock(start=START, simulated=True))
        self.adapter = InProcessAdapter(self.world)
        self.shape_checks = 0

    def session(self, account: str = OWNER, region: str = REGION) -> boto3.Session:
        session = boto3.Session(aws_access_key_id=account, aws_secret_access_key="sandbox", region_name=region)
        self.adapter.attach(session)

        def count(**kwargs: Any) -> None:
            _check_shape(**kwargs)
            self.shape_checks += 1

        session.events.register(f"after-call.{SMS}", count)
        return session

    def client(self, account: str = OWNER, region: str = REGION, validate: bool = False) -> Any:
        """A client; ``validate=False`` skips botocore's client-side checks to reach the server's."""
        config = Config(parameter_validation=validate, retries={"max_attempts": 1, "mode": "standard"})
        return self.session(account, region).client(SMS, config=config)

    def state(self, account: str = OWNER, region: str = REGION) -> Any:
        return self.world.region(account, region)

    def advance(self, seconds: float) -> None:
        self.world.clock.advance(seconds)


def error_of(excinfo: Any) -> dict[str, Any]:
    """The parsed error response of a ``pytest.raises`` for a ClientError: code and fields."""
    response = excinfo.value.response
    return {"Code": response["Error"]["Code"], **{k: v for k, v in response.items() if k not in ("Error", "ResponseMetadata")}}


def toll_free(client: Any, **extra: Any) -> dict[str, Any]:
    return client.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS", "VOICE"], NumberType="TOLL_FREE", **extra
    )


def long_code(client: Any, country: str = "GB", **extra: Any) -> dict[str, Any]:
    return client.request_phone_number(
        IsoCountryCode=country, MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="LONG_CODE", **extra
    )
