"""`github render --untrusted-fork`: the trusted workflow renders a fork's plan JSON itself.

The fork's run has no cloud credentials and its workflow may be anything the fork wrote, so its
artifact is data to check, never Markdown to post: it must be a whole plan document that passes
the plan schema and the size limits, and the comment says where it came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.cli import main
from reconciler.config.schema import schema_dir
from reconciler.report import plan_input
from reconciler.report.markdown import UNTRUSTED_FORK_BANNER

CONFIG = str(Path(__file__).resolve().parents[2] / "config")


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((schema_dir() / "plan.schema.json").read_text())
    return loaded


def real_plan(tmp_path: Path, *extra: str) -> Path:
    """The example policy planned against the built-in example account (what a fork's run uploads)."""
    out = tmp_path / "fork-plan.json"
    assert main(["plan", "--config", CONFIG, "--sandbox", "--out", str(out), *extra]) == 0
    return out


def test_the_schema_is_valid_and_real_plan_and_drift_documents_pass_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Draft202012Validator.check_schema(schema())
    validator = Draft202012Validator(schema())
    plan = json.loads(real_plan(tmp_path).read_text())
    assert plan["plans"][0]["changes"], "the example plan has changes to validate"
    assert list(validator.iter_errors(plan)) == []
    capsys.readouterr()
    assert main(["drift", "--config", CONFIG, "--sandbox", "--format", "json"]) == 2
    drift = json.loads(capsys.readouterr().out)
    assert list(validator.iter_errors(drift)) == []


def test_a_fork_plan_is_rendered_with_the_untrusted_banner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = real_plan(tmp_path)
    out = tmp_path / "comment.md"
    assert main(["github", "render", "--plan", str(plan), "--untrusted-fork", "--out", str(out)]) == 0
    comment = out.read_text()
    assert comment.startswith("## SMS policy plan\n\n" + UNTRUSTED_FORK_BANNER + "\n")
    assert "Untrusted fork" in comment and "not live AWS" in comment
    assert "change(s) in this pull request" in comment


def test_a_fork_must_send_a_whole_plan_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loose = tmp_path / "loose.json"
    loose.write_text(json.dumps({"target": "prod", "changes": []}))
    assert main(["github", "render", "--plan", str(loose), "--out", str(tmp_path / "ok.md")]) == 0  # trusted: accepted
    capsys.readouterr()
    assert main(["github", "render", "--plan", str(loose), "--untrusted-fork", "--out", str(tmp_path / "c.md")]) == 1
    err = capsys.readouterr().err
    assert "not a valid plan" in err and "'format' is a required property" in err
    assert not (tmp_path / "c.md").exists()


def test_fabricated_fields_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fork cannot smuggle Markdown in through fields the renderer would print as they are."""
    document = json.loads(real_plan(tmp_path).read_text())
    document["plans"][0]["changes"][0]["flags"] = ["<b>ok</b>"]
    document["plans"][0]["target"] = "prod\n## No changes"
    document["plans"][0]["comment_md"] = "## No changes"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["github", "render", "--plan", str(bad), "--untrusted-fork", "--out", str(tmp_path / "c.md")]) == 1
    err = capsys.readouterr().err
    assert "not a valid plan (3 error(s))" in err
    assert "at plans/0: Additional properties are not allowed ('comment_md' was unexpected)" in err
    assert "at plans/0/target:" in err and "at plans/0/changes/0/flags/0:" in err


def test_a_fork_plan_over_the_change_limit_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    plan = real_plan(tmp_path)
    count = len(json.loads(plan.read_text())["plans"][0]["changes"])
    monkeypatch.setattr(plan_input, "MAX_UNTRUSTED_CHANGES", count - 1)
    capsys.readouterr()
    assert main(["github", "render", "--plan", str(plan), "--untrusted-fork"]) == 1
    assert f"the plan holds {count:,} changes; an untrusted plan may hold at most {count - 1:,}" in capsys.readouterr().err


def test_a_fork_log_is_not_appended(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = real_plan(tmp_path)
    log = tmp_path / "log.txt"
    log.write_text("Apply complete: 0 change(s)\n")
    capsys.readouterr()
    assert main(["github", "render", "--plan", str(plan), "--untrusted-fork", "--log", str(log)]) == 1
    assert "--log cannot be combined with --untrusted-fork" in capsys.readouterr().err
