"""Runs a workflow step's `run:` script the way a GitHub-hosted runner does (bash -eo pipefail,
the job's and step's `env:`, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP), so tests execute
the workflows' own scripts rather than a paraphrase of them.

Expressions (`${{ … }}`) in `env:` values are resolved from a table the test gives; an
expression the table lacks is an error, so a workflow that starts reading a new value fails the
test instead of silently getting an empty string.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as True
    return dict(document)


def step(document: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    for candidate in document["jobs"][job]["steps"]:
        if candidate.get("name") == name or candidate.get("id") == name:
            return dict(candidate)
    raise KeyError(f"no step {name!r} in job {job!r}")


@dataclass
class Runner:
    """One job's runner: a workspace, a temp dir, and the values expressions resolve to."""

    workspace: Path
    expressions: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.temp = self.workspace.parent / f"{self.workspace.name}-runner-temp"
        self.temp.mkdir(exist_ok=True)
        self.summary = self.temp / "step-summary.md"
        self.summary.touch()

    def resolve(self, value: Any) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression not in self.expressions:
                raise KeyError(f"the test gives no value for ${{{{ {expression} }}}}")
            return self.expressions[expression]

        return EXPRESSION.sub(one, str(value))

    def run(self, document: dict[str, Any], job: str, name: str) -> subprocess.CompletedProcess[str]:
        """Run the step; returns the process (check `returncode`), outputs via `outputs()`."""
        definition = step(document, job, name)
        assert "run" in definition, f"step {name!r} runs an action, not a script"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.env)
        self.output = self.temp / "github-output"
        self.output.write_text("", encoding="utf-8")
        env.update(GITHUB_OUTPUT=str(self.output), GITHUB_STEP_SUMMARY=str(self.summary), RUNNER_TEMP=str(self.temp))
        for scope in (document.get("env") or {}, document["jobs"][job].get("env") or {}, definition.get("env") or {}):
            env.update({key: self.resolve(value) for key, value in scope.items()})
        cwd = self.workspace / definition.get("working-directory", ".")
        bash = shutil.which("bash")
        assert bash
        return subprocess.run(
            [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", definition["run"]],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=240,
        )

    def outputs(self) -> dict[str, str]:
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)
