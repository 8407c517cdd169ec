"""The CLI's edges: each user mistake or hostile input ends in one clear error line and exit 1,
never a traceback, a hang, an out-of-memory kill or a silently disabled check."""

from __future__ import annotations

import io
import json
import stat
import textwrap
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.report import plan_input
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import World

ACCOUNT = "111122223333"
REGION = "us-east-1"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
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
        """))
    (config / "opt-outs.yaml").write_text(textwrap.dedent("""
        opt_out_lists:
          - name: marketing
            mode: additive
            numbers: ["+12065550100", "+12065550101"]
        """))
    state = tmp_path / "state.json"
    Sandbox(world=World()).save(state)
    return config, state


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI, expect exit 1 with an ``error:`` line first; the error line."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 1, err
    first = err.splitlines()[0]
    assert first.startswith("error: "), err
    assert "Traceback" not in err
    return first


def test_plan_out_into_a_missing_directory_is_refused_before_anything_is_read(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, state = setup

    def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plan was computed before --out was checked")

    monkeypatch.setattr("reconciler.commands.plan.Context", no_reads)
    line = fails(capsys, "plan", "--config", str(config), "--sandbox", str(state), "--out", "/nonexistent/x.json")
    assert line == "error: /nonexistent/x.json: cannot write the plan file: directory /nonexistent does not exist"


def test_saved_plans_and_imported_numbers_files_are_private(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, state = setup
    plan_file = tmp_path / "plan.json"
    assert main(["plan", "--config", str(config), "--sandbox", str(state), "--out", str(plan_file)]) == 0
    assert stat.S_IMODE(plan_file.stat().st_mode) == 0o600
    assert main(["apply", "--config", str(config), "--sandbox", str(state), "--auto-approve"]) == 0
    out = tmp_path / "imported"
    assert main(["import", "--config", str(config), "--sandbox", str(state), "--out", str(out)]) == 0
    (numbers,) = (out / "numbers").iterdir()
    assert "+12065550100" in numbers.read_text()
    assert stat.S_IMODE(numbers.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "targets.yaml").stat().st_mode) == 0o644


def test_a_directory_as_sandbox_snapshot(setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = setup
    for command in (["apply", "--auto-approve"], ["plan"]):
        line = fails(capsys, *command, "--config", str(config), "--sandbox", str(tmp_path))
        assert line == f"error: sandbox snapshot {tmp_path} is not a regular file"


def test_import_into_an_unwritable_place_is_refused_before_reading(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, state = setup
    monkeypatch.setattr("reconciler.commands.import_.import_target", lambda *a, **k: pytest.fail("read before checking --out"))
    line = fails(capsys, "import", "--config", str(config), "--sandbox", str(state), "--out", "/proc/nope")
    assert line.startswith("error: --out /proc/nope: cannot create directory /proc/nope")


def test_endless_plan_files_are_cut_off_with_a_size_message(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, state = setup
    monkeypatch.setattr(plan_input, "MAX_PLAN_BYTES", 2 * 1024 * 1024)  # keep the test fast
    line = fails(capsys, "apply", "/dev/zero", "--config", str(config), "--sandbox", str(state), "--auto-approve")
    assert line == "error: /dev/zero: the plan file is larger than 2 MiB; refusing to read it"
    line = fails(capsys, "github", "render", "--plan", "/dev/zero")
    assert line == "error: /dev/zero: the plan file is larger than 2 MiB; refusing to read it"
    line = fails(capsys, "github", "render", "--plan", "/dev/zero", "--untrusted-fork")
    assert line == "error: /dev/zero: the plan file is larger than 8 MiB; refusing to read it"


def test_a_plan_whose_key_is_an_object_is_refused_with_where(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = setup
    plan_file = tmp_path / "plan.json"
    assert main(["plan", "--config", str(config), "--sandbox", str(state), "--out", str(plan_file)]) == 0
    document = json.loads(plan_file.read_text())
    document["plans"][0]["changes"][0]["key"] = {"evil": True}
    plan_file.write_text(json.dumps(document))
    capsys.readouterr()
    for argv in (["apply", str(plan_file), "--config", str(config), "--sandbox", str(state), "--auto-approve"],
                 ["github", "render", "--plan", str(plan_file)]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1
        assert err.startswith(f"error: {plan_file}: not a valid plan (1 error(s)):\n"
                              "  at plans/0/changes/0/key: {'evil': True} is not of type 'string'\n"), err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--max-removal-percent", "nan"), ("--max-deletion-percent", "inf"), ("--lock-timeout", "-inf"),
     ("--max-removal-percent", "NaN")],
)
def test_nan_and_infinities_are_refused(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    config, state = setup
    line = fails(capsys, "apply", "--config", str(config), "--sandbox", str(state), "--auto-approve", f"{option}={value}")
    assert line == f"error: {option} {float(value)}: not a finite number"


def test_nan_is_refused_for_the_sandbox_server_options_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert fails(capsys, "sandbox", "serve", "--latency", "nan") == "error: --latency nan: not a finite number"


def test_a_nan_rate_scale_is_refused(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, state = setup
    monkeypatch.setenv("RECONCILER_RATE_SCALE", "nan")
    line = fails(capsys, "plan", "--config", str(config), "--sandbox", str(state))
    assert line == "error: RECONCILER_RATE_SCALE='nan' is not a finite number >= 0"
