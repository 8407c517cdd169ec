"""Helpers of the engine tests: policies built in code, an in-process sandbox, an engine on it.

A uniquely named module (not ``conftest``): every test directory has a conftest, and only one
module can be imported under that name in a whole-suite run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from reconciler.apply import ApplyOptions, ApplyResult, apply_target
from reconciler.aws import SandboxSessionFactory
from reconciler.config.model import Desired, Policy, Target
from reconciler.engine import Engine
from reconciler.guard import GuardOptions
from reconciler.plan import Plan
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import Clock, World

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SMS = "pinpoint-sms-voice-v2"


def policy(**desired: Any) -> Policy:
    target = Target(name="prod", account_id=ACCOUNT, region=REGION)
    return Policy(config_dir="config", targets={"prod": target}, desired={"prod": Desired(target=target, **desired)})


def replace(p: Policy, **desired: Any) -> Policy:
    current = p.desired["prod"]
    return Policy(p.config_dir, p.targets, {"prod": dataclasses.replace(current, **desired)})


class Harness:
    """A sandbox on a simulated clock plus helpers to plan and apply a policy against it."""

    def __init__(self) -> None:
        self.sandbox = Sandbox(world=World(Clock(start=START, simulated=True)))

    def client(self, account: str = ACCOUNT) -> Any:
        # Through the engine's session factory: one shared botocore loader keeps tests fast.
        return SandboxSessionFactory(self.sandbox).base_session(account, REGION).client(SMS)

    def engine(self, p: Policy, **kwargs: Any) -> Engine:
        return Engine(p, SandboxSessionFactory(self.sandbox), rate_scale=0, **kwargs)

    def plan(self, p: Policy, **kwargs: Any) -> Plan:
        engine = self.engine(p, **kwargs)
        return engine.plan(engine.start("prod"))

    def apply(self, p: Policy, guard: GuardOptions | None = None, expected: Plan | None = None, **kwargs: Any) -> ApplyResult:
        options = ApplyOptions(guard=guard or GuardOptions(), expected=expected)
        return apply_target(self.engine(p, **kwargs), "prod", options)

    def state(self, account: str = ACCOUNT) -> Any:
        return self.sandbox.world.region(account, REGION)
