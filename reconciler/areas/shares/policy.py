"""The shares area's policy section: RAM resource shares, their checks (the shared resources are
declared, a shared opt-out list travels with its identities, principals stay inside the
organization unless allowed, one managed permission per resource type) and schema fragment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reconciler.areas.shares.spec import ResourceRef, ShareSpec
from reconciler.config.model import Desired, Source
from reconciler.config.schema_build import fragment
from reconciler.config.section import ListSection, PolicySection
from reconciler.config.semantic import Item, PolicyBuilder
from reconciler.config.yaml_loader import Mark, YamlSeq

# RAM's AWS managed permission of each shareable sms-voice resource kind (one per type; RAM
# attaches it by default, so `permissions` is needed only to name it explicitly).
SHARE_PERMISSIONS = {
    "AWSRAMDefaultPermissionSmsVoice": "phone_number",
    "AWSRAMDefaultPermissionSmsVoiceSenderId": "sender_id",
    "AWSRAMDefaultPermissionSmsVoicePool": "pool",
    "AWSRAMDefaultPermissionSmsVoiceOptOutList": "opt_out_list",
}
PERMISSION_ARN_PREFIX = "arn:aws:ram::aws:permission/"
# A share's resource kind -> the policy list declaring such resources.
SECTION_BY_KIND = {
    "phone_number": "phone_numbers",
    "pool": "pools",
    "sender_id": "sender_ids",
    "opt_out_list": "opt_out_lists",
}


def share(b: PolicyBuilder, item: Item) -> ShareSpec:
    data = item.data
    refs: list[ResourceRef] = []
    resources = data.get("resources")
    if isinstance(resources, YamlSeq):
        for index, entry in enumerate(resources):
            mark = resources.item_marks[index]
            for kind, value in entry.items():
                refs.append(
                    ResourceRef(
                        kind=kind, ref=str(value), source=Source(item.doc.file, mark.line, mark.column)
                    )
                )
    return ShareSpec(
        name=str(data["name"]),
        principals=tuple(str(p) for p in data["principals"]),
        allow_external_principals=bool(data.get("allow_external_principals", False)),
        permissions=tuple(str(p) for p in data.get("permissions", [])),
        resources=tuple(refs),
        source=item.source,
    )


def shared_resources(b: PolicyBuilder, desired: Desired) -> None:
    """Every shared resource is declared for the target; a shared opt-out list brings its members."""
    target = desired.target.name
    declared_by_kind = {kind: b.declared(section, target) for kind, section in SECTION_BY_KIND.items()}
    section_by_kind = SECTION_BY_KIND

    def mine(section: str) -> Iterator[Item]:
        return b.mine(section, target)

    for item in mine("shares"):
        resources = item.data.get("resources") or YamlSeq(item.data.mark)
        shared: set[tuple[str, str]] = set()
        for entry in resources:
            shared.update((kind, str(value)) for kind, value in entry.items())
        for index, entry in enumerate(resources):
            for kind, value in entry.items():
                mark = resources.item_marks[index]
                if value not in declared_by_kind[kind]:
                    b.unresolved(
                        item, mark, target, section_by_kind[kind], value, declared_by_kind[kind]
                    )
                elif kind == "opt_out_list":
                    _share_members(b, item, mark, target, value, shared)


def _share_members(
    b: PolicyBuilder, item: Item, mark: Mark, target: str, opt_out: str, shared: set[tuple[str, str]]
) -> None:
    """The seed's rule: a shared opt-out list works only if every identity using it is shared too.
    Identities whose opt-out list the policy sets are known here; pool membership is live state,
    checked by the engine when it plans the share."""
    missing: list[str] = []
    for section, kind in (("phone_numbers", "phone_number"), ("pools", "pool")):
        for member in b.items[section]:
            if target in member.targets and member.data.get("opt_out_list") == opt_out:
                ref = b.item_key(member)
                if (kind, ref) not in shared:
                    missing.append(f"{{{kind}: {ref!r}}}")
    if missing:
        b.ctx.at(
            item,
            mark,
            "share-incomplete",
            f"share {item.data['name']!r} shares opt-out list {opt_out!r} without its members "
            f"{', '.join(sorted(missing))}",
            f"a shared opt-out list works only when every identity using it is in the same share: add {', '.join(sorted(missing))} to resources",
        )


def external_principals(b: PolicyBuilder) -> None:
    """Principals outside the organization need ``allow_external_principals: true``.

    With ``organization`` declared the rule is checked offline: org and OU ARNs must carry its
    id, account ids must be targets or listed under ``organization.accounts``. Without it the
    policy cannot tell inside from outside (RAM itself refuses external principals of a share
    that does not allow them), so unverifiable principals are a warning, not an error.
    """
    org_id = b.organization[0].rsplit("/", 1)[-1] if b.organization else None
    target_accounts = {t.account_id for t in b.targets.values()}
    members = target_accounts | (b.organization[1] if b.organization else set())
    for item in b.items["shares"]:
        if item.data.get("allow_external_principals") is True:
            continue
        for index, principal in enumerate(item.data["principals"]):
            principal = str(principal)
            mark = item.item_mark("principals", index)
            name = item.data["name"]
            if org_id is None:
                if principal not in target_accounts:
                    b.ctx.at(
                        item,
                        mark,
                        "share-principal-unverified",
                        f"share {name!r} shares with {principal}; with no organization declared the "
                        "policy cannot check that it is inside the organization",
                        "declare 'organization: {arn: ..., accounts: [...]}', or set "
                        "allow_external_principals: true if it is meant to be external",
                        "warning",
                    )
                continue
            if principal.isdigit():
                inside = principal in members
            else:
                inside = principal.endswith(f":organization/{org_id}") or f":ou/{org_id}/" in principal
            if inside:
                continue
            b.ctx.at(
                item,
                mark,
                "share-external-principal",
                f"share {name!r} shares with {principal}, but it is outside organization {org_id}",
                "set allow_external_principals: true to share outside the organization"
                + (", or list the account under organization.accounts" if principal.isdigit() else ""),
            )


def share_permissions(b: PolicyBuilder) -> None:
    """Each listed permission is the AWS managed one of an sms-voice resource type, at most one
    per type (RAM: "You can associate only one permission with each resource type")."""
    names = ", ".join(SHARE_PERMISSIONS)
    for item in b.items["shares"]:
        kinds: dict[str, str] = {}
        for index, permission in enumerate(item.data.get("permissions") or []):
            text = str(permission)
            name = text[len(PERMISSION_ARN_PREFIX):] if text.startswith(PERMISSION_ARN_PREFIX) else text
            kind = SHARE_PERMISSIONS.get(name)
            mark = item.item_mark("permissions", index)
            if kind is None:
                b.ctx.at(
                    item, mark, "share-permission-unknown",
                    f"share {item.data['name']!r}: {text} is not the AWS managed permission of an sms-voice "
                    "resource type (customer managed permissions are not supported: the reconciler could "
                    "not tell which resource type they are for)",
                    f"use one of {names}, or leave permissions out to get each type's default",
                )
            elif kind in kinds:
                b.ctx.at(
                    item, mark, "share-permission-duplicate",
                    f"share {item.data['name']!r} lists two permissions for {kind.replace('_', ' ')}s "
                    f"({kinds[kind]}, {text}); RAM allows one per resource type",
                    "keep one",
                )
            else:
                kinds[kind] = text


def check_policy(b: PolicyBuilder) -> None:
    external_principals(b)
    share_permissions(b)


SECTION = PolicySection(
    area="shares",
    lists=(ListSection("shares", "share", share),),
    schema=fragment(Path(__file__).with_name("schema.json")),
    codes={
        "share-incomplete": "a shared opt-out list is shared without its member identities",
        "share-external-principal": "a principal outside the organization without allow_external_principals",
        "share-principal-unverified": "a share principal that cannot be checked because no organization is declared",
    },
    check_target=shared_resources,
    check_policy=check_policy,
)
