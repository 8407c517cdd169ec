"""docs/sandbox-operations.md documents every emulated operation and says where each behaviour comes from.

The page has one ``### Operation`` section per operation the sandbox's registry emulates (a heading
may name several, ``### A / B``). Each section has a ``Sources:`` list of AWS pages (numbered, each
with a docs.aws.amazon.com path), and each behaviour bullet ends with ``[source: N]`` (numbers of
that list), ``[assumption: why]`` or ``[known gap: what]``. Every error reason and error code a handler can raise for an
operation (found by walking the handler's calls through the sandbox's modules and keeping the
string literals that the service model declares as a reason or an error) is named in the
operation's section; those raised by the shared modules (paging, resources, errors) may instead
be named in a "Conventions" section.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler.sandbox.protocols import service_model
from reconciler.sandbox.registry import emulated_operations

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "sandbox-operations.md"
SANDBOX = ROOT / "reconciler" / "sandbox"
PACKAGE = "reconciler.sandbox"

SOURCE_LINE = re.compile(r"^(\d+)\.\s+(.+?)\s+—\s+.+?`(/[A-Za-z0-9_./#-]+)`")
# Error codes by their shape, which also catches codes the models do not declare (STS ``ValidationError``).
ERROR_CODE = re.compile(r"[A-Z][A-Za-z]+(Exception|Error)")
CITATION = re.compile(
    r"\[(source|sources): ([\d, ]+)\]\s*$|\[assumption: [^\]]+\]\s*$|\[known gap: [^\]]+\]\s*$"
)


@dataclass
class Section:
    title: str
    operations: list[str]
    sources: dict[int, str] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    text: str = ""


def parse_page(text: str) -> list[Section]:
    """``###`` sections (operations) and ``##`` sections (conventions, services), in page order."""
    sections: list[Section] = []
    current: Section | None = None
    bullet: list[str] | None = None
    for line in text.splitlines():
        heading = re.match(r"^(#{2,3}) (.+)$", line)
        if heading:
            title = heading[2].strip()
            operations = [part.strip() for part in title.split(" / ")] if heading[1] == "###" else []
            current = Section(title, [op for op in operations if re.fullmatch(r"[A-Z][A-Za-z]+", op)])
            sections.append(current)
            bullet = None
            continue
        if current is None:
            continue
        current.text += line + "\n"
        source = SOURCE_LINE.match(line)
        if source:
            current.numbers.append(int(source[1]))
            current.sources[int(source[1])] = source[3]
        if line.startswith("- "):
            bullet = [line[2:]]
            current.bullets.append(line[2:])
        elif bullet is not None and line.startswith("  ") and line.strip():
            current.bullets[-1] += " " + line.strip()
        else:
            bullet = None
    return sections


@functools.cache
def page_sections() -> list[Section]:
    return parse_page(PAGE.read_text())


def section_for(operation: str) -> Section | None:
    return next((s for s in page_sections() if operation in s.operations), None)


def conventions_text() -> str:
    return "".join(s.text for s in page_sections() if s.title.startswith("Conventions"))


# --- What a handler can raise: string literals reachable from it that the model declares. ---


@functools.cache
def modules() -> dict[str, ast.Module]:
    found = {}
    for path in SANDBOX.rglob("*.py"):
        name = ".".join((PACKAGE, *path.relative_to(SANDBOX).with_suffix("").parts)).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text())
    return found


@functools.cache
def functions(module: str) -> dict[str, ast.AST]:
    return {
        node.name: node
        for node in modules()[module].body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


@functools.cache
def imports(module: str) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, function) for ``from reconciler.sandbox[.x] import y`` (function None: a module)."""
    names: dict[str, tuple[str, str | None]] = {}
    for node in modules()[module].body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                local = alias.asname or alias.name
                submodule = f"{node.module}.{alias.name}"
                names[local] = (submodule, None) if submodule in modules() else (node.module, alias.name)
    return names


def _resolve(module: str, call: ast.expr) -> tuple[str, str] | None:
    if isinstance(call, ast.Name):
        if call.id in functions(module):
            return module, call.id
        target = imports(module).get(call.id)
        if target and target[1] and target[0] in modules() and target[1] in functions(target[0]):
            return target[0], target[1]
    if isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name):
        target = imports(module).get(call.value.id)
        if target and target[1] is None and call.attr in functions(target[0]):
            return target[0], call.attr
    return None


def raised_strings(module: str, function: str) -> set[tuple[str, str]]:
    """(string literal, module it is written in) for the function and everything it calls."""
    seen: set[tuple[str, str]] = set()
    found: set[tuple[str, str]] = set()
    todo = [(module, function)]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        for node in ast.walk(functions(key[0])[key[1]]):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add((node.value, key[0]))
            elif isinstance(node, ast.Call) and (callee := _resolve(key[0], node.func)):
                todo.append(callee)
    return found


@functools.cache
def handler_locations() -> dict[tuple[str, str], tuple[str, str]]:
    """(service, operation) -> (module, function) from the ``@operation(SERVICE, "Name")`` decorators."""
    constants = {"SMS_VOICE": "pinpoint-sms-voice-v2", "RAM": "ram", "STS": "sts", "CLOUDTRAIL": "cloudtrail"}
    found = {}
    for module, tree in modules().items():
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "operation":
                    service_node, name_node = decorator.args
                    service = constants.get(
                        getattr(service_node, "id", ""), getattr(service_node, "value", "")
                    )
                    found[(service, name_node.value)] = (module, node.name)  # type: ignore[attr-defined]
    return found


@functools.cache
def declared_errors(service: str) -> frozenset[str]:
    """Every error code and every ``Reason`` enum value the service's model declares."""
    model = service_model(service)
    words: set[str] = set()
    for name in model.error_shapes if hasattr(model, "error_shapes") else []:
        words.add(name.name)
        words.add(name.metadata.get("error", {}).get("code", name.name))
        reason = name.members.get("Reason")
        if reason is not None:
            words.update(reason.enum)
    return frozenset(words)


def raised_errors(service: str, operation: str) -> dict[str, set[str]]:
    module, function = handler_locations()[(service, operation)]
    declared = declared_errors(service)
    errors: dict[str, set[str]] = {}
    for value, origin in raised_strings(module, function):
        if value in declared or ERROR_CODE.fullmatch(value):
            errors.setdefault(value, set()).add(origin)
    return errors


OPERATIONS = emulated_operations()


def test_the_registry_and_the_decorators_agree() -> None:
    assert sorted(handler_locations()) == OPERATIONS


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_every_emulated_operation_has_a_section(service: str, operation: str) -> None:
    assert section_for(operation), f"{service}.{operation} has no '### {operation}' section in {PAGE.name}"


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_every_operation_cites_an_aws_page(service: str, operation: str) -> None:
    section = section_for(operation)
    assert section and section.sources, f"{operation}: no 'Sources:' list with a docs.aws.amazon.com path"
    assert any(path.endswith(".html") for path in section.sources.values()), f"{operation}: no page path"


def test_every_sources_list_is_numbered_1_to_n() -> None:
    bad = [s.title for s in page_sections() if s.numbers != list(range(1, len(s.numbers) + 1))]
    assert not bad, f"Sources lists not numbered 1, 2, 3, …: {bad}"


def test_every_behaviour_bullet_carries_a_source_or_an_assumption() -> None:
    problems = []
    for section in page_sections():
        for bullet in section.bullets:
            match = CITATION.search(bullet)
            if not match:
                problems.append(f"{section.title}: {bullet[:80]}…")
            elif match[2]:
                cited = {int(n) for n in match[2].replace(" ", "").split(",") if n}
                if missing := cited - set(section.sources):
                    problems.append(f"{section.title}: cites {sorted(missing)}, not in its Sources list")
    assert not problems, "bullets without a valid [source: N] or [assumption: …]:\n" + "\n".join(problems)


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_every_error_an_operation_can_raise_is_documented(service: str, operation: str) -> None:
    section = section_for(operation)
    assert section is not None
    shared = conventions_text()
    missing = []
    for error, origins in sorted(raised_errors(service, operation).items()):
        in_handler = any(origin.startswith(f"{PACKAGE}.handlers") for origin in origins)
        if error not in section.text and (in_handler or error not in shared):
            missing.append(error)
    assert not missing, f"{service}.{operation} can raise {missing}, not named in its section of {PAGE.name}"


def test_the_reason_walk_finds_the_reasons_of_a_known_handler() -> None:
    """Guards the mechanism itself: DeleteProtectConfiguration's three conflicts are found."""
    errors = raised_errors("pinpoint-sms-voice-v2", "DeleteProtectConfiguration")
    assert {
        "DELETION_PROTECTION_ENABLED",
        "PROTECT_CONFIGURATION_IS_ACCOUNT_DEFAULT",
        "PROTECT_CONFIGURATION_ASSOCIATED_WITH_CONFIGURATION_SET",
        "ConflictException",
    } <= set(errors)


def test_the_parser_rejects_an_uncited_bullet() -> None:
    sections = parse_page(
        "### Foo\n\nSources:\n1. Foo — AWS API Reference, `/x/API_Foo.html`\n\n- cited [source: 1]\n- not cited\n"
    )
    assert sections[0].sources == {1: "/x/API_Foo.html"}
    assert [bool(CITATION.search(b)) for b in sections[0].bullets] == [True, False]
