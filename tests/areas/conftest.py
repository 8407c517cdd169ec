"""Fixtures for the policy-area tests: an in-process sandbox on a simulated clock, and helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from area_support import ACCOUNT, REGION, START

from reconciler.aws import Api
from reconciler.config.model import Target
from reconciler.sandbox import Clock, Sandbox, World


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(World(Clock(START, simulated=True)))


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    return Api(sandbox.session(ACCOUNT, REGION), REGION)


@pytest.fixture
def sms(sandbox: Sandbox) -> Any:
    return sandbox.client("pinpoint-sms-voice-v2", ACCOUNT, REGION)


@pytest.fixture
def target() -> Target:
    return Target("prod", ACCOUNT, REGION)

