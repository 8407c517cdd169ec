"""Broken configurations that cannot live in the corpus: big files, symlinks, unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.areas.opt_outs import policy as opt_outs_policy
from reconciler.config import load_policy
from reconciler.config.yaml_loader import MAX_YAML_BYTES

from .conftest import TARGETS, reported


def test_missing_directory(tmp_path: Path) -> None:
    policy, diagnostics = load_policy(tmp_path / "nope")
    assert policy is None
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("config-dir", 1, 1)]


def test_directory_without_policy_files(config_dir: Path) -> None:
    (config_dir / "notes.txt").write_text("not a policy\n")
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert [d.code for d in diagnostics] == ["config-dir"]


def test_policy_file_over_the_size_limit(config_dir: Path) -> None:
    (config_dir / "policy.yaml").write_text(TARGETS)
    (config_dir / "big.yaml").write_text("# " + "x" * MAX_YAML_BYTES + "\n")
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["big.yaml:1:1: error[file-too-large]"]


def test_unreadable_policy_file(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (config_dir / "policy.yaml").write_text(TARGETS)
    real = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "policy.yaml":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["policy.yaml:1:1: error[file-unreadable]"]
    assert "Permission denied" in diagnostics[0].message


OPT_OUT = TARGETS + "opt_out_lists:\n  - name: l\n    numbers_file: {path}\n"


def test_numbers_file_symlink_out_of_the_directory(config_dir: Path) -> None:
    outside = config_dir.parent / "secret.txt"
    outside.write_text("+12065550100\n")
    (config_dir / "numbers.txt").symlink_to(outside)
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="numbers.txt"))
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["policy.yaml:7:19: error[numbers-file-escape]"]
    assert "symlink" in diagnostics[0].message


def test_numbers_file_symlinked_directory_out_of_the_directory(config_dir: Path) -> None:
    outside = config_dir.parent / "elsewhere"
    outside.mkdir()
    (outside / "n.txt").write_text("+12065550100\n")
    (config_dir / "numbers").symlink_to(outside)
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="numbers/n.txt"))
    _, diagnostics = load_policy(config_dir)
    assert reported(config_dir, diagnostics) == ["policy.yaml:7:19: error[numbers-file-escape]"]


def test_numbers_file_symlink_inside_the_directory_is_fine(config_dir: Path) -> None:
    (config_dir / "numbers").mkdir()
    (config_dir / "numbers" / "real.txt").write_text("+12065550100\n")
    (config_dir / "link.txt").symlink_to(Path("numbers") / "real.txt")
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="link.txt"))
    policy, diagnostics = load_policy(config_dir)
    assert diagnostics == []
    assert policy is not None
    assert policy.desired["prod"].opt_out_lists[0].numbers == ("+12065550100",)


def test_numbers_file_dot_dot_that_stays_inside_is_fine(config_dir: Path) -> None:
    (config_dir / "a").mkdir()
    (config_dir / "n.txt").write_text("+12065550100\n")
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="a/../n.txt"))
    policy, diagnostics = load_policy(config_dir)
    assert diagnostics == [] and policy is not None


def test_numbers_file_not_utf8(config_dir: Path) -> None:
    (config_dir / "n.txt").write_bytes(b"+12065550100\n+1206555\xff0101\n")
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["n.txt:2:9: error[file-not-utf8]"]


def test_numbers_file_over_the_size_limit(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opt_outs_policy, "MAX_NUMBERS_FILE_BYTES", 100)
    (config_dir / "n.txt").write_text("".join(f"+1206555{i:04d}\n" for i in range(100)))
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    _, diagnostics = load_policy(config_dir)
    assert reported(config_dir, diagnostics) == ["policy.yaml:7:19: error[file-too-large]"]


def test_many_bad_numbers_are_capped_with_a_summary(config_dir: Path) -> None:
    (config_dir / "n.txt").write_text("".join(f"+1206555{i:03d}\n" for i in range(200)))
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    _, diagnostics = load_policy(config_dir)
    in_file = [d for d in diagnostics if d.file.endswith("n.txt")]
    summary = [d for d in diagnostics if d.file.endswith("policy.yaml")]
    assert len(in_file) == opt_outs_policy._MAX_FILE_ISSUES
    assert [(d.code, d.line) for d in summary] == [("invalid-phone-number", 7)]
    assert "150 more invalid numbers" in summary[0].message and "200 in total" in summary[0].message


def test_opted_out_numbers_are_masked_in_diagnostics(config_dir: Path) -> None:
    (config_dir / "n.txt").write_text("+12065550100\n+12065550100\n+120655512\n")
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    _, diagnostics = load_policy(config_dir)
    assert len(diagnostics) == 2
    for diagnostic in diagnostics:
        assert "+12065550100" not in diagnostic.message and "+120655512" not in diagnostic.message
        assert "****" in diagnostic.message


def test_unreadable_numbers_file(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (config_dir / "n.txt").write_text("+12065550100\n")
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    real = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "n.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    _, diagnostics = load_policy(config_dir)
    assert reported(config_dir, diagnostics) == ["policy.yaml:7:19: error[file-unreadable]"]


def test_malformed_opted_out_numbers_are_masked_however_written(config_dir: Path) -> None:
    """A mistyped opted-out number is as personal as a valid one: every echo of it is masked."""
    written = ['"+1 206 555 0142"', '"12065550143"', "12065550144", '"+1 (206) 555-0145"', "447700900146"]
    items = "".join(f"      - {text}\n" for text in written)
    (config_dir / "policy.yaml").write_text(TARGETS + f"opt_out_lists:\n  - name: l\n    numbers:\n{items}")
    _, diagnostics = load_policy(config_dir)
    assert reported(config_dir, diagnostics) == [
        "policy.yaml:10:9: error[unquoted-number]",
        "policy.yaml:11:9: error[schema-pattern]",
        "policy.yaml:12:9: error[unquoted-number]",
        "policy.yaml:8:9: error[schema-pattern]",
        "policy.yaml:9:9: error[schema-pattern]",
    ]
    text = "\n".join(f"{d.message} {d.hint}" for d in diagnostics)
    for last_four in ("0142", "0143", "0144", "0145", "0146"):
        assert last_four not in text, text
    assert "'+1 206 555 ****'" in text and "'+1 (206) 555-****'" in text and "44770090****" in text


def test_numbers_file_of_one_huge_line_is_refused_at_once(config_dir: Path) -> None:
    (config_dir / "n.txt").write_text("+1" + "2" * (4 * 1024 * 1024))
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["n.txt:1:1: error[invalid-phone-number]"]
    assert "4,194,306 bytes" in diagnostics[0].message and "one E.164 number per line" in diagnostics[0].message
    assert len(diagnostics[0].message) < 200


def test_a_stray_huge_line_among_numbers_is_reported_at_its_line(config_dir: Path) -> None:
    lines = [f"+1206555{i:04d}" for i in range(100, 2100)]
    lines.insert(1500, "x" * 1_500_000)
    (config_dir / "n.txt").write_text("\n".join(lines) + "\n")
    (config_dir / "policy.yaml").write_text(OPT_OUT.format(path="n.txt"))
    _, diagnostics = load_policy(config_dir)
    assert reported(config_dir, diagnostics) == ["n.txt:1501:1: error[invalid-phone-number]"]
    assert len(diagnostics[0].message) < 200
