"""The emergency blocks file, ``<config>/emergency.yaml``: the blocks it holds, and how a block is
added to it (``reconciler block``, block_command.py).

Shape (schemas/emergency.schema.json)::

    emergency_blocks:
      - {country: AU, capabilities: [SMS], reason: "SMS pumping, incident INC-1234"}

One flow mapping per line, ``emergency_blocks`` the file's last key, null (nothing after the colon)
when empty: adding a block is appending one line, so an emergency is a one-line pull request and
comments elsewhere in the file are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from reconciler.areas.protect.spec import CAPABILITIES, EmergencyBlock
from reconciler.config.edit import Document, EditError
from reconciler.config.yaml_loader import YamlMap, YamlSeq, parse_yaml

EMERGENCY_FILE = "emergency.yaml"
KEY = "emergency_blocks"


class EmergencyFileError(ValueError):
    """The emergency file is not in the shape a one-line append needs."""


def covered_capabilities(blocks: Iterable[EmergencyBlock], country: str) -> set[str]:
    """The capabilities on which ``country`` is already blocked by emergency blocks."""
    covered: set[str] = set()
    for block in blocks:
        if block.country == country:
            covered.update(block.capabilities)
    return covered


def read_emergency_blocks(config_dir: str | Path) -> list[EmergencyBlock]:
    """The blocks in ``<config_dir>/emergency.yaml`` (empty when the file is missing or empty).

    Blocks limited to some targets (``targets:``) are left out: they do not block everywhere.
    """
    path = Path(config_dir) / EMERGENCY_FILE
    if not path.exists():
        return []
    try:
        doc = Document.load(path)
    except Exception as error:  # ruamel raises many error types; all mean "cannot parse"
        raise EditError(f"{path}: cannot parse: {error}") from None
    entries = (doc.data or {}).get(KEY) or []
    blocks = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("targets"):
            continue
        caps = tuple(str(c) for c in entry.get("capabilities") or CAPABILITIES)
        blocks.append(EmergencyBlock(country=str(entry.get("country")), capabilities=caps, reason=entry.get("reason")))  # type: ignore[arg-type]
    return blocks


def block_line(country: str, capabilities: Sequence[str] | None = None, reason: str | None = None) -> str:
    """The YAML line for one block, e.g. ``  - {country: AU, capabilities: [SMS], reason: "x"}``."""
    country = country.strip().upper()
    parts = [f"country: {country}"]
    if capabilities:
        wanted = {c.strip().upper() for c in capabilities}
        parts.append(f"capabilities: [{', '.join(c for c in CAPABILITIES if c in wanted)}]")
    if reason:
        # A JSON string is a valid YAML double-quoted scalar, escapes included.
        parts.append(f"reason: {json.dumps(reason, ensure_ascii=False)}")
    return "  - {" + ", ".join(parts) + "}"


# A new emergency file names its schema for editors (the repository layout: config/ beside schemas/).
NEW_FILE = f"# yaml-language-server: $schema=../schemas/emergency.schema.json\n{KEY}:\n"


def append_block(
    config_dir: str | Path,
    country: str,
    capabilities: Sequence[str] | None = None,
    reason: str | None = None,
) -> Path:
    """Append one block line to ``<config_dir>/emergency.yaml`` (created when missing).

    Raises :class:`EmergencyFileError` when the file does not parse or ``emergency_blocks`` is not
    its last key; the file is left unchanged then. Validate the result with ``load_policy``.
    """
    path = Path(config_dir) / EMERGENCY_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else NEW_FILE
    loaded = parse_yaml(str(path), text)
    data = loaded.data
    if loaded.diagnostics or not isinstance(data, YamlMap) or KEY not in data:
        raise EmergencyFileError(f"{path} does not parse as a mapping with '{KEY}'")
    if list(data)[-1] != KEY:
        raise EmergencyFileError(f"'{KEY}' must be the last key of {path} to append a line")
    value = data[KEY]
    if isinstance(value, YamlSeq) and len(value) == 0:
        # ``emergency_blocks: []``: drop the empty flow list so lines can follow.
        lines = text.splitlines(keepends=True)
        mark = data.value_marks[KEY]
        row = lines[mark.line - 1]
        lines[mark.line - 1] = (
            row[: mark.column - 1].rstrip() + row[mark.column - 1 :].replace("[]", "", 1).rstrip() + "\n"
        )
        text = "".join(lines)
    elif value is not None and not isinstance(value, YamlSeq):
        raise EmergencyFileError(f"'{KEY}' in {path} is not a list")
    if not text.endswith("\n"):
        text += "\n"
    updated = text + block_line(country, capabilities, reason) + "\n"
    check = parse_yaml(str(path), updated)
    blocks = check.data.get(KEY) if isinstance(check.data, YamlMap) else None
    if (
        check.diagnostics
        or not isinstance(blocks, YamlSeq)
        or len(blocks) != (len(value) if value else 0) + 1
    ):
        raise EmergencyFileError(f"appending to {path} would not add exactly one block; edit it by hand")
    path.write_text(updated, encoding="utf-8")
    return path
