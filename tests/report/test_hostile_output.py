"""Hostile names through every output channel: nothing an attacker wrote in AWS or in a file
reaches a terminal, a CI log, a comment or an issue unescaped or unmasked.

The hostile text holds a newline followed by a GitHub workflow command (the runner executes
``::error …::`` at the start of any log line), ANSI/OSC escapes, a carriage return, HTML, an
@mention and a phone number. It enters as a protect configuration's ``Name`` tag (read from
AWS, reported as unmanaged) and as an emergency block's reason (read from a policy file).
Before reconciler.report.escape, the text plan printed the name raw: a workflow command in CI.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.report.escape import (
    control,
    json_text,
    log_text,
    markdown_code,
    markdown_text,
    neutralise_commands,
)
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import World

ACCOUNT = "111122223333"
REGION = "us-east-1"
SMS = "pinpoint-sms-voice-v2"
NUMBER = "+12065550123"
HOSTILE = (
    "evil\n::error title=x::y\r\n##[warning]z \x1b[2J\x1b]0;title\x07\x9b31m"
    f" <img src=x onerror=alert(1)> @octocat {NUMBER} \u202egnp.exe"
)
# A policy file's reason is the user's own text and goes into saved plans as written (apply compares
# it): the number lives in the AWS name only.
HOSTILE_REASON = HOSTILE.replace(NUMBER, "+1206555****")


def assert_terminal_safe(channel: str, text: str) -> None:
    """No control character but line breaks, no workflow command, no raw number."""
    assert text, channel
    for char in ("\x1b", "\x9b", "\x07", "\r", "\u202e"):
        assert char not in text, f"{channel}: raw {char!r} survived"
    for line in text.split("\n"):
        assert not line.lstrip().startswith(("::", "##[")), f"{channel}: workflow command line {line!r}"
    assert "2065550123" not in text, f"{channel}: unmasked number"


def assert_markdown_safe(channel: str, text: str) -> None:
    assert_terminal_safe(channel, text)
    assert "<img" not in text, f"{channel}: raw HTML"
    assert not re.search(r"(?<![`&#\w])@octocat", text), f"{channel}: live @mention"


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "targets.yaml").write_text(textwrap.dedent(f"""
        targets:
          - name: prod
            account_id: "{ACCOUNT}"
            region: {REGION}
        """))
    (config / "protect.yaml").write_text(textwrap.dedent("""
        protect_configurations:
          - name: prod
            account_default: true  # emergency blocks need one (every send path must be covered)
            rules:
              SMS:
                default: ALLOW
        """))
    (config / "emergency.yaml").write_text("emergency_blocks:\n  - country: AU\n    capabilities: [SMS]\n    reason: "
                                           + json.dumps(HOSTILE_REASON) + "\n")
    sandbox = Sandbox(world=World())
    client = sandbox.client(SMS, account_id=ACCOUNT, region=REGION)
    client.create_protect_configuration(Tags=[{"Key": "Name", "Value": HOSTILE}])
    state = tmp_path / "state.json"
    sandbox.save(state)
    return config, state


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_hostile_names_are_escaped_and_masked_on_every_channel(
    hostile: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, state = hostile
    common = ["--config", str(config), "--sandbox", str(state)]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    code, text_plan, text_logs = run(capsys, "plan", *common, "-v")
    assert code == 0
    assert "evil\\n::error title=x::y\\r\\n##[warning]z \\x1b[2J" in text_plan  # shown, escaped
    assert_terminal_safe("text plan", text_plan)
    assert_terminal_safe("console logs (-v)", text_logs)

    code, json_plan, json_logs = run(capsys, "plan", *common, "--format", "json", "--log-format", "json", "-v")
    assert code == 0
    assert_terminal_safe("JSON plan", json_plan)
    assert_terminal_safe("JSON logs", json_logs)
    document = json.loads(json_plan)
    names = [item.get("name") for item in document["plans"][0]["unmanaged"]]
    assert any(name and "evil" in name for name in names)
    assert all(NUMBER not in str(name) for name in names)  # masked in the data too, not only escaped
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json_plan, encoding="utf-8")

    code, markdown_plan, _ = run(capsys, "plan", *common, "--format", "markdown")
    assert code == 0
    assert_markdown_safe("Markdown plan", markdown_plan)

    code, drift_json, _ = run(capsys, "drift", *common, "--format", "json")
    assert code == 2
    assert_terminal_safe("drift JSON", drift_json)
    unmanaged = json.loads(drift_json)["targets"][0]["unmanaged"]
    assert unmanaged and all(NUMBER not in json.dumps(item) for item in unmanaged)

    code, drift_text, _ = run(capsys, "drift", *common)
    assert code == 2
    assert_terminal_safe("drift text", drift_text)

    code, drift_issue, _ = run(capsys, "drift", *common, "--format", "markdown")
    assert code == 2
    assert_markdown_safe("drift issue body", drift_issue)

    log = tmp_path / "apply.log"
    log.write_text(text_plan + HOSTILE + "\n", encoding="utf-8")
    comment = tmp_path / "comment.md"
    code, _, _ = run(capsys, "github", "render", "--plan", str(plan_file), "--log", str(log), "--out", str(comment))
    assert code == 0
    assert_markdown_safe("PR comment / job summary", comment.read_text(encoding="utf-8"))
    code, _, _ = run(capsys, "github", "render", "--plan", str(plan_file), "--untrusted-fork", "--out", str(comment))
    assert code == 0
    assert_markdown_safe("fork PR comment", comment.read_text(encoding="utf-8"))


def test_every_hostile_field_of_a_plan_json_is_escaped_in_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plan JSON is data an untrusted fork can write: every string in it is hostile."""
    change = {
        "action": "update", "area": "protect", "resource_type": "country-rules", "key": f"protect/{HOSTILE}/SMS",
        "summary": HOSTILE, "before": {"AU": "ALLOW"}, "after": {"AU": "BLOCK"}, "flags": ["blocks-country"],
        "phase": 1, "order": 0, "data": {"name": HOSTILE, "capability": HOSTILE, "reason": HOSTILE},
    }
    plan = {
        "target": "prod", "account_id": ACCOUNT, "region": REGION, "areas": ["protect"], "changes": [change],
        "warnings": [HOSTILE], "guard_findings": [HOSTILE], "strategies": {"protect": HOSTILE},
        "unmanaged": [{"area": "protect", "type": "protect-configuration", "id": "p-1", "name": HOSTILE}],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"plans": [plan]}), encoding="utf-8")
    out = tmp_path / "comment.md"
    assert main(["github", "render", "--plan", str(path), "--out", str(out)]) == 0
    assert_markdown_safe("rendered comment", out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("function", "channel"),
    [(log_text, "log"), (control, "control"), (markdown_text, "markdown"), (markdown_code, "code")],
)
def test_escape_functions_leave_nothing_hostile(function: object, channel: str) -> None:
    result = function(HOSTILE)  # type: ignore[operator]
    if channel == "control":
        assert "\n" not in result and "\x1b" not in result and "\\x1b" in result
        return
    (assert_markdown_safe if channel in ("markdown", "code") else assert_terminal_safe)(channel, result)


def test_json_text_escapes_what_json_leaves_raw() -> None:
    text = json_text({"name": HOSTILE})
    assert "\x9b" not in text and "\u202e" not in text and "\\u009b" in text and "\\u202e" in text
    assert json.loads(text) == {"name": HOSTILE}  # still the same data


def test_workflow_commands_are_neutralised_at_any_line_start() -> None:
    assert neutralise_commands("ok\n  ::error::x\n##[group]y\na::b") == "ok\n  \\::error::x\n\\##[group]y\na::b"


def test_the_effect_summary_escapes_names_read_from_aws_in_every_report() -> None:
    """A configuration's Name tag and an identity id reach the effect lines of every report."""
    from reconciler.plan import Plan
    from reconciler.report import json_report, markdown, text

    path = {"kind": "configuration-set", "name": HOSTILE, "configuration": f"{HOSTILE} (protect-1)"}
    effects = {
        "countries": [{"kind": "newly-reachable", "capability": "SMS", "path": path,
                       "countries": [{"code": "AF", "before": "BLOCK", "after": "ALLOW"}]}],
        "overrides": [{"configuration": HOSTILE, "country": "AF", "numbers": 2}],
        "opt_outs": [{"kind": "pool", "id": HOSTILE, "before": [HOSTILE], "after": ["Default"],
                      "end_user_opt_outs": 3, "newly_reachable": 1}],
    }
    plan = Plan("prod", [], account_id=ACCOUNT, region=REGION, effects=effects)
    assert_terminal_safe("text", text.render([plan]))
    assert "Afghanistan (AF)" in text.render([plan])
    assert_markdown_safe("markdown", markdown.render([plan]))
    assert "2065550123" not in json_report.render([plan])
