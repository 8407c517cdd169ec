"""`reconciler validate` passes on what `reconciler import` writes (the CLI, as a user runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]


# `import` lists a protect configuration's configuration sets but does not declare them under
# `configuration_sets:`, so the reference does not resolve (reconciler/commands/import_.py, render).
# strict: this starts failing, as a reminder to drop the mark, once import declares them.
@pytest.mark.xfail(strict=True, reason="import does not declare associated configuration sets")
def test_validate_passes_on_an_imported_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Live state: the committed sandbox snapshot (the example policy applied to a sandbox account).
    snapshot = REPO / "sandbox" / "snapshot.json"
    out = tmp_path / "imported"
    assert main(["import", "--config", str(REPO / "config"), "--sandbox", str(snapshot), "--out", str(out)]) == 0
    capsys.readouterr()
    for fmt in ("text", "json", "github"):
        assert main(["validate", "--config", str(out), "--format", fmt]) == 0, capsys.readouterr()
        output = capsys.readouterr()
        assert "error" not in output.out.replace('"errors": 0', "")
    # And what it wrote plans to zero changes against the same state.
    assert main(["plan", "--config", str(out), "--sandbox", str(snapshot), "--detailed-exitcode"]) == 0
