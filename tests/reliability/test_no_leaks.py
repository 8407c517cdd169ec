"""No output channel reveals an opted-out number or a credential.

A sandbox account with opt-out lists (end-user opt-outs included) is planned, applied, drifted
and re-applied through the CLI with recognisable credentials in the standard environment
variables. Every byte of every channel is scanned: plan (text, JSON, Markdown), the saved plan,
apply, drift, debug logs (console and JSON), error output, and the sandbox's own request log and
error messages. Any full opted-out number, in E.164, digits-only or national formatting, and any
credential value is a failure.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import scenario
import soakmode
from sandboxhttp import Served, serve

from reconciler.cli import main


@pytest.fixture
def served() -> Iterator[Served]:
    with serve(scenario.new_world(), verbose=True) as served:
        yield served


class Channels:
    """Everything the runs wrote, by channel name."""

    def __init__(self) -> None:
        self.outputs: dict[str, bytes] = {}

    def add(self, name: str, data: bytes | str) -> None:
        self.outputs[name] = data.encode() if isinstance(data, str) else data

    def leaks(self) -> dict[str, list[str]]:
        found = {name: scenario.leaks(data) for name, data in self.outputs.items()}
        return {name: items for name, items in found.items() if items}


def run_cli(
    channels: Channels, name: str, argv: list[str], served: Served, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> int:
    for key, value in served.env().items():
        monkeypatch.setenv(key, value)
    for key in [k for k in list(__import__("os").environ) if k.startswith("AWS_") and k not in served.env()]:
        monkeypatch.delenv(key)
    capfd.readouterr()
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    captured = capfd.readouterr()  # the sandbox server thread's request log goes to the real stderr
    channels.add(f"{name}: stdout", stdout.getvalue())
    channels.add(f"{name}: stderr", stderr.getvalue())
    channels.add(f"{name}: sandbox log", captured.err + captured.out)
    return code


def test_no_output_channel_leaks_numbers_or_credentials(
    tmp_path: Path, served: Served, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    config = scenario.write_config(tmp_path / "config")
    channels = Channels()
    plan_file = tmp_path / "plan.json"
    common = ["--config", str(config)]

    def cli(name: str, *argv: str) -> int:
        code = run_cli(channels, name, [*argv, *common], served, monkeypatch, capfd)
        outputs[name] = channels.outputs[f"{name}: stdout"].decode()[-3000:]
        return code

    outputs: dict[str, str] = {}

    assert cli("plan text -v", "plan", "-v") == 0
    assert cli("plan json -v json-logs", "plan", "--format", "json", "-v", "--log-format", "json") == 0
    assert cli("plan markdown", "plan", "--format", "markdown", "--detailed-exitcode") == 2
    assert cli("plan --out", "plan", "--out", str(plan_file), "-v", "--log-format", "json") == 0
    channels.add("saved plan", plan_file.read_bytes())
    assert cli("apply saved plan -v", "apply", str(plan_file), "--auto-approve", "-v", "--log-format", "json") == 0, outputs
    assert cli("plan after apply", "plan", "--detailed-exitcode") == 0

    # Drift: someone re-adds a number exact mode removed and deletes one the policy lists.
    sms = served.client()
    sms.put_opted_out_number(OptOutListName="marketing", OptedOutNumber=scenario.REMOVED_MANUAL[0])
    sms.delete_opted_out_number(OptOutListName="marketing", OptedOutNumber=scenario.NEW_MARKETING[0])
    for fmt in ("text", "json", "markdown"):
        assert cli(f"drift {fmt} -v", "drift", "--format", fmt, "-v") == 2
    # Re-applying must delete the re-added number again within 30 days: the sandbox refuses, as AWS
    # does, and the failure (with the sandbox's error message) is reported.
    code = cli("apply with a sandbox error -v", "apply", "--auto-approve", "-v")
    code_json = cli("apply with a sandbox error json", "apply", "--auto-approve", "-v", "--log-format", "json")
    assert code == code_json == 1
    failure = channels.outputs["apply with a sandbox error -v: stdout"].decode()
    assert "FAILED" in failure and "+1415555****" in failure, failure

    # A saved plan made stale by that drift is refused, and says why.
    assert cli("stale plan", "apply", str(plan_file), "--auto-approve") == 1
    assert b"stale" in channels.outputs["stale plan: stderr"]
    soakmode.tally("stale saved plans refused")

    # The sandbox's own error messages (what any client would log).
    errors = [body for _, status, body in served.responses if status >= 400]
    assert errors, "the scenario produced no sandbox error to scan"
    for index, body in enumerate(errors):
        document = json.loads(body) if body.startswith(b"{") else {"raw": body.decode(errors="replace")}
        message = str(document.get("message") or document.get("Message") or document)
        channels.add(f"sandbox error message {index}", message)

    soakmode.tally("output channels scanned", len(channels.outputs))
    soakmode.tally("bytes scanned", sum(len(v) for v in channels.outputs.values()))
    assert sum(len(v) for v in channels.outputs.values()) > 50_000  # debug logs were really captured
    assert channels.leaks() == {}

    # No digest material either: the opt-out watermark's digest never leaves the process (-v logged
    # 40 hex characters of it, in the TagResource parameters).
    digests = []
    for listed in sms.describe_opt_out_lists()["OptOutLists"]:
        for tag in sms.list_tags_for_resource(ResourceArn=listed["OptOutListArn"])["Tags"]:
            if tag["Key"] == "reconciler:opt-out-watermark":
                digests.append(tag["Value"].rsplit("sha256=", 1)[1])
    assert digests, "no watermark was written"
    for digest in digests:
        pieces = {digest[i : i + 12] for i in range(0, len(digest) - 12, 6)}
        carriers = sorted(name for name, data in channels.outputs.items() if any(p.encode() in data for p in pieces))
        assert carriers == [], f"watermark digest material in {carriers}"


def test_scanner_finds_what_it_looks_for() -> None:
    """The scanner itself: every form of a number and every credential is caught."""
    number = scenario.END_USER[0]
    for form in scenario.number_forms(number):
        assert scenario.leaks(f"log line {form} end"), form
    assert scenario.leaks(scenario.SECRET_ACCESS_KEY) and scenario.leaks(scenario.ACCESS_KEY_ID)
    assert scenario.leaks(scenario.SESSION_TOKEN)
    assert not scenario.leaks(number[:-4] + "****")


MALFORMED = {
    "+12065550142": '"+1 206 555 0142"',  # spaced
    "+12065550143": '"12065550143"',  # no plus
    "+12065550144": "12065550144",  # a bare YAML integer
    "+12065550145": '"+1 (206) 555-0145"',
}


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_validation_diagnostics_mask_malformed_opted_out_numbers(
    tmp_path: Path, fmt: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """A mistyped opted-out number is still personal data: diagnostics point at it, masked."""
    config = tmp_path / "config"
    config.mkdir()
    numbers = "".join(f"      - {text}\n" for text in MALFORMED.values())
    (config / "policy.yaml").write_text(
        scenario.POLICY.split("opt_out_lists:")[0] + f"opt_out_lists:\n  - name: typed\n    numbers:\n{numbers}"
    )
    (config / "numbers.txt").write_text("+1 206 555 0146\n2065550147\n")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["validate", "--config", str(config), "--format", fmt])
    output = stdout.getvalue() + stderr.getvalue()
    assert code == 1 and output.count("policy.yaml") >= len(MALFORMED), output
    found = scenario.leaks(output, [*MALFORMED, "+12065550146", "+12065550147"])
    assert found == [], f"{found}\n{output}"
