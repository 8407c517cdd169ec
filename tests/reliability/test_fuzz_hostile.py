"""Hand-made hostile policies: expansion bombs, deep nesting, huge scalars, odd encodings and
paths that try to leave the configuration directory. Each ends in clean diagnostics, quickly,
in bounded memory, and names the problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soakmode
from fuzzutil import TARGETS_YAML, MiB, load_checked, write_files

OPT_OUT = TARGETS_YAML + """\
opt_out_lists:
  - name: marketing
    numbers_file: {path}
"""


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return TARGETS_YAML + "\n".join(lines) + "\n"


def merge_bomb(levels: int = 20) -> str:
    lines = ["m0: &m0 {k0: v}"]
    for level in range(1, levels + 1):
        lines.append(f"m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}], k{level}: v}}")
    return TARGETS_YAML + "\n".join(lines) + "\n"


def alias_fanout(count: int = 5_000) -> str:
    return TARGETS_YAML + "x: &x [1, 2, 3]\ny: [" + ", ".join(["*x"] * count) + "]\n"


def deep_flow(levels: int = 10_000) -> str:
    return "[" * levels + "]" * levels + "\n"


def deep_block(levels: int = 1_300) -> str:  # ~0.85 MiB: under the file size limit
    return "".join(f"{' ' * level}k{level}:\n" for level in range(levels))


def deep_sequence_block(levels: int = 900) -> str:  # ~0.8 MiB
    return "".join(f"{'  ' * level}- \n" for level in range(levels))


CASES: dict[str, tuple[dict[str, bytes | str], set[str]]] = {
    "billion-laughs": ({"policy.yaml": billion_laughs()}, {"yaml-alias-limit"}),
    "merge-key-bomb": ({"policy.yaml": merge_bomb()}, {"yaml-alias-limit"}),
    "alias-fan-out": ({"policy.yaml": alias_fanout()}, {"yaml-alias-limit"}),
    "self-referencing-alias": ({"policy.yaml": TARGETS_YAML + "x: &x [*x]\n"}, set()),
    "deep-flow-10000": ({"policy.yaml": deep_flow()}, {"yaml-too-deep"}),
    "deep-block-mapping-1300": ({"policy.yaml": deep_block()}, {"yaml-too-deep"}),
    "deep-block-sequence-900": ({"policy.yaml": deep_sequence_block()}, {"yaml-too-deep"}),
    "huge-scalar-10MiB": ({"policy.yaml": "targets: " + "x" * (10 * MiB) + "\n"}, {"file-too-large"}),
    "big-scalar-under-limit": ({"policy.yaml": TARGETS_YAML + "note: " + "x" * (MiB - 200) + "\n"}, set()),
    "long-key-under-limit": ({"policy.yaml": TARGETS_YAML + "k" * (MiB - 200) + ": 1\n"}, set()),
    "many-keys": ({"policy.yaml": TARGETS_YAML + "".join(f"k{i}: {i}\n" for i in range(5_000))}, set()),
    "utf16-bom": ({"policy.yaml": "\ufeff".encode("utf-16-le") + TARGETS_YAML.encode("utf-16-le")}, {"file-not-utf8"}),
    "utf16-be-bom": ({"policy.yaml": TARGETS_YAML.encode("utf-16")}, {"file-not-utf8"}),
    "utf32": ({"policy.yaml": TARGETS_YAML.encode("utf-32")}, {"file-not-utf8"}),
    "latin-1": ({"policy.yaml": (TARGETS_YAML + "# Société\n").encode("latin-1")}, {"file-not-utf8"}),
    "nul-bytes": ({"policy.yaml": TARGETS_YAML.encode() + b"name: a\x00b\n"}, {"yaml-syntax"}),
    "nul-in-string": ({"policy.yaml": TARGETS_YAML + 'x: "a\\0b"\n'}, set()),
    "utf8-bom": ({"policy.yaml": "\ufeff" + TARGETS_YAML}, set()),
    "lone-surrogate-escape": ({"policy.yaml": TARGETS_YAML + 'x: "\\ud800"\n'}, set()),
    "control-characters": ({"policy.yaml": TARGETS_YAML.encode() + b"x: \x1b[31m\x07\n"}, {"yaml-syntax"}),
    "python-object-tag": ({"policy.yaml": TARGETS_YAML + "x: !!python/object/apply:os.system ['true']\n"}, {"yaml-unsupported-tag"}),
    "multiple-documents": ({"policy.yaml": TARGETS_YAML + "---\n" + TARGETS_YAML}, {"yaml-multiple-documents"}),
    "yaml-directive": ({"policy.yaml": "%YAML 1.1\n---\n" + TARGETS_YAML}, set()),
    "numbers-file-parent-escape": ({"policy.yaml": OPT_OUT.format(path="../../etc/passwd")}, {"numbers-file-escape"}),
    "numbers-file-absolute": ({"policy.yaml": OPT_OUT.format(path="/etc/passwd")}, {"numbers-file-escape"}),
    "numbers-file-home": ({"policy.yaml": OPT_OUT.format(path="~/.aws/credentials")}, {"numbers-file-escape"}),
    "numbers-file-backslash": ({"policy.yaml": OPT_OUT.format(path="'..\\\\..\\\\secret'")}, {"numbers-file-escape"}),
    "numbers-file-dotdot-inside": ({"policy.yaml": OPT_OUT.format(path="lists/../../outside.txt")}, {"numbers-file-escape"}),
    "numbers-file-nul": ({"policy.yaml": OPT_OUT.format(path='"a\\0b.txt"')}, set()),
    "numbers-file-directory": ({"policy.yaml": OPT_OUT.format(path="."), "sub/x": ""}, {"numbers-file-missing"}),
    "numbers-file-binary": ({"policy.yaml": OPT_OUT.format(path="n.txt"), "n.txt": os.urandom(0) + bytes(range(256)) * 8}, set()),
    "numbers-file-latin-1": ({"policy.yaml": OPT_OUT.format(path="n.txt"), "n.txt": "+12065550100 # é\n".encode("latin-1")}, {"file-not-utf8"}),
    "numbers-file-one-huge-line": ({"policy.yaml": OPT_OUT.format(path="n.txt"), "n.txt": "+1" + "2" * (8 * MiB)}, {"invalid-phone-number"}),
    "numbers-file-long-path": ({"policy.yaml": OPT_OUT.format(path="a" * 5000)}, set()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_policy_ends_in_clean_diagnostics(tmp_path: Path, name: str) -> None:
    files, expected_codes = CASES[name]
    outcome = load_checked(write_files(tmp_path / "config", files), seconds=20, max_peak=96 * MiB)
    soakmode.tally("hostile inputs (hand-made)")
    assert outcome.codes >= expected_codes, [str(d) for d in outcome.diagnostics]
    if name.startswith(("numbers-file", "utf16", "utf32", "latin", "nul-bytes", "huge", "billion", "merge", "alias", "deep")):
        assert outcome.policy is None, f"{name} was accepted"
    assert outcome.seconds < 15


def _numbers_config(tmp_path: Path, link_target: str | None = None) -> Path:
    config = write_files(tmp_path / "config", {"policy.yaml": OPT_OUT.format(path="numbers.txt")})
    if link_target is not None:
        os.symlink(link_target, config / "numbers.txt")
    return config


@pytest.mark.parametrize(
    "link",
    ["/etc/passwd", "/dev/zero", "/dev/urandom", "../outside.txt", "/proc/self/environ", "numbers.txt", "loop-a"],
)
def test_numbers_file_symlinks_cannot_leave_or_hang(tmp_path: Path, link: str) -> None:
    (tmp_path / "outside.txt").write_text("+12065550100\n")
    config = _numbers_config(tmp_path, link)
    if link == "loop-a":
        os.symlink("numbers.txt", config / "loop-a")
    outcome = load_checked(config, seconds=10)
    soakmode.tally("hostile inputs (hand-made)")
    assert outcome.policy is None
    assert outcome.codes & {"numbers-file-escape", "numbers-file-missing"}, [str(d) for d in outcome.diagnostics]
    text = "\n".join(d.message for d in outcome.diagnostics)
    assert "root:" not in text and "+12065550100" not in text


def test_numbers_file_fifo_does_not_hang(tmp_path: Path) -> None:
    config = _numbers_config(tmp_path)
    os.mkfifo(config / "numbers.txt")
    outcome = load_checked(config, seconds=10)
    assert outcome.codes & {"numbers-file-missing", "numbers-file-escape"}


def test_policy_file_symlinked_out_of_the_config_dir_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    config = write_files(tmp_path / "config", {"policy.yaml": TARGETS_YAML})
    os.symlink(secret, config / "stolen.yaml")
    os.symlink("/dev/zero", config / "zero.yaml")
    os.mkfifo(config / "fifo.yaml")
    outcome = load_checked(config, seconds=10)
    text = "\n".join(str(d) for d in outcome.diagnostics)
    assert "wJalrXUtnFEMI" not in text


def test_unreadable_policy_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    config = write_files(tmp_path / "config", {"policy.yaml": TARGETS_YAML})
    (config / "policy.yaml").chmod(0)
    outcome = load_checked(config)
    assert "file-unreadable" in outcome.codes
