"""Adding an emergency block is appending one line to emergency.yaml, and the result validates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.areas.protect.emergency_file import EmergencyFileError, append_block, block_line
from reconciler.config import load_policy

REPO = Path(__file__).resolve().parents[2]


def test_block_line_shape() -> None:
    assert block_line("au", ["voice", "SMS"], 'pumping "INC-1"') == (
        '  - {country: AU, capabilities: [SMS, VOICE], reason: "pumping \\"INC-1\\""}'
    )
    assert block_line("NO") == "  - {country: NO}"


def test_append_to_the_example_config_is_a_one_line_change(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    before = (config / "emergency.yaml").read_text()
    append_block(config, "AU", ["SMS"], "SMS pumping, incident INC-1234")
    append_block(config, "NO")
    after = (config / "emergency.yaml").read_text()
    assert after == before + (
        '  - {country: AU, capabilities: [SMS], reason: "SMS pumping, incident INC-1234"}\n  - {country: NO}\n'
    )
    policy, diagnostics = load_policy(config)
    assert diagnostics == [] and policy is not None
    blocks = policy.desired["prod"].emergency_blocks
    assert [(b.country, b.capabilities, b.reason) for b in blocks] == [
        ("AU", ("SMS",), "SMS pumping, incident INC-1234"),
        ("NO", ("SMS", "VOICE", "MMS", "RCS"), None),
    ]


def test_append_replaces_an_empty_flow_list_and_creates_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "emergency.yaml").write_text("# note\nemergency_blocks: []  # none\n")
    append_block(tmp_path, "NG", ["SMS"])
    assert (
        tmp_path / "emergency.yaml"
    ).read_text() == "# note\nemergency_blocks:  # none\n  - {country: NG, capabilities: [SMS]}\n"
    other = tmp_path / "other"
    other.mkdir()
    append_block(other, "NG")
    assert (other / "emergency.yaml").read_text() == (
        "# yaml-language-server: $schema=../schemas/emergency.schema.json\nemergency_blocks:\n  - {country: NG}\n"
    )


def test_append_refuses_a_file_it_cannot_extend_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "emergency.yaml"
    path.write_text("emergency_blocks:\n  - {country: AU}\nextra: 1\n")
    with pytest.raises(EmergencyFileError, match="last key"):
        append_block(tmp_path, "NO")
    assert path.read_text() == "emergency_blocks:\n  - {country: AU}\nextra: 1\n"
    path.write_text("emergency_blocks: [\n")
    with pytest.raises(EmergencyFileError, match="does not parse"):
        append_block(tmp_path, "NO")
