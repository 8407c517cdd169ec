"""``reconciler validate`` / ``reconciler schema`` and the three diagnostic formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.config import Diagnostic, format_github, format_json, format_text

from .conftest import TARGETS

REPO = Path(__file__).resolve().parents[2]

ERROR = Diagnostic("config/a.yaml", 3, 7, "schema-enum", "error", "bad: value, 100%", "did you mean BLOCK?")
WARNING = Diagnostic("config/a.yaml", 1, 1, "protect-country-redundant", "warning", "redundant", None)


def test_text_format() -> None:
    assert format_text([ERROR, WARNING]) == (
        "config/a.yaml:1:1: warning[protect-country-redundant]: redundant\n"
        "config/a.yaml:3:7: error[schema-enum]: bad: value, 100%\n"
        "  hint: did you mean BLOCK?\n"
    )
    assert format_text([]) == ""


def test_github_format_escapes_properties_and_message() -> None:
    weird = Diagnostic("config/a,b:c.yaml", 2, 3, "yaml-syntax", "error", "line1\nline2", None)
    assert format_github([ERROR, WARNING, weird]).splitlines() == [
        "::error file=config/a%2Cb%3Ac.yaml,line=2,col=3,title=yaml-syntax::line1%0Aline2",
        "::warning file=config/a.yaml,line=1,col=1,title=protect-country-redundant::redundant",
        "::error file=config/a.yaml,line=3,col=7,title=schema-enum::bad: value, 100%25%0Ahint: did you mean BLOCK?",
    ]


def test_json_format() -> None:
    document = json.loads(format_json([ERROR, WARNING, ERROR]))
    assert document["errors"] == 1 and document["warnings"] == 1
    assert document["diagnostics"][1] == {
        "file": "config/a.yaml",
        "line": 3,
        "column": 7,
        "code": "schema-enum",
        "severity": "error",
        "message": "bad: value, 100%",
        "hint": "did you mean BLOCK?",
    }


def test_validate_example_config_as_a_user_runs_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--config", "config"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "config: valid (0 errors, 0 warnings); targets: prod\n"


def test_validate_exit_codes_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "policy.yaml").write_text(TARGETS + "prune: [dns]\n")
    assert main(["validate", "--config", str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}/policy.yaml:5:9: error[schema-enum]" in out
    assert out.rstrip().endswith("invalid (1 error, 0 warnings)")

    assert main(["validate", "--config", str(broken), "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith(
        f"::error file={broken}/policy.yaml,line=5,col=9,title=schema-enum::"
    )

    assert main(["validate", "--config", str(broken), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["errors"] == 1

    warned = tmp_path / "warned"
    warned.mkdir()
    (warned / "policy.yaml").write_text(
        TARGETS + "protect_configurations:\n  - {name: p, rules: {SMS: {ALLOW: [US]}}}\n"
    )
    assert main(["validate", "--config", str(warned)]) == 0
    out = capsys.readouterr().out
    assert "warning[protect-country-redundant]" in out and "valid (0 errors, 1 warning)" in out


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "policy"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert main(["schema"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)) == ["emergency", "guardrails", "policy"]
    assert main(["schema", "nope"]) == 1
    assert "unknown schema 'nope'" in capsys.readouterr().err
    assert main(["schema", "emergency", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(REPO / "schemas" / "emergency.schema.json")


def test_every_diagnostic_code_is_documented() -> None:
    from reconciler.config import CODES

    docs = (REPO / "docs" / "policy.md").read_text()
    assert [code for code in CODES if f"| `{code}` |" not in docs] == []
