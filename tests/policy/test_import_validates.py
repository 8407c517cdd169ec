"""`reconciler validate` passes on what `reconciler import` writes (the CLI, as a user runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_validate_passes_on_an_imported_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Live state: the committed sandbox snapshot (the example policy applied to a sandbox account).
    snapshot = REPO / "sandbox" / "snapshot.json"
    out = tmp_path / "imported"
    assert main(["import", "--config", str(REPO / "config"), "--sandbox", str(snapshot), "--out", str(out)]) == 0
    capsys.readouterr()
    for fmt in ("text", "json", "github"):
        assert main(["validate", "--config", str(out), "--format", fmt]) == 0, capsys.readouterr()
        output = capsys.readouterr()
        for marker in ("error[", "::error", '"severity": "error"'):
            assert marker not in output.out
    # And what it wrote plans to zero changes against the same state.
    assert main(["plan", "--config", str(out), "--sandbox", str(snapshot), "--detailed-exitcode"]) == 0
