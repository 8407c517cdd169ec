"""The repository's pre-commit hook (.pre-commit-hooks.yaml), as a policy repository's developer
meets it: `pre-commit try-repo` on a commit of this repository, in a repository scaffolded by
`reconciler init`. pre-commit installs the hook (`language: python`) into its own virtualenv from
a clone of the commit, with its dependencies from the package index; a few minutes at most."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          cwd=cwd, capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip()


def try_repo(policy: Path, hook_repo: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run([PRE_COMMIT, "try-repo", str(hook_repo), "reconciler-validate", "--files", *files],
                          cwd=policy, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.timeout(1800)
def test_the_hook_passes_a_valid_policy_and_rejects_a_broken_one_with_its_line(tmp_path: Path) -> None:
    if not os.path.exists(PRE_COMMIT):
        pytest.fail("pre-commit is missing: pip install -e '.[test]'")
    hook_repo = tmp_path / "reconciler"
    git(tmp_path, "clone", "--quiet", str(REPO), str(hook_repo))  # try-repo needs the hook committed
    assert (hook_repo / ".pre-commit-hooks.yaml").is_file(), "commit .pre-commit-hooks.yaml first"
    policy = tmp_path / "policy"
    subprocess.run([sys.executable, "-m", "reconciler", "init", str(policy), "--account", "123456789012",
                    "--region", "us-east-1", "--workflow-repository", "acme/sms-policy-reconciler",
                    "--workflow-ref", git(hook_repo, "rev-parse", "HEAD")], check=True, capture_output=True, timeout=120)
    git(policy, "init", "--quiet")
    git(policy, "add", "-A")
    git(policy, "commit", "--quiet", "-m", "scaffold")
    home = tmp_path / "pre-commit-home"

    passed = try_repo(policy, hook_repo, home, "config/targets.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "reconciler validate" in passed.stdout and "Passed" in passed.stdout

    targets = policy / "config" / "targets.yaml"
    targets.write_text(targets.read_text(encoding="utf-8").replace('"123456789012"', '"12345"'), encoding="utf-8")
    failed = try_repo(policy, hook_repo, home, "config/targets.yaml")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout
    assert "::error file=config/targets.yaml,line=7,col=17,title=schema-pattern::targets[0].account_id" in failed.stdout
    assert "config: invalid (1 error" in failed.stdout

