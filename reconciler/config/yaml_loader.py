"""YAML -> plain data that remembers where every key and value came from.

Built on PyYAML's pure-Python composer so that every node keeps its position, with our own
construction step so that:

* plain scalars follow a small, YAML 1.2-like schema: only ``true``/``false`` are booleans, so
  ``NO`` (Norway), ``ON``, ``Y`` stay strings; timestamps and sexagesimal/octal numbers do not exist;
* digit strings become :class:`YamlInt` carrying their original text, so a value that must be text
  (an account id, a phone number) is rejected with a hint showing exactly how to quote it,
  leading zeros included;
* duplicate keys are errors, not silently overwritten;
* aliases and merge keys are supported but their expansion is bounded (no "billion laughs").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from reconciler.config.diagnostics import Diagnostic

MAX_YAML_BYTES = 1024 * 1024  # policy files are small; big number lists belong in a numbers_file
MAX_ALIASES = 1_000  # alias references per file
MAX_EXPANSION = 50_000  # values that aliases and merge keys may add beyond those written out
MAX_DEPTH = 64  # nesting depth of produced values

_TAG = "tag:yaml.org,2002:"


class Mark(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class YamlMap(dict[str, Any]):
    """A mapping with the position of itself, each key and each value."""

    mark: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks = {}
        self.value_marks = {}


class YamlSeq(list[Any]):
    """A sequence with the position of itself and each item."""

    mark: Mark
    item_marks: list[Mark]

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks = []


class YamlInt(int):
    """An integer that remembers how it was written (``012345678901``, ``+61400000000``)."""

    text: str

    def __new__(cls, value: int, text: str) -> YamlInt:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class _Resolver(BaseResolver):
    """Implicit types for plain scalars: a YAML 1.2 core-like set without the YAML 1.1 traps."""


_Resolver.yaml_implicit_resolvers = {}
_Resolver.add_implicit_resolver(
    _TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(_TAG + "int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    _TAG + "float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver(_TAG + "null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(_TAG + "merge", re.compile(r"^<<$"), ["<"])

_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


class _ComposeLoader(Reader, Scanner, Parser, Composer, _Resolver):
    """PyYAML's pure-Python reader/scanner/parser/composer with our resolver; counts aliases."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)
        self.alias_count = 0
        self.node_count = 0  # nodes written out (aliases not counted)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                event = self.peek_event()
                raise _LimitError(
                    f"more than {MAX_ALIASES} alias references",
                    Mark(event.start_mark.line + 1, event.start_mark.column + 1),
                )
        else:
            self.node_count += 1
        node: Node | None = Composer.compose_node(self, parent, index)
        return node


class _LimitError(Exception):
    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.located = False


@dataclass
class LoadedYaml:
    data: Any  # YamlMap/YamlSeq/scalars; None when the file is empty or broken
    diagnostics: list[Diagnostic] = field(default_factory=list)


class _Builder:
    """Turns a composed node graph into YamlMap/YamlSeq/scalars, collecting diagnostics."""

    def __init__(self, file: str, written_nodes: int) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.nodes = 0
        # A file without aliases builds exactly the nodes it writes; aliases may add a bounded
        # number more, so "billion laughs" documents stop after a few thousand steps.
        self.max_nodes = written_nodes + MAX_EXPANSION

    def error(self, mark: Mark, code: str, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(self.file, mark.line, mark.column, code, "error", message, hint))

    def build(self, node: Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _LimitError(f"aliases expand the document by more than {MAX_EXPANSION} values", _mark(node))
        if depth > MAX_DEPTH:
            raise _DepthError(_mark(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            self.check_tag(node, "seq")
            seq = YamlSeq(_mark(node))
            for item in node.value:
                seq.append(self.build(item, depth + 1))
                seq.item_marks.append(_mark(item))
            return seq
        if isinstance(node, MappingNode):
            self.check_tag(node, "map")
            return self.mapping(node, depth)
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover - PyYAML has no other kinds

    def check_tag(self, node: Node, kind: str) -> None:
        if node.tag != _TAG + kind:
            self.error(
                _mark(node),
                "yaml-unsupported-tag",
                f"explicit tag {node.tag!r} is not supported",
                "remove the tag: policy files use plain YAML values only",
            )

    def scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "bool" and text in _BOOLS:
            return _BOOLS[text]
        if tag == _TAG + "null" and re.fullmatch(r"~|null|Null|NULL|", text):
            return None
        if tag == _TAG + "int" and re.fullmatch(r"[-+]?[0-9]+", text):
            return YamlInt(int(text, 10), text)
        if tag == _TAG + "float":
            try:
                return float(text)
            except ValueError:
                pass
        self.error(
            _mark(node),
            "yaml-unsupported-tag",
            f"explicit tag {tag!r} is not supported for the value {text!r}",
            "remove the tag, and quote the value if it is text",
        )
        return text

    def key_text(self, node: Node) -> str | None:
        if isinstance(node, ScalarNode):
            # Keys are names: ``true:`` or ``1:`` are kept as written so the schema can name them.
            return str(node.value)
        self.error(
            _mark(node),
            "yaml-complex-key",
            "a mapping key must be a plain name, not a list or mapping",
            "write a plain key followed by ':'",
        )
        return None

    def mapping(self, node: MappingNode, depth: int) -> YamlMap:
        result = YamlMap(_mark(node))
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            key = self.key_text(key_node)
            if key is None:
                continue
            if key in result.key_marks:
                first = result.key_marks[key]
                self.error(
                    _mark(key_node),
                    "yaml-duplicate-key",
                    f"duplicate key {key!r} (first defined at line {first.line}, column {first.column})",
                    "remove one of the two; YAML would otherwise silently keep only the last",
                )
                continue
            try:
                result[key] = self.build(value_node, depth + 1)
            except _LimitError as error:
                if depth == 0 and not error.located:
                    # Point at the top-level key whose value explodes, not at a leaf deep inside.
                    error.mark, error.located = _mark(key_node), True
                    error.message = (
                        f"aliases in the value of {key!r} expand it by more than {MAX_EXPANSION} values"
                    )
                raise
            result.key_marks[key] = _mark(key_node)
            result.value_marks[key] = _mark(value_node)
        for merge in merges:
            self.merge(result, merge, depth)
        return result

    def merge(self, result: YamlMap, value_node: Node, depth: int) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.error(_mark(source), "yaml-syntax", "a merge key '<<' must refer to a mapping")
                continue
            merged = self.mapping(source, depth + 1)
            # Explicit keys win over merged ones; earlier merge sources win over later ones.
            for key, value in merged.items():
                if key not in result:
                    result[key] = value
                    result.key_marks[key] = merged.key_marks[key]
                    result.value_marks[key] = merged.value_marks[key]


class _DepthError(Exception):
    def __init__(self, mark: Mark) -> None:
        super().__init__("too deep")
        self.mark = mark


_LEADING_TAB = re.compile(r"^[ ]*\t", re.MULTILINE)


def _tab_diagnostics(file: str, text: str) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for match in _LEADING_TAB.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        column = match.end() - match.start()
        found.append(
            Diagnostic(
                file,
                line,
                column,
                "yaml-tab",
                "error",
                "tab character in indentation",
                "YAML indentation must use spaces; replace the tab with spaces",
            )
        )
    return found


def decode(file: str, raw: bytes) -> tuple[str | None, list[Diagnostic]]:
    """Strict UTF-8 (a leading BOM is allowed); a bad byte is reported at its line and column."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, [
            Diagnostic(
                file,
                line,
                column,
                "file-not-utf8",
                "error",
                f"byte 0x{raw[error.start]:02x} is not valid UTF-8",
                "save the file as UTF-8",
            )
        ]


def parse_bytes(file: str, raw: bytes) -> tuple[LoadedYaml | None, list[Diagnostic]]:
    """A file's bytes decoded (:func:`decode`) and parsed (:func:`parse_yaml`): the document, or
    None and every diagnostic that stopped it."""
    text, problems = decode(file, raw)
    if text is None:
        return None, problems
    loaded = parse_yaml(file, text)
    return (None, loaded.diagnostics) if loaded.diagnostics else (loaded, [])


def parse_yaml(file: str, text: str) -> LoadedYaml:
    """Parse one YAML document held in ``text``; never raises for bad input."""
    tabs = _tab_diagnostics(file, text)
    if tabs:
        return LoadedYaml(None, tabs)

    def fail(mark: Mark, code: str, message: str, hint: str | None = None) -> LoadedYaml:
        return LoadedYaml(None, [Diagnostic(file, mark.line, mark.column, code, "error", message, hint)])

    try:
        loader = _ComposeLoader(text)
    except yaml.reader.ReaderError as error:  # PyYAML checks every character up front
        before = text[: error.position]
        return fail(
            Mark(before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1),
            "yaml-syntax",
            f"the control character U+{int(error.character):04X} is not allowed in YAML",  # PyYAML passes ord()
            "remove it: YAML text may hold printable characters, tabs and line breaks only",
        )
    try:
        root = loader.get_single_node()
    except yaml.composer.ComposerError as error:
        mark = error.problem_mark or error.context_mark
        position = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        if "expected a single document" in str(error.context or ""):
            return fail(
                position,
                "yaml-multiple-documents",
                "a policy file holds exactly one YAML document",
                "remove the '---' separator or split the documents into separate files",
            )
        return fail(position, "yaml-syntax", _problem(error))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        return fail(position, "yaml-syntax", _problem(error), _syntax_hint(error))
    except yaml.YAMLError as error:
        return fail(Mark(1, 1), "yaml-syntax", str(error).strip())
    except _LimitError as error:
        return fail(
            error.mark, "yaml-alias-limit", error.message, "write the values out instead of aliasing them"
        )
    except RecursionError:
        return fail(Mark(1, 1), "yaml-too-deep", "the YAML nesting is too deep to read", None)
    finally:
        loader.dispose()
    if root is None:
        return LoadedYaml(None)
    builder = _Builder(file, loader.node_count)
    try:
        data = builder.build(root)
    except _LimitError as error:
        return fail(
            error.mark, "yaml-alias-limit", error.message, "write the values out instead of aliasing them"
        )
    except _DepthError as error:
        return fail(
            error.mark,
            "yaml-too-deep",
            f"values nested more than {MAX_DEPTH} levels deep (or an alias that contains itself)",
            "flatten the structure",
        )
    if builder.diagnostics:
        return LoadedYaml(None, builder.diagnostics)
    return LoadedYaml(data)


def _problem(error: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (error.context, error.problem) if p]
    message = "; ".join(parts) if parts else "invalid YAML"
    context, problem = error.context_mark, error.problem_mark
    if context is not None and problem is not None and context.line != problem.line:
        message += f" (the construct started at line {context.line + 1}, column {context.column + 1})"
    return message


def _syntax_hint(error: yaml.MarkedYAMLError) -> str | None:
    problem = str(error.problem or "")
    if "found character '\\t'" in problem:
        return "YAML does not allow tabs here; use spaces"
    if "mapping values are not allowed" in problem:
        return "a ':' followed by a space starts a key; quote the value if it contains ': '"
    if "could not find expected ':'" in problem:
        return "check the indentation and that every key ends with ':'"
    return "check the indentation, quotes and brackets around this position"


def position_of(root: Any, path: tuple[Any, ...], *, key: bool = False) -> Mark:
    """The position of the value at ``path`` (or of its key with ``key=True``), best effort."""
    node = root
    mark: Mark = getattr(root, "mark", Mark(1, 1))
    for index, step in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, YamlMap) and step in node:
            mark = node.key_marks[step] if (key and last) else node.value_marks[step]
            node = node[step]
        elif isinstance(node, YamlSeq) and isinstance(step, int) and 0 <= step < len(node):
            mark = node.item_marks[step]
            node = node[step]
        else:
            break
    return mark


PositionLookup = Callable[[tuple[Any, ...]], Mark]
