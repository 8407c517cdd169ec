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


def test_with_json_logs_every_stderr_line_of_a_failed_command_is_json(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A CI job parses its log line by line: the error and its hint come as JSON objects too."""
    from pathlib import Path

    from reconciler.cli import main

    config = Path(__file__).resolve().parents[2] / "config"
    code = main(["plan", "--config", str(config), "--sandbox", "--target", "nowhere", "--log-format", "json"])
    err = capsys.readouterr().err
    assert code == 1
    events = [json.loads(line) for line in err.splitlines() if line.strip()]
    errors = [e for e in events if e["event"] == "command.error"]
    assert len(errors) == 1 and errors[0]["level"] == "error"
    assert errors[0]["message"].startswith("error: unknown target nowhere")
    assert any(e["event"] == "command.hint" for e in events)
    configure()  # back to the console format for the tests that follow
