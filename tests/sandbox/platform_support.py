"""Shared helpers of the sandbox platform tests (imported by name: conftest modules are not importable)."""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from shapes import assert_matches_output_shape

from reconciler.sandbox import Sandbox

OWNER = "111122223333"
CONSUMER = "444455556666"
OUTSIDER = "777788889999"
REGION = "us-east-1"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SERVICES = ("pinpoint-sms-voice-v2", "ram", "sts", "cloudtrail")


class CheckedSandbox(Sandbox):
    """A sandbox whose clients assert every 200 response against the output shape."""

    shape_checks = 0

    def session(self, account_id: str = OWNER, region: str = REGION) -> Any:
        session = super().session(account_id, region)
        for service in SERVICES:
            session.events.register(f"after-call.{service}", self._check(service))
        return session

    def _check(self, service: str) -> Any:
        def check(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
            if http_response.status_code == 200:
                assert_matches_output_shape(service, model.name, parsed)
                CheckedSandbox.shape_checks += 1

        return check

    def raw_client(self, service: str, account_id: str = OWNER, region: str = REGION) -> Any:
        """No client-side validation and no retries: every request reaches the sandbox once."""
        config = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})
        return self.session(account_id, region).client(service, config=config)


def accept_invitations(ram: Any) -> int:
    """Accept every PENDING resource share invitation the client's account received (an account
    outside the owner's organization sees a share only after that). Returns how many."""
    pending = [
        i["resourceShareInvitationArn"]
        for page in ram.get_paginator("get_resource_share_invitations").paginate()
        for i in page["resourceShareInvitations"]
        if i["status"] == "PENDING"
    ]
    for arn in pending:
        ram.accept_resource_share_invitation(resourceShareInvitationArn=arn)
    return len(pending)


def error_of(excinfo: Any) -> dict[str, Any]:
    """The parsed error response of a ``pytest.raises(ClientError)`` block."""
    return excinfo.value.response  # type: ignore[no-any-return]
