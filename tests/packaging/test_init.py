"""`reconciler init`: a policy repository of its own, pinned to one commit of the reconciler."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

import reconciler
from reconciler import scaffold
from reconciler.cli import main

SHA = "0123456789abcdef0123456789abcdef01234567"
PIN = ["--workflow-repository", "acme/sms-policy-reconciler", "--workflow-ref", SHA]
STARTER = ["--account", "123456789012", "--region", "eu-west-1"]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_version_comes_from_one_place(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"reconciler {reconciler.__version__}\n"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and 'attr = "reconciler.__version__"' in pyproject


def test_starter_repository_validates_and_plans_against_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "policy"
    assert main(["init", str(repo), *STARTER, *PIN]) == 0
    assert sorted(tree(repo)) == [
        ".github/CODEOWNERS", ".github/rulesets/main.json", ".github/workflows/apply.yml",
        ".github/workflows/drift.yml", ".github/workflows/emergency-block.yml",
        ".github/workflows/plan-comment.yml", ".github/workflows/plan.yml", ".gitignore",
        ".pre-commit-config.yaml", "README.md", "config/emergency.yaml", "config/guardrails.yaml", "config/protect.yaml",
        "config/targets.yaml", "requirements.txt", "schemas/emergency.schema.json", "schemas/guardrails.schema.json",
        "schemas/policy.schema.json",
    ]
    targets = (repo / "config" / "targets.yaml").read_text(encoding="utf-8")
    assert 'account_id: "123456789012"' in targets and "region: eu-west-1" in targets
    json.loads((repo / ".github" / "rulesets" / "main.json").read_text(encoding="utf-8"))
    capsys.readouterr()
    assert main(["validate", "--config", str(repo / "config")]) == 0
    # The starter's first plan: make its protect configuration the account default, protected.
    assert main(["plan", "--config", str(repo / "config"), "--sandbox", "--detailed-exitcode"]) == 2
    out = capsys.readouterr().out
    assert "make prod-default the account default protect configuration" in out
    assert "turn deletion protection on for prod-default" in out


def test_init_never_overwrites_and_a_second_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "policy"
    assert main(["init", str(repo), *STARTER, *PIN]) == 0
    (repo / "config" / "protect.yaml").write_text("# ours\nprotect_configurations: []\n", encoding="utf-8")
    (repo / ".github" / "CODEOWNERS").unlink()
    before = tree(repo)
    capsys.readouterr()
    # Another pin and account: existing files still win, only the missing one is written.
    other = ["--workflow-repository", "acme/fork", "--workflow-ref", "f" * 40]
    assert main(["init", str(repo), "--account", "999999999999", "--region", "us-east-1", *other]) == 0
    out = capsys.readouterr().out
    assert "wrote    .github/CODEOWNERS" in out and "kept     config/ (it already holds a policy)" in out
    after = tree(repo)
    assert {k: v for k, v in after.items() if k != ".github/CODEOWNERS"} == before
    assert main(["init", str(repo), *STARTER, *PIN]) == 0
    assert tree(repo) == after
    assert "0 file(s) written" in capsys.readouterr().out


def test_from_account_imports_a_policy_that_plans_to_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = tmp_path / "live.json"
    assert main(["sandbox", "snapshot", "--generate", "example", "--account", "111111111111", "--out", str(snapshot)]) == 0
    repo = tmp_path / "policy"
    assert main(["init", str(repo), "--from-account", "111111111111", "--region", "us-east-1",
                 "--sandbox", str(snapshot), *PIN]) == 0
    config = repo / "config"
    assert {"targets.yaml", "protect.yaml", "opt_out_lists.yaml", "emergency.yaml"} <= {p.name for p in config.iterdir()}
    for numbers in (config / "numbers").rglob("*.txt"):
        assert stat.S_IMODE(numbers.stat().st_mode) == 0o600, numbers  # opted-out numbers: owner only
    capsys.readouterr()
    assert main(["validate", "--config", str(config)]) == 0
    assert main(["plan", "--config", str(config), "--sandbox", str(snapshot), "--detailed-exitcode"]) == 0
    assert "No changes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workflow-repository", "acme/x", "--workflow-ref", "v0.1.0"], "is not a full commit SHA"),
        (["--workflow-repository", "acme/x", "--workflow-ref", SHA.upper()], "is not a full commit SHA"),
        (["--workflow-repository", "not a repo", "--workflow-ref", SHA], "is not OWNER/NAME"),
        (["--workflow-ref", SHA], "give --workflow-repository"),
    ],
)
def test_the_pin_must_be_a_commit_of_a_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setattr(scaffold, "installed_pin", lambda: (None, None))
    monkeypatch.setattr("reconciler.commands.init.installed_pin", lambda: (None, None))
    assert main(["init", str(tmp_path / "policy"), *STARTER, *args]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "policy").exists()


def test_account_errors_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "policy"
    assert main(["init", str(repo), "--region", "us-east-1", *PIN]) == 1
    assert "give --account ACCOUNT_ID" in capsys.readouterr().err
    assert main(["init", str(repo), "--account", "12", "--region", "us-east-1", *PIN]) == 1
    assert "is not a 12-digit account id" in capsys.readouterr().err
    assert main(["init", str(repo), *STARTER, "--sandbox", *PIN]) == 1
    assert "--sandbox goes with --from-account" in capsys.readouterr().err
    assert not repo.exists()


class FakeDistribution:
    def __init__(self, direct_url: dict[str, Any] | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        ({"url": "https://github.com/acme/sms-policy-reconciler.git", "vcs_info": {"vcs": "git", "commit_id": SHA}},
         ("acme/sms-policy-reconciler", SHA)),
        ({"url": "git@github.com:acme/sms-policy-reconciler.git", "vcs_info": {"vcs": "git", "commit_id": SHA}},
         ("acme/sms-policy-reconciler", SHA)),
        ({"url": "https://files.example/sms_policy_reconciler-0.1.0-py3-none-any.whl", "archive_info": {}}, (None, None)),
        (None, (None, None)),
    ],
)
def test_the_pin_defaults_to_what_pip_recorded(
    monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, Any] | None, expected: tuple[str | None, str | None]
) -> None:
    monkeypatch.setattr(scaffold.metadata, "distribution", lambda name: FakeDistribution(direct_url))
    assert scaffold.installed_pin() == expected
