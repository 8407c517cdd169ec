"""The resource_policies area's policy section: grants of presets or sms-voice actions, raw
statements, their checks at file:line (language.py) and the schema fragment."""

from __future__ import annotations

from pathlib import Path

from reconciler.areas.resource_policies import language
from reconciler.areas.resource_policies.spec import ResourcePolicySpec
from reconciler.areas.shares.policy import SECTION_BY_KIND
from reconciler.config.model import Desired
from reconciler.config.schema_build import fragment
from reconciler.config.section import ListSection, PolicySection
from reconciler.config.semantic import Item, PolicyBuilder


def resource_policy(b: PolicyBuilder, item: Item) -> ResourcePolicySpec:
    owners = {b.targets[name].account_id for name in item.targets if name in b.targets}
    for problem in language.check(item.data, owners):
        b.ctx.at(item, problem.mark, problem.code, problem.message, problem.hint)
    return language.spec_of(item.data, item.doc.file, item.source)


def declared_resources(b: PolicyBuilder, desired: Desired) -> None:
    """Every resource with a policy is declared for the target (as in shares)."""
    target = desired.target.name
    for item in b.mine("resource_policies", target):
        kind, value = language.resource_of(item.data)
        declared = b.declared(SECTION_BY_KIND[kind], target)
        if value not in declared:
            b.unresolved(item, item.mark("resource"), target, SECTION_BY_KIND[kind], value, declared)


SECTION = PolicySection(
    area="resource_policies",
    lists=(ListSection("resource_policies", "resource policy", resource_policy, key_field="resource",
                       key=lambda data: "{}: {}".format(*language.resource_of(data))),),
    schema=fragment(Path(__file__).with_name("schema.json")),
    codes={
        "policy-own-account": "a resource policy grants the target's own account",
        "policy-unknown-preset": "a resource policy names a preset that does not exist",
        "policy-preset-not-applicable": "a resource policy preset that does not apply to the resource's kind",
        "policy-action-not-allowed": "a resource policy grants an action the resource's kind cannot be granted",
        "policy-statement-invalid": "a raw resource policy statement outside the grammar AWS accepts",
        "policy-too-large": "a resource policy longer than AWS's 10,000 characters",
    },
    check_target=declared_resources,
)
