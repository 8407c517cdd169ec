"""The one place that talks to AWS: sessions, clients, retries, rate limits and call logging.

Areas never create boto3 clients themselves; they go through :class:`Api`:

    api.call("pinpoint-sms-voice-v2", "DescribeProtectConfigurations", ProtectConfigurationIds=[...])
    for page in api.pages("pinpoint-sms-voice-v2", "DescribeOptedOutNumbers", OptOutListName="x"):
        ...

so that rate limiting per operation, retries, logging (without credentials or personal data)
and the IAM declarations all live in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config


class Api:
    """Calls AWS operations by their API names through cached boto3 clients."""

    def __init__(self, session: boto3.Session, region: str) -> None:
        self.session = session
        self.region = region
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            client = self.session.client(
                service,
                region_name=self.region,
                # Retries are ours (see apply): botocore's standard mode would double-count them.
                config=Config(retries={"max_attempts": 1, "mode": "standard"}),
            )
            self._clients[service] = client
        return client

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        client = self.client(service)
        method = getattr(client, xform_name(operation))
        response: dict[str, Any] = method(**params)
        response.pop("ResponseMetadata", None)
        return response

    def pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Follow NextToken to the last page."""
        token: str | None = None
        while True:
            if token:
                params["NextToken"] = token
            page = self.call(service, operation, **params)
            yield page
            token = page.get("NextToken")
            if not token:
                return
