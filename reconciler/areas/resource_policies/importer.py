"""Import of the resource_policies area: every shareable resource's policy (policy-made RAM shares
included) written as grants of presets or actions, conditional grants as raw statements."""

from __future__ import annotations

from reconciler.areas.importing import AreaImporter, ImportContext, ImportedArea
from reconciler.areas.resource_policies.area import LivePolicies, ResourcePoliciesArea, import_items
from reconciler.aws import Api
from reconciler.config.model import Desired, Target


def read(api: Api, target: Target) -> LivePolicies:
    return ResourcePoliciesArea().read_everything(api, Desired(target=target))


def render(live: LivePolicies, context: ImportContext) -> ImportedArea:
    return ImportedArea({"resource_policies": import_items(live, context.refs)[0]})


def _notes(live: LivePolicies) -> list[str]:
    return import_items(live, {})[1]


# GetResourcePolicy has a quota of its own (one call per resource): read beside the other areas.
IMPORTER = AreaImporter("resource_policies.yaml", ("resource_policies",), read, render, alone=True, notes=_notes)
