"""The files of a new policy repository (``reconciler init``), rendered from the templates
beside this module: thin workflows that call this project's reusable workflows pinned to one
commit, CODEOWNERS and a branch ruleset, a pre-commit configuration, a README, the pinned
reconciler, the JSON Schemas for editors, and (unless imported from an account) a commented
starter policy.

Templates are stored under ``templates/`` with ``dot-`` for a leading dot (``dot-github`` is
``.github``), because package-data globs skip hidden files. Placeholders are ``@NAME@``, which
never collide with GitHub's ``${{ }}`` expressions.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from reconciler import __version__

DISTRIBUTION = "sms-policy-reconciler"
SHA = re.compile(r"[0-9a-f]{40}")
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
GITHUB_URL = re.compile(r"(?:https://|git@|ssh://git@)github\.com[/:]([^/]+/[^/]+?)(?:\.git)?/?$")
CONFIG_PREFIX = "config/"


@dataclass(frozen=True)
class Pin:
    """The reconciler the scaffolded repository runs: a GitHub repository and a commit of it."""

    repository: str
    ref: str


@dataclass(frozen=True)
class Target:
    name: str
    account_id: str
    region: str


def _templates() -> dict[str, str]:
    """Destination path -> template text."""
    root = resources.files(__package__).joinpath("templates")
    found: dict[str, str] = {}

    def walk(node: resources.abc.Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            name = "." + child.name[len("dot-"):] if child.name.startswith("dot-") else child.name
            if child.is_dir():
                walk(child, f"{prefix}{name}/")
            elif not name.endswith((".pyc", ".py")):
                found[f"{prefix}{name}"] = child.read_text(encoding="utf-8")

    walk(root, "")
    return found


def render(pin: Pin, target: Target, starter: bool) -> dict[str, str]:
    """Relative path -> content of every file ``init`` writes (the starter policy only if asked)."""
    values = {
        "REPOSITORY": pin.repository,
        "REF": pin.ref,
        "VERSION": f"v{__version__}",
        "TARGET": target.name,
        "ACCOUNT": target.account_id,
        "REGION": target.region,
    }
    files: dict[str, str] = {}
    for path, text in _templates().items():
        if path.startswith(CONFIG_PREFIX) and not starter:
            continue
        files[path] = re.sub(r"@([A-Z]+)@", lambda m: values.get(m.group(1), m.group(0)), text)
    schemas = resources.files("reconciler").joinpath("schemas")
    for name in ("policy.schema.json", "emergency.schema.json", "guardrails.schema.json"):
        files[f"schemas/{name}"] = schemas.joinpath(name).read_text(encoding="utf-8")
    return dict(sorted(files.items()))


def check_pin(repository: str, ref: str) -> list[str]:
    """What is wrong with a pin (empty: nothing)."""
    problems = []
    if not REPOSITORY.fullmatch(repository):
        problems.append(f"--workflow-repository {repository!r} is not OWNER/NAME")
    if not SHA.fullmatch(ref):
        problems.append(
            f"--workflow-ref {ref!r} is not a full commit SHA (40 lowercase hex digits); "
            "tags and branches can move, so workflows are pinned to commits"
        )
    return problems


def installed_pin() -> tuple[str | None, str | None]:
    """The repository and commit this reconciler was installed from, when pip recorded them
    (PEP 610 ``direct_url.json``): ``pip install git+https://github.com/OWNER/NAME@SHA`` records
    both; an install from a local git checkout gives its ``HEAD`` and its ``origin`` remote."""
    try:
        recorded = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None, None
    if not recorded:
        return None, None
    try:
        direct = json.loads(recorded)
    except json.JSONDecodeError:
        return None, None
    url = str(direct.get("url", ""))
    vcs = direct.get("vcs_info") or {}
    if vcs.get("vcs") == "git":
        match = GITHUB_URL.search(url.removeprefix("git+"))
        return (match.group(1) if match else None), vcs.get("commit_id")
    if url.startswith("file://"):
        return _git_checkout_pin(Path(url.removeprefix("file://")))
    return None, None


def _git_checkout_pin(path: Path) -> tuple[str | None, str | None]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    origin = git("remote", "get-url", "origin")
    match = GITHUB_URL.search(origin or "")
    return (match.group(1) if match else None), git("rev-parse", "HEAD")
