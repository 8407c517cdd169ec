"""The positioned YAML loader: plain-scalar typing without YAML 1.1 traps, positions, limits."""

from __future__ import annotations

from reconciler.config.yaml_loader import YamlInt, YamlMap, YamlSeq, parse_yaml, position_of


def test_only_true_and_false_are_booleans() -> None:
    loaded = parse_yaml("f.yaml", "a: [NO, no, ON, off, Y, n, yes, True, false, FALSE]\n")
    assert loaded.diagnostics == []
    assert loaded.data["a"] == ["NO", "no", "ON", "off", "Y", "n", "yes", True, False, False]


def test_numbers_remember_how_they_were_written() -> None:
    data = parse_yaml("f.yaml", "a: 012345678901\nb: +61400000000\nc: 111111111111\nd: -5\n").data
    for key, text in {"a": "012345678901", "b": "+61400000000", "c": "111111111111", "d": "-5"}.items():
        assert isinstance(data[key], YamlInt) and data[key].text == text
    assert data["a"] == 12345678901  # the value YAML would have produced; the text keeps the zero


def test_no_octal_hex_sexagesimal_or_timestamps() -> None:
    data = parse_yaml(
        "f.yaml", "a: 0o17\nb: 0x1F\nc: 1:20\nd: 2026-12-31T00:00:00Z\ne: 1_000\nf: 2026-12-31\ng: 1.5\n"
    ).data
    assert data == {
        "a": "0o17",
        "b": "0x1F",
        "c": "1:20",
        "d": "2026-12-31T00:00:00Z",
        "e": "1_000",
        "f": "2026-12-31",
        "g": 1.5,
    }


def test_nulls() -> None:
    assert parse_yaml("f.yaml", "a:\nb: ~\nc: null\nd: 'null'\n").data == {
        "a": None,
        "b": None,
        "c": None,
        "d": "null",
    }


def test_positions_of_keys_values_and_items() -> None:
    root = parse_yaml("f.yaml", "top:\n  - name: x\n    list: [a,  b]\n").data
    assert isinstance(root, YamlMap) and isinstance(root["top"], YamlSeq)
    assert position_of(root, ("top",), key=True) == (1, 1)
    assert position_of(root, ("top", 0)) == (2, 5)
    assert position_of(root, ("top", 0, "name")) == (2, 11)
    assert position_of(root, ("top", 0, "list"), key=True) == (3, 5)
    assert position_of(root, ("top", 0, "list", 1)) == (3, 16)
    # A path that goes past the data falls back to the deepest known position.
    assert position_of(root, ("top", 0, "missing")) == (2, 5)


def test_duplicate_keys_are_all_reported() -> None:
    loaded = parse_yaml("f.yaml", "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert loaded.data is None
    assert [(d.line, d.column, d.code) for d in loaded.diagnostics] == [
        (4, 3, "yaml-duplicate-key"),
        (5, 1, "yaml-duplicate-key"),
    ]
    assert "first defined at line 3" in loaded.diagnostics[0].message


def test_merge_keys_do_not_override_explicit_keys() -> None:
    data = parse_yaml("f.yaml", "base: &b {x: 1, y: 2}\nuse:\n  y: 3\n  <<: *b\n").data
    assert data["use"] == {"y": 3, "x": 1}
    assert position_of(data, ("use", "x")) == (1, 14)


def test_every_tab_indented_line_is_reported() -> None:
    loaded = parse_yaml("f.yaml", "a:\n\tb: 1\n  \tc: 2\nd: 'tab\there is fine'\n")
    assert [(d.line, d.column, d.code) for d in loaded.diagnostics] == [
        (2, 1, "yaml-tab"),
        (3, 3, "yaml-tab"),
    ]


def test_a_billion_laughs_is_stopped_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    loaded = parse_yaml("f.yaml", "\n".join(lines) + "\n")
    assert [d.code for d in loaded.diagnostics] == ["yaml-alias-limit"]


def test_too_many_alias_references() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]\n"
    assert [d.code for d in parse_yaml("f.yaml", text).diagnostics] == ["yaml-alias-limit"]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert [d.code for d in parse_yaml("f.yaml", "[" * 5000).diagnostics] == ["yaml-too-deep"]
    assert [d.code for d in parse_yaml("f.yaml", "a: " + "[" * 100 + "]" * 100 + "\n").diagnostics] == [
        "yaml-too-deep"
    ]


def test_a_merge_key_bomb_is_stopped() -> None:
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for i in range(1, 9):
        # Each level merges the previous one ten times under ten fresh keys.
        lines.append(f"m{i}: &m{i} {{" + ", ".join(f"k{j}: {{<<: *m{i - 1}}}" for j in range(10)) + "}")
    loaded = parse_yaml("f.yaml", "\n".join(lines) + "\n")
    assert [d.code for d in loaded.diagnostics] == ["yaml-alias-limit"]
