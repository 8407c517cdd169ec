"""Logs never carry a full phone number, whatever shape the event field has."""

from __future__ import annotations

import io
import json

import structlog

from reconciler.logs import configure


def test_numbers_are_masked_inside_nested_fields_of_json_logs() -> None:
    stream = io.StringIO()
    configure(log_format="json", verbosity=1, stream=stream)
    structlog.get_logger().info(
        "apply.step",
        number="+12065550123",
        numbers=["+447700900123", ("+61491570156",)],
        detail={"destination": "+33612345678", "nested": {"list": ["+4915123456789"]}},
    )
    line = stream.getvalue()
    for raw in ("+12065550123", "+447700900123", "+61491570156", "+33612345678", "+4915123456789"):
        assert raw not in line and raw[1:] not in line
    event = json.loads(line)
    assert event["number"] == "+1206555****"
    assert event["detail"]["nested"]["list"] == ["+491512345****"]
