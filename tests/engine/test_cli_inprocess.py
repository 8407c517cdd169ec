"""The CLI in-process with `--sandbox SNAPSHOT`: confirmation on a terminal, saved plans, formats."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import World

ACCOUNT = "111122223333"
REGION = "us-east-1"
SMS = "pinpoint-sms-voice-v2"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
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
            rules:
              SMS:
                default: ALLOW
                BLOCK: [AU]
                MONITOR: [NG]
        """))
    state = tmp_path / "state.json"
    Sandbox(world=World()).save(state)
    return config, state


def protect_configs(state: Path) -> list[dict[str, Any]]:
    sandbox = Sandbox.from_snapshot(state)
    configs: list[dict[str, Any]] = sandbox.client(SMS, account_id=ACCOUNT, region=REGION).describe_protect_configurations()[
        "ProtectConfigurations"
    ]
    return configs


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answers: str | None, *args: str) -> tuple[int, str, str]:
    stdin = Terminal(answers) if answers is not None else io.StringIO("")
    monkeypatch.setattr("sys.stdin", stdin)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_apply_asks_on_a_terminal_and_blocks_come_first(setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config, state = setup
    code, out, _ = run(monkeypatch, capsys, "no\n", "apply", "--config", str(config), "--sandbox", str(state))
    assert code == 1 and "Apply these blocks" in out and "Apply cancelled" in out
    assert protect_configs(state) == []
    code, out, _ = run(monkeypatch, capsys, "yes\nyes\n", "apply", "--config", str(config), "--sandbox", str(state))
    assert code == 0, out
    assert out.index("Apply these blocks") < out.index("Apply these changes") < out.index("Apply complete")
    assert len(protect_configs(state)) == 1
    code, out, _ = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state), "--detailed-exitcode")
    assert code == 0 and out.startswith("No changes")


def test_saved_plan_round_trip_and_json_is_deterministic(setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config, state = setup
    planfile = tmp_path / "plan.json"
    code, first, _ = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state),
                         "--format", "json", "--out", str(planfile))
    assert code == 0
    _, second, _ = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state), "--format", "json")
    assert first == second == planfile.read_text()
    document = json.loads(first)
    assert [c["phase"] for c in document["plans"][0]["changes"]] == [0, 0, 1]
    code, out, err = run(monkeypatch, capsys, None, "apply", str(planfile), "--config", str(config), "--sandbox", str(state),
                         "--auto-approve")
    assert code == 0, out + err
    # Applying the same saved plan again: the live state changed, so it is stale.
    code, out, err = run(monkeypatch, capsys, None, "apply", str(planfile), "--config", str(config), "--sandbox", str(state),
                         "--auto-approve")
    assert code == 1 and "stale" in err


def test_unknown_area_and_target_are_user_errors(setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config, state = setup
    code, _, err = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state), "--only", "protec")
    assert code == 1 and "unknown area protec" in err and "protect" in err
    code, _, err = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state), "--target", "dev")
    assert code == 1 and "unknown target dev" in err


def test_not_a_plan_file_is_refused_clearly(setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config, state = setup
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"format": "something-else"}')
    code, _, err = run(monkeypatch, capsys, None, "apply", str(bogus), "--config", str(config), "--sandbox", str(state),
                       "--auto-approve")
    assert code == 1 and "not a saved plan" in err


def test_verbose_json_logs_every_api_call_and_stdout_starts_with_the_summary(
    setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = setup
    (config / "opt-outs.yaml").write_text('opt_out_lists:\n  - name: marketing\n    numbers: ["+12065550123"]\n')
    code, out, err = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state),
                         "-v", "--log-format", "json", "--detailed-exitcode")
    assert code == 2
    assert out.startswith("Plan: ")  # logs go to stderr, never ahead of the summary on stdout
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    calls = [e for e in events if e["event"] == "aws.call"]
    operations = {e["operation"] for e in calls}
    assert {"GetCallerIdentity", "DescribeProtectConfigurations", "DescribeOptOutLists"} <= operations
    for event in calls:
        assert event["level"] == "debug"
        # A resource without a resource policy answers GetResourcePolicy with ResourceNotFoundException.
        expected = "ResourceNotFoundException" if event["operation"] == "GetResourcePolicy" else "ok"
        assert isinstance(event["latency_ms"], float) and event["retries"] == 0 and event["outcome"] == expected
    assert "+12065550123" not in err  # an opted-out number appears masked at most
    # Without -v the API calls stay out of the logs.
    code, out, err = run(monkeypatch, capsys, None, "plan", "--config", str(config), "--sandbox", str(state),
                         "--log-format", "json")
    assert code == 0 and out.startswith("Plan: ") and "aws.call" not in err
