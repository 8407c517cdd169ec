"""Check a parsed boto3 response against botocore's output shape for the operation.

``assert_matches_output_shape(service, operation, response)`` fails when the response has a member
the model does not declare, lacks a required member, or holds a value of the wrong type, outside
an enum, outside a length/range bound, or not matching the member's pattern.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape


@cache
def _model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a structure, got {type(value).__name__}")
            return
        for key, item in value.items():
            if key == "ResponseMetadata" and path == "":
                continue
            member = shape.members.get(key)
            if member is None:
                problems.append(f"{path}.{key}: not a member of {shape.name}")
                continue
            _check(member, item, f"{path}.{key}", problems)
        for key in shape.required_members:
            if key not in value:
                problems.append(f"{path}.{key}: required member missing")
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{path}: {len(value)} items, more than {maximum}")
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{path}: {len(value)} entries, more than {maximum}")
        for key, item in value.items():
            _check(shape.key, key, f"{path}<key {key}>", problems)
            _check(shape.value, item, f"{path}[{key}]", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {type(value).__name__}")
            return
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            problems.append(f"{path}: length {len(value)} outside {low}..{high}")
        pattern = shape.metadata.get("pattern")
        if pattern and re.fullmatch(pattern, value, re.DOTALL) is None:
            problems.append(f"{path}: {value!r} does not match {pattern}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {type(value).__name__}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {type(value).__name__}")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float):
            problems.append(f"{path}: expected a number, got {type(value).__name__}")
    elif kind == "timestamp" and not isinstance(value, datetime):
        problems.append(f"{path}: expected a datetime, got {type(value).__name__}")


def output_problems(service: str, operation: str, response: dict[str, Any]) -> list[str]:
    shape = _model(service).operation_model(operation).output_shape
    problems: list[str] = []
    if shape is None:
        extra = sorted(k for k in response if k != "ResponseMetadata")
        if extra:
            problems.append(f"{operation} has no output members, got {extra}")
        return problems
    _check(shape, response, "", problems)
    return problems


def assert_matches_output_shape(service: str, operation: str, response: dict[str, Any]) -> None:
    problems = output_problems(service, operation, response)
    assert not problems, f"{service}.{operation} response does not match its output shape:\n" + "\n".join(problems)
