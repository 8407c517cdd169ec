"""`validate` reports format and meaning errors in one run; a file given as --config gets a clear hint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.config import load_policy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    return directory


def codes(config: Path) -> list[tuple[str, int, str]]:
    policy, diagnostics = load_policy(str(config))
    assert policy is None
    return [(Path(d.file).name, d.line, d.code) for d in diagnostics]


def test_a_country_typo_and_a_schema_error_elsewhere_are_reported_together(config: Path) -> None:
    protect = config / "protect.yaml"
    protect.write_text(protect.read_text().replace("MONITOR: [NG, PK]", "MONITOR: [NG, UK]"))
    shares = config / "shares.yaml"
    shares.write_text(shares.read_text().replace(
        "  - name: sandbox-share\n",
        "  - name: sandbox-share\n    allow_external: yes\n"))
    result = subprocess.run([sys.executable, "-m", "reconciler", "validate", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "error[unknown-country]: 'UK' is not a country" in result.stdout
    assert "hint: did you mean GB (United Kingdom)?" in result.stdout
    assert "error[schema-unknown-key]: shares[0]: unknown key 'allow_external'" in result.stdout
    assert "invalid (2 errors, 0 warnings)" in result.stdout


def test_a_broken_file_does_not_cause_echo_errors_in_the_others(config: Path) -> None:
    (config / "opt-outs.yaml").write_text("opt_out_lists: 3\n")  # shares.yaml refers to shared-optouts
    assert codes(config) == [("opt-outs.yaml", 1, "schema-type")]


def test_a_policy_file_given_as_config_says_to_pass_its_directory(config: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--sandbox", "--config",
                             str(config / "protect.yaml")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "--config names the policy directory, but this is a file" in result.stderr
    assert f"pass its directory: --config {config}" in result.stderr
    assert "does not exist" not in result.stderr
