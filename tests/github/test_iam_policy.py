"""The IAM policies are exactly what the engine can call: no more, no less."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import botocore.session
import pytest

import reconciler
from reconciler.areas.base import engine_operations, registry
from reconciler.cli import main
from reconciler.iam import CALLER_IDENTITY, actions_for, declared_operations, policy

PACKAGE = Path(reconciler.__file__).parent
PREFIX = {"pinpoint-sms-voice-v2": "sms-voice", "ram": "ram", "sts": "sts", "cloudtrail": "cloudtrail"}
READ_VERBS = ("Describe", "Get", "List", "Lookup")


def service_operations() -> dict[str, set[str]]:
    session = botocore.session.get_session()
    return {service: set(session.get_service_model(service).operation_names) for service in PREFIX}


def operation_literals(path: Path, known: set[str]) -> set[str]:
    """Every string constant in ``path`` that names an AWS operation.

    Areas call ``api.call(SERVICE, "Operation", …)``, sometimes through a variable
    (``operation = "AssociateResourceShare" if … else "DisassociateResourceShare"``) or a helper;
    either way the operation's name is a literal somewhere in the module.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in known}


def area_modules() -> dict[str, Path]:
    return {cls.name: Path(__import__(cls.__module__, fromlist=["_"]).__file__ or "") for cls in registry().values()}


def test_every_called_operation_is_declared_by_its_area() -> None:
    models = service_operations()
    sms_and_ram = models["pinpoint-sms-voice-v2"] | models["ram"]
    for name, path in area_modules().items():
        cls = registry()[name]
        declared = {op.name for op in cls.operations}
        called = operation_literals(path, sms_and_ram)
        assert called - declared == set(), f"{path.name} calls undeclared operations"
        assert declared - called == set(), f"{path.name} declares operations it never calls (policy too broad)"


def test_declarations_match_botocore_and_iam_naming() -> None:
    models = service_operations()
    for op in declared_operations():
        assert op.name in models[op.service], op
        assert op.iam_action == f"{PREFIX[op.service]}:{op.name}", op
        # A read declared for plan must be a read-only API call; a write must not be one.
        assert (op.mode == "read") == op.name.startswith(READ_VERBS), op


def test_apply_policy_is_exactly_the_callable_operations() -> None:
    models = service_operations()
    sms_and_ram = models["pinpoint-sms-voice-v2"] | models["ram"]
    callable_actions: set[str] = set()
    for name, path in area_modules().items():
        service_of = {op.name: op.service for op in registry()[name].operations}
        for operation in operation_literals(path, sms_and_ram):
            callable_actions.add(f"{PREFIX[service_of[operation]]}:{operation}")
    callable_actions.add(CALLER_IDENTITY)  # the engine's account check, before anything else
    # The engine's own calls (the drift feed's CloudTrail reads), declared beside the code that makes them.
    feed = PACKAGE / "drift_feed" / "events.py"
    for operation in operation_literals(feed, models["cloudtrail"]):
        callable_actions.add(f"cloudtrail:{operation}")
    assert {op.iam_action for op in engine_operations()} <= callable_actions
    document = policy("apply")
    granted = {a for s in document["Statement"] for a in s["Action"]}
    assert granted == callable_actions
    assert set(actions_for("apply")) == callable_actions


def test_plan_policy_is_read_only_and_covers_every_read() -> None:
    plan = set(actions_for("plan"))
    assert CALLER_IDENTITY in plan
    assert all(a.split(":", 1)[1].startswith(READ_VERBS) for a in plan)
    reads = {op.iam_action for op in declared_operations() if op.mode == "read"}
    assert plan == reads | {CALLER_IDENTITY}
    assert plan < set(actions_for("apply"))


def test_scoping_by_region_and_role(capsys: pytest.CaptureFixture[str]) -> None:
    document = policy("apply", regions=["us-east-1", "eu-west-2", "us-east-1"],
                      role_arns=["arn:aws:iam::111122223333:role/sms-policy-apply"])
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert statements["SmsVoiceWrite"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["eu-west-2", "us-east-1"]}}
    assert statements["AssumeTargetRoles"] == {
        "Sid": "AssumeTargetRoles", "Effect": "Allow", "Action": ["sts:AssumeRole"],
        "Resource": ["arn:aws:iam::111122223333:role/sms-policy-apply"],
    }
    assert "Condition" not in statements["WhoAmI"]


def test_cli_prints_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy", "--mode", "plan"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["Version"] == "2012-10-17"
    actions = [a for s in document["Statement"] for a in s["Action"]]
    assert "sms-voice:DescribeProtectConfigurations" in actions
    assert not any(a.startswith(("sms-voice:Update", "sms-voice:Put", "sms-voice:Delete", "ram:Create")) for a in actions)


def test_lock_bucket_only_for_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy", "--mode", "apply", "--lock-url", "s3://acme-locks/sms/"]) == 0
    statements = {s["Sid"]: s for s in json.loads(capsys.readouterr().out)["Statement"]}
    assert statements["ApplyLock"] == {
        "Sid": "ApplyLock", "Effect": "Allow", "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::acme-locks/sms/*",
    }
    assert main(["iam-policy", "--mode", "plan", "--lock-url", "s3://acme-locks/sms/"]) == 0
    assert "ApplyLock" not in capsys.readouterr().out


def test_config_scopes_regions(capsys: pytest.CaptureFixture[str]) -> None:
    config = Path(__file__).resolve().parents[2] / "config"
    assert main(["iam-policy", "--mode", "plan", "--config", str(config)]) == 0
    statements = {s["Sid"]: s for s in json.loads(capsys.readouterr().out)["Statement"]}
    assert statements["SmsVoiceRead"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}


def test_nothing_outside_the_areas_calls_an_undeclared_operation() -> None:
    """The engine, the commands and the AWS layer call only what some area declares, plus STS's
    GetCallerIdentity (always granted) and AssumeRole (granted on the targets' role ARNs)."""
    models = service_operations()
    known = models["pinpoint-sms-voice-v2"] | models["ram"] | models["sts"]
    declared = {op.name for op in declared_operations()} | {"GetCallerIdentity", "AssumeRole"}
    areas = set(area_modules().values())
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in areas or "sandbox" in path.relative_to(PACKAGE).parts:
            continue  # the sandbox implements the operations; it does not call AWS
        if path == PACKAGE / "drift_feed" / "mapping.py" or (path.name == "feed.py" and "areas" in path.parts):
            continue  # the drift feed's sections name CloudTrail events (writes someone else made); they call nothing
        assert operation_literals(path, known) - declared == set(), f"{path.relative_to(PACKAGE)} names undeclared operations"
