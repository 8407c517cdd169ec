"""requirements/runtime.lock: the hash-pinned runtime dependencies the privileged CI jobs install
with ``pip install --require-hashes``. It must cover every runtime dependency in pyproject.toml
(a dependency added there but not locked would make that install fail, or worse, be skipped)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "runtime.lock"
REGENERATE = "uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/runtime.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ \\]+)(?: ;[^\\]*)? \\$")


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    current = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (Version(match.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"unexpected line in {LOCK.name}: {line!r}")
    return pins


def test_the_lock_pins_every_runtime_dependency_within_its_range_with_hashes() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = locked()
    assert dependencies
    for text in dependencies:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {LOCK.name}: regenerate it with `{REGENERATE}`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCK.name} pins {requirement.name}=={version}, outside {requirement.specifier}: regenerate it"
        )


def test_every_locked_package_carries_a_hash_and_the_readme_says_how_to_regenerate() -> None:
    pins = locked()
    assert pins
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []
    assert REGENERATE in LOCK.read_text(encoding="utf-8")
    assert REGENERATE in (REPO / "README.md").read_text(encoding="utf-8")
