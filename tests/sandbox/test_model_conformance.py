"""The sandbox speaks the installed botocore's models: its operations and error reasons exist there.

botocore checks requests on the client side but parses responses without checking enums, so a
handler that raised a ``Reason`` the model does not declare would pass every other test and
surprise a caller matching on the model's values. ``.ci/botocore-matrix`` runs this file against
the floor and the newest botocore of the supported window.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reconciler.sandbox.protocols import service_model
from reconciler.sandbox.registry import SMS_VOICE, emulated_operations

SANDBOX = Path(__file__).resolve().parents[2] / "reconciler" / "sandbox"


def _declared_reasons() -> set[str]:
    reasons: set[str] = set()
    for shape in service_model(SMS_VOICE).error_shapes:
        reason = shape.members.get("Reason")
        if reason is not None:
            reasons.update(reason.enum)
    return reasons


def _strings(value: ast.expr) -> list[str]:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, ast.IfExp):  # "A" if … else "B"
        return _strings(value.body) + _strings(value.orelse)
    return []


def reasons_in(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, reason) for each literal passed as an sms-voice error's reason (or assigned to ``reason``)."""
    found = []
    for node in ast.walk(tree):
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            values = [kw.value for kw in node.keywords if kw.arg in ("Reason", "reason")]
            if name == "conflict" and node.args:
                values.append(node.args[0])
            elif name == "validation_error" and len(node.args) > 1:
                values.append(node.args[1])
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "reason" for t in node.targets):
            values = [node.value]
        found += [(node.lineno, reason) for value in values for reason in _strings(value)]  # type: ignore[attr-defined]
    return found


def _literal_reasons() -> list[tuple[str, int, str]]:
    """(file, line, reason) across the sandbox's code."""
    return [
        (str(path.relative_to(SANDBOX.parents[1])), line, reason)
        for path in sorted(SANDBOX.rglob("*.py"))
        for line, reason in reasons_in(ast.parse(path.read_text()))
    ]


@pytest.mark.parametrize(("service", "operation"), emulated_operations())
def test_every_emulated_operation_is_in_the_installed_model(service: str, operation: str) -> None:
    assert operation in service_model(service).operation_names


def test_every_reason_the_sandbox_raises_is_declared_by_the_model() -> None:
    literals = _literal_reasons()
    assert len(literals) > 30, "the scan found too few reasons: the error helpers were renamed?"
    declared = _declared_reasons()
    undeclared = [f"{file}:{line}: {reason}" for file, line, reason in literals if reason not in declared]
    assert not undeclared, "reasons missing from the installed model:\n" + "\n".join(undeclared)


def test_the_scan_finds_reasons_in_each_form_the_handlers_use() -> None:
    source = (
        'conflict("A_REASON", "pool", "p")\n'
        'validation_error("text", "B_REASON")\n'
        'ApiError("X", "text", Reason="C_REASON")\n'
        'reason = "D_REASON" if kind else "E_REASON"\n'
    )
    assert sorted(r for _, r in reasons_in(ast.parse(source))) == [
        "A_REASON",
        "B_REASON",
        "C_REASON",
        "D_REASON",
        "E_REASON",
    ]


# Errors the protocols answer for any operation (AWS's common errors), not listed per operation.
COMMON_ERRORS = {"sts": {"ValidationError"}}

# Known deviations: an error code a handler raises that the model does not list for that operation.
# Each is a "known gap" in docs/sandbox-operations.md; remove an entry when the handler is fixed.
UNDECLARED_KNOWN = {
    # Neither resources, principals nor sources given.
    ("ram", "AssociateResourceShare"): {"MissingRequiredParameterException"},
    # Neither resources, principals nor sources given.
    ("ram", "DisassociateResourceShare"): {"MissingRequiredParameterException"},
    # clientToken reused with other parameters; the share is DELETED.
    ("ram", "AssociateResourceSharePermission"): {
        "IdempotentParameterMismatchException",
        "InvalidStateTransitionException",
    },
    # clientToken reused with other parameters (the shared idempotency wrapper of RAM's mutations).
    ("ram", "DisassociateResourceSharePermission"): {"IdempotentParameterMismatchException"},
    # A resourceType that is not shaped `service:Type`.
    ("ram", "ListPermissions"): {"InvalidResourceTypeException"},
    # A resourceType that is not shaped `service:Type`.
    ("ram", "ListPrincipals"): {"InvalidResourceTypeException"},
}


@pytest.mark.parametrize(("service", "operation"), emulated_operations())
def test_every_error_a_handler_raises_is_declared_for_its_operation(service: str, operation: str) -> None:
    from test_docs_coverage import ERROR_CODE, PACKAGE, raised_errors

    model = service_model(service).operation_model(operation)
    declared = {shape.name for shape in model.error_shapes} | {
        shape.metadata.get("error", {}).get("code", shape.name) for shape in model.error_shapes
    }
    raised = {
        code
        for code, origins in raised_errors(service, operation).items()
        if ERROR_CODE.fullmatch(code) and any(o.startswith(f"{PACKAGE}.handlers") for o in origins)
    }
    undeclared = raised - declared - COMMON_ERRORS.get(service, set())
    assert undeclared == UNDECLARED_KNOWN.get((service, operation), set()), (
        f"{service}.{operation} raises {sorted(undeclared)}, which its model does not list"
    )
