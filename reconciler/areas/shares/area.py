"""AWS RAM resource shares of phone numbers, sender IDs, pools and opt-out lists.

Ownership: a share is found by its name; the shares the reconciler creates carry the
``managed-by`` tag. Shares the policy names are managed whatever their tags. A tagged share the
policy no longer names is deleted (with ``--force``); an untagged one is reported as unmanaged and
deleted only with ``prune: [shares]`` (and ``--force``).

References: the policy names resources the way people do (phone number id or E.164 number,
``SENDER/CC``, pool id or ``Name`` tag, opt-out list name); ``read`` resolves them to ARNs through
live reads. An opt-out list the policy itself creates gets its documented ARN before it exists.
An unresolved reference is a plan error naming its YAML source.

Associations are asynchronous (ASSOCIATING → ASSOCIATED). The diff counts ASSOCIATING as present
and DISASSOCIATING as gone, so a plan right after an apply is empty without waiting; an
association that later FAILS shows up again as a change in the next plan.

Invitations: an account outside the organization is *invited*, and its association stays
ASSOCIATING (RAM marks it ``external``) until it accepts; until then it can use nothing. The plan
and drift report such a principal as *pending* (``Plan.pending``), never as a change to make, and
never as in sync. A rejected or expired invitation FAILS the association: the plan adds the
principal again, which sends a new invitation.

Permissions: RAM attaches one managed permission per resource type. The share's resource types
determine the permissions: each type's AWS managed default, plus any the policy lists; a
permission of a type the share no longer holds is removed after its resources are.

Shares RAM created from a resource policy (``featureSet`` CREATED_FROM_POLICY) cannot be changed
through RAM: they are never modified or deleted here, and belong to the resource policy that made
them (areas/resource_policies/area.py). Every STANDARD share's associations are read, so a grant no
declared share makes is reported with its principal and resource (``security``).

AWS's rule for shared pools and opt-out lists: consumers can use them only if every member identity
(a pool's phone numbers and sender IDs; the phone numbers and pools that use a list) is in the same
share. ``read`` fetches live membership and the plan warns, naming the missing members and the fix.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from reconciler.areas.base import ApiOperation, Area, register, sms
from reconciler.areas.opt_outs.area import list_opt_out_lists  # the one listing both areas share
from reconciler.areas.phone_numbers.area import own_sender_ids  # the one listing both areas share
from reconciler.areas.protect.live import MANAGED_BY_TAG, MANAGED_BY_VALUE
from reconciler.areas.shares.policy import SECTION
from reconciler.areas.shares.spec import ResourceRef, ShareSpec
from reconciler.aws import RAM, SMS_VOICE, Api, error_code
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.plan import (
    FLAG_EXTERNAL_PRINCIPALS,
    FLAG_NEEDS_FORCE,
    ORDER_SHARE,
    ORDER_UNSHARE,
    Change,
)
from reconciler.report.area_report import AreaReport

AREA = "shares"
BATCH = 5  # ID-list inputs of pinpoint-sms-voice-v2 take at most 5 items
# Assumption (strictest plausible; AWS documents no limit): GetResourceShareAssociations is asked
# about at most this many shares per call.
SHARE_ARN_BATCH = 5
RAM_PAGE = 500  # RAM's largest maxResults: quotas make every page count
PERMISSION_PREFIX = "arn:aws:ram::aws:permission/"
PRESENT = frozenset({"ASSOCIATING", "ASSOCIATED"})  # counted as shared (see module docstring)
# Allowing external principals and adding permissions run before members are added; disallowing
# runs after members are removed (RAM refuses it while external principals remain).
ORDER_SHARE_OPEN = ORDER_SHARE - 1
ORDER_SHARE_CLOSE = ORDER_UNSHARE + 1
ORDER_SHARE_DELETE = ORDER_UNSHARE + 5  # after removals from other shares
# AWS managed permission of each resource kind (see docs/sandbox.md, "RAM"; the phone-number one is
# the permission AWS's resource sharing guide passes, the other names follow it).
DEFAULT_PERMISSIONS = {
    "phone_number": PERMISSION_PREFIX + "AWSRAMDefaultPermissionSmsVoice",
    "sender_id": PERMISSION_PREFIX + "AWSRAMDefaultPermissionSmsVoiceSenderId",
    "pool": PERMISSION_PREFIX + "AWSRAMDefaultPermissionSmsVoicePool",
    "opt_out_list": PERMISSION_PREFIX + "AWSRAMDefaultPermissionSmsVoiceOptOutList",
}
PERMISSION_KINDS = {arn: kind for kind, arn in DEFAULT_PERMISSIONS.items()}
STANDARD = "STANDARD"  # featureSet of shares RAM manages; CREATED_FROM_POLICY ones it refuses to change
KIND_TO_ARN = {"phone_number": "phone-number", "sender_id": "sender-id", "pool": "pool", "opt_out_list": "opt-out-list"}
ARN_TO_KIND = {value: key for key, value in KIND_TO_ARN.items()}


def ram(name: str, mode: str = "read") -> ApiOperation:
    return ApiOperation(RAM, name, f"ram:{name}", 1.0, mode)


def permission_arn(name: str) -> str:
    return name if name.startswith("arn:") else PERMISSION_PREFIX + name


def permission_name(arn: str) -> str:
    """The policy spelling of a permission: AWS-managed ones by name, others by ARN."""
    return arn[len(PERMISSION_PREFIX) :] if arn.startswith(PERMISSION_PREFIX) else arn


def resource_ref(arn: str) -> ResourceRef | None:
    """The policy reference for an sms-voice ARN (used by ``import``)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sms-voice":
        return None
    prefix, _, key = parts[5].partition("/")
    kind = ARN_TO_KIND.get(prefix)
    if kind is None or not key:
        return None
    return ResourceRef(kind, key)  # type: ignore[arg-type]


@dataclass
class LiveShare:
    arn: str
    name: str
    allow_external_principals: bool
    managed: bool  # carries the managed-by tag
    principals: dict[str, str] = field(default_factory=dict)  # entity -> association status
    resources: dict[str, str] = field(default_factory=dict)
    external: tuple[str, ...] = ()  # principals RAM marks external
    permissions: tuple[str, ...] = ()  # permission ARNs
    detailed: bool = False  # associations and permissions were read
    pending: tuple[str, ...] = ()  # external principals whose invitation is not yet accepted
    failed: tuple[str, ...] = ()  # principals whose association FAILED (invitation rejected or expired)
    feature_set: str = STANDARD

    def current(self, kind: str) -> set[str]:
        entries = self.principals if kind == "principal" else self.resources
        return {entity for entity, status in entries.items() if status in PRESENT}


@dataclass
class LiveShares:
    shares: list[LiveShare] = field(default_factory=list)  # sorted by ARN
    resolved: dict[str, str] = field(default_factory=dict)  # "kind:ref" -> ARN
    labels: dict[str, str] = field(default_factory=dict)  # ARN -> "kind:ref" for display
    unresolved: list[str] = field(default_factory=list)  # error messages
    # pool or opt-out list ARN -> ARNs of the identities that must be shared with it
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)


def ref_key(ref: ResourceRef) -> str:
    return f"{ref.kind}:{ref.ref}"


@register
class SharesArea(Area):
    section = SECTION
    resource_types = frozenset({"resource-share", "share-permission", "share-principal", "share-resource"})
    report = AreaReport(title="Resource shares (RAM)", order=40)
    name: ClassVar[str] = AREA
    read_order: ClassVar[int] = 80
    operations: ClassVar[tuple[ApiOperation, ...]] = (
        ram("GetResourceShares"),
        ram("GetResourceShareAssociations"),
        ram("ListResourceSharePermissions"),
        ram("CreateResourceShare", "write"),
        ram("UpdateResourceShare", "write"),
        ram("DeleteResourceShare", "write"),
        ram("AssociateResourceShare", "write"),
        ram("DisassociateResourceShare", "write"),
        ram("AssociateResourceSharePermission", "write"),
        # Not called directly: CreateResourceShare with tags needs ram:TagResource in IAM.
        ram("TagResource", "write"),
        ram("DisassociateResourceSharePermission", "write"),
        sms("DescribePhoneNumbers"),
        sms("DescribeSenderIds"),
        sms("DescribePools"),
        sms("DescribeOptOutLists"),
        sms("ListPoolOriginationIdentities"),
        sms("ListTagsForResource"),
    )

    def __init__(self) -> None:
        self._created: dict[str, str] = {}  # share name -> ARN created in this run

    def manages(self, desired: Desired) -> bool:
        # Always: a share the reconciler created is deleted when the policy drops it, even when the
        # policy drops its last share (one GetResourceShares call finds out).
        return True

    # Reading --------------------------------------------------------------------------------

    def read(self, api: Api, desired: Desired) -> LiveShares:
        named = {spec.name for spec in desired.shares}
        live = LiveShares(shares=list_shares(api))
        detail = [s for s in live.shares if s.feature_set == STANDARD
                  and (s.name in named or s.managed or AREA in desired.prune)]
        read_details(api, detail)
        # The other STANDARD shares' associations (not their permissions): a grant made outside
        # git must be reported with its principal and resource (areas/resource_policies/area.py).
        read_details(api, [s for s in live.shares if s.feature_set == STANDARD and not s.detailed],
                     permissions=False)
        resolve_references(api, desired, live)
        read_members(api, live, listed=bool(desired.phone_numbers))
        return live

    def read_everything(self, api: Api) -> LiveShares:
        """Every share this account owns, with associations (for ``import``)."""
        live = LiveShares(shares=list_shares(api))
        read_details(api, live.shares)
        return live

    # Diffing --------------------------------------------------------------------------------

    def diff(self, desired: Desired, live: LiveShares) -> list[Change]:
        if live.unresolved:
            raise UserError(
                "unresolved share references:\n  " + "\n  ".join(sorted(live.unresolved)),
                hint="fix the reference, or create the resource first (references are phone number ids "
                "or E.164 numbers, SENDER/CC, pool ids or Name tags, opt-out list names)",
            )
        changes: list[Change] = []
        matched: set[str] = set()
        for spec in sorted(desired.shares, key=lambda s: s.name):
            share = pick_share(live.shares, spec.name)
            if share is None:
                changes.append(self._create(desired, spec, live))
                continue
            matched.add(share.arn)
            changes.extend(self._update(desired, spec, share, live))
        for share in live.shares:
            if share.arn in matched or share.feature_set != STANDARD or not (share.managed or AREA in desired.prune):
                continue
            changes.append(
                Change(
                    AREA,
                    "delete",
                    "resource-share",
                    f"{AREA}/{share.name}",
                    before={"name": share.name, "arn": share.arn},
                    order=ORDER_SHARE_DELETE,
                    flags=frozenset({"deletion", FLAG_NEEDS_FORCE}),
                    data={"share_arn": share.arn},
                    summary=f"delete resource share {share.name} ("
                    + ("managed, no longer in the policy)" if share.managed else "unmanaged; prune)"),
                )
            )
        return changes

    def _create(self, desired: Desired, spec: ShareSpec, live: LiveShares) -> Change:
        resources = sorted({live.resolved[ref_key(ref)] for ref in spec.resources})
        principals = sorted(set(spec.principals))
        external = spec.allow_external_principals or any(
            maybe_external(desired, p) for p in principals if spec.allow_external_principals
        )
        return Change(
            AREA,
            "create",
            "resource-share",
            f"{AREA}/{spec.name}",
            after={
                "name": spec.name,
                "allow_external_principals": spec.allow_external_principals,
                "principals": principals,
                "resources": sorted(ref_key(ref) for ref in spec.resources),
                "permissions": sorted(permission_name(p) for p in wanted_permissions(spec)),
            },
            order=ORDER_SHARE,
            flags=frozenset({FLAG_EXTERNAL_PRINCIPALS}) if external else frozenset(),
            data={
                "name": spec.name,
                "principals": principals,
                "resource_arns": resources,
                "permission_arns": sorted(wanted_permissions(spec)),
                "allow_external_principals": spec.allow_external_principals,
            },
            summary=f"create resource share {spec.name} ({_count(len(principals), 'principal')}, "
                    f"{_count(len(resources), 'resource')})",
        )

    def _update(self, desired: Desired, spec: ShareSpec, share: LiveShare, live: LiveShares) -> list[Change]:
        changes: list[Change] = []
        base = f"{AREA}/{spec.name}"
        data = {"share_arn": share.arn}
        if share.allow_external_principals != spec.allow_external_principals:
            changes.append(
                Change(
                    AREA,
                    "update",
                    "resource-share",
                    base,
                    before={"allow_external_principals": share.allow_external_principals},
                    after={"allow_external_principals": spec.allow_external_principals},
                    order=ORDER_SHARE_OPEN if spec.allow_external_principals else ORDER_SHARE_CLOSE,
                    flags=frozenset({FLAG_EXTERNAL_PRINCIPALS}) if spec.allow_external_principals else frozenset(),
                    data={**data, "allow_external_principals": spec.allow_external_principals},
                    summary=f"{'allow' if spec.allow_external_principals else 'disallow'} external principals on {spec.name}",
                )
            )
        want_principals = set(spec.principals)
        have_principals = share.current("principal")
        for principal in sorted(want_principals - have_principals):
            external = spec.allow_external_principals and maybe_external(desired, principal)
            change = _member(base, "add", "principal", principal, principal, data, ORDER_SHARE,
                             frozenset({FLAG_EXTERNAL_PRINCIPALS}) if external else frozenset())
            if principal in share.failed:
                change = replace(change, summary=change.summary
                                 + " — its last invitation was rejected or expired; RAM sends a new one")
            changes.append(change)
        for principal in sorted(have_principals - want_principals):
            changes.append(_member(base, "remove", "principal", principal, principal, data, ORDER_UNSHARE))
        want_resources = {live.resolved[ref_key(ref)]: ref_key(ref) for ref in spec.resources}
        # Only sms-voice resources are the policy's business: a share may hold other types too.
        have_resources = {arn for arn in share.current("resource") if resource_ref(arn) is not None}
        for arn in sorted(set(want_resources) - have_resources):
            changes.append(_member(base, "add", "resource", arn, want_resources[arn], data, ORDER_SHARE))
        for arn in sorted(have_resources - set(want_resources)):
            label = live.labels.get(arn) or (ref_key(ref) if (ref := resource_ref(arn)) else arn)
            changes.append(_member(base, "remove", "resource", arn, label, data, ORDER_UNSHARE))
        want_permissions = wanted_permissions(spec)
        # Permissions for other resource types are left alone, as those resources are.
        have_permissions = {arn for arn in share.permissions if arn in PERMISSION_KINDS or arn in want_permissions}
        for arn in sorted(want_permissions - have_permissions):
            changes.append(
                Change(AREA, "associate", "share-permission", f"{base}/permission/{permission_name(arn)}",
                       after=permission_name(arn), order=ORDER_SHARE_OPEN, data={**data, "permission_arn": arn},
                       summary=f"associate permission {permission_name(arn)} with {spec.name}")
            )
        for arn in sorted(have_permissions - want_permissions):
            changes.append(
                # After the type's resources leave: RAM removes a permission only from a share
                # holding no resource of its type.
                Change(AREA, "disassociate", "share-permission", f"{base}/permission/{permission_name(arn)}",
                       before=permission_name(arn), order=ORDER_SHARE_CLOSE, data={**data, "permission_arn": arn},
                       summary=f"disassociate permission {permission_name(arn)} from {spec.name}")
            )
        return changes

    # Reporting ------------------------------------------------------------------------------

    def warnings(self, desired: Desired, live: LiveShares) -> list[str]:
        notes: list[str] = []
        for spec in sorted(desired.shares, key=lambda s: s.name):
            shared = {live.resolved.get(ref_key(ref)) for ref in spec.resources}
            for ref in sorted(spec.resources, key=ref_key):
                arn = live.resolved.get(ref_key(ref))
                missing = [m for m in live.members.get(arn or "", ()) if m not in shared]
                if missing:
                    where = f" ({ref.source or spec.source})" if (ref.source or spec.source) else ""
                    names = ", ".join(live.labels.get(m) or _short(m) for m in missing)
                    notes.append(
                        f"share {spec.name}: {ref.kind.replace('_', ' ')} {ref.ref} is shared without its members "
                        f"{names}; consumers cannot use it until they are in the same share{where}. "
                        f"Fix: add them to the share's resources"
                    )
        return notes

    def security(self, desired: Desired, live: LiveShares) -> list[dict[str, Any]]:
        # The grant model both sharing paths report with (areas/resource_policies/area.py).
        from reconciler.areas.resource_policies.area import ram_findings

        return ram_findings(desired, live)

    def unmanaged(self, desired: Desired, live: LiveShares) -> list[dict[str, Any]]:
        # Shares RAM made from resource policies (featureSet CREATED_FROM_POLICY) are the
        # resource_policies area's: it reads the policy behind each, and they are never changed here.
        named = {spec.name for spec in desired.shares}
        items: list[dict[str, Any]] = []
        if AREA not in desired.prune:
            items += [
                {"area": AREA, "type": "resource-share", "id": s.arn, "name": s.name}
                for s in live.shares
                if s.feature_set == STANDARD and s.name not in named and not s.managed
            ]
        return items

    def pending(self, desired: Desired, live: LiveShares) -> list[dict[str, Any]]:
        """Principals invited but not yet accepted: nothing is shared with them until they accept."""
        named = {spec.name for spec in desired.shares}
        return [
            {"area": AREA, "share": s.name, "share_arn": s.arn, "principal": principal,
             "status": "invitation-pending",
             "detail": f"account {principal} has not accepted the resource share invitation; it can use "
                       f"nothing shared by {s.name} until it accepts (aws ram accept-resource-share-invitation)"}
            for s in live.shares
            if s.name in named or s.managed
            for principal in s.pending
        ]

    def scope_sizes(self, desired: Desired, live: LiveShares) -> dict[str, int]:
        return {
            f"{AREA}/{s.name}": len(s.current("principal")) + len(s.current("resource"))
            for s in live.shares
            if s.detailed
        }

    def strategy(self, desired: Desired, live: LiveShares) -> str:
        detailed = sum(1 for s in live.shares if s.detailed)
        return f"listed {len(live.shares)} shares, read associations of {detailed}"

    # Applying -------------------------------------------------------------------------------

    def apply(self, api: Api, change: Change) -> None:
        data = change.data
        if change.resource_type == "resource-share":
            if change.action == "create":
                self._apply_create(api, data)
            elif change.action == "update":
                api.call(RAM, "UpdateResourceShare", resourceShareArn=data["share_arn"],
                         allowExternalPrincipals=bool(data["allow_external_principals"]))
            elif change.action == "delete":
                _tolerate(api, "DeleteResourceShare", {"UnknownResourceException"}, resourceShareArn=data["share_arn"])
            return
        if change.resource_type in ("share-principal", "share-resource"):
            field_name = "principals" if change.resource_type == "share-principal" else "resourceArns"
            operation = "AssociateResourceShare" if change.action == "add" else "DisassociateResourceShare"
            api.call(RAM, operation, resourceShareArn=data["share_arn"], **{field_name: [data["entity"]]})
            return
        if change.resource_type == "share-permission":
            if change.action == "associate":
                api.call(RAM, "AssociateResourceSharePermission", resourceShareArn=data["share_arn"],
                         permissionArn=data["permission_arn"], replace=True)
            else:
                api.call(RAM, "DisassociateResourceSharePermission", resourceShareArn=data["share_arn"],
                         permissionArn=data["permission_arn"])

    def _apply_create(self, api: Api, data: dict[str, Any]) -> None:
        name = str(data["name"])
        # No listing first: this run's read found no share of that name; a retry of this very call
        # (a lost answer) carries the same clientToken, which RAM answers with the share it created,
        # and a later run's read sees a share created before a crash.
        params: dict[str, Any] = {
            "name": name,
            "allowExternalPrincipals": bool(data["allow_external_principals"]),
            "tags": [{"key": MANAGED_BY_TAG, "value": MANAGED_BY_VALUE}],
            "clientToken": str(uuid.uuid4()),
        }
        if data["principals"]:
            params["principals"] = list(data["principals"])
        if data["resource_arns"]:
            params["resourceArns"] = list(data["resource_arns"])
        if data["permission_arns"]:
            params["permissionArns"] = list(data["permission_arns"])
        response = api.call(RAM, "CreateResourceShare", **params)
        self._created[name] = str(response["resourceShare"]["resourceShareArn"])


# Reads -------------------------------------------------------------------------------------


def list_shares(api: Api, name: str | None = None) -> list[LiveShare]:
    params: dict[str, Any] = {"resourceOwner": "SELF", "resourceShareStatus": "ACTIVE"}
    if name is not None:
        params["name"] = name
    shares: list[LiveShare] = []
    # The whole listing is read once per run and shared with the resource_policies area.
    pages = api.pages(RAM, "GetResourceShares", **params) if name is not None else api.listing(
        RAM, "GetResourceShares", **params)
    for page in pages:
        for item in page.get("resourceShares", []):
            tags = {t.get("key"): t.get("value") for t in item.get("tags", [])}
            feature_set = str(item.get("featureSet") or STANDARD)
            shares.append(
                LiveShare(
                    arn=item["resourceShareArn"],
                    name=item["name"],
                    allow_external_principals=bool(item.get("allowExternalPrincipals")),
                    managed=tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE and feature_set == STANDARD,
                    feature_set=feature_set,
                )
            )
    return sorted(shares, key=lambda s: s.arn)


def read_details(api: Api, shares: Sequence[LiveShare], permissions: bool = True) -> None:
    """Associations (two batched calls per 5 shares) and permissions (one call per share)."""
    by_arn = {s.arn: s for s in shares}
    arns = sorted(by_arn)
    for start in range(0, len(arns), SHARE_ARN_BATCH):
        batch = arns[start : start + SHARE_ARN_BATCH]
        for association_type in ("PRINCIPAL", "RESOURCE"):
            params = {"associationType": association_type, "resourceShareArns": batch, "maxResults": RAM_PAGE}
            for page in api.pages(RAM, "GetResourceShareAssociations", **params):
                for item in page.get("resourceShareAssociations", []):
                    share = by_arn.get(item["resourceShareArn"])
                    if share is None:
                        continue
                    entity, status = item["associatedEntity"], item["status"]
                    target = share.principals if association_type == "PRINCIPAL" else share.resources
                    # A share may list an entity twice (an old DISASSOCIATED row and a new one).
                    if status in PRESENT or entity not in target:
                        target[entity] = status
                    if association_type == "PRINCIPAL" and item.get("external") and status in PRESENT:
                        share.external = tuple(sorted({*share.external, entity}))
                    if association_type == "PRINCIPAL" and item.get("external") and status == "ASSOCIATING":
                        # An external account stays ASSOCIATING until it accepts RAM's invitation.
                        share.pending = tuple(sorted({*share.pending, entity}))
    for share in shares:
        share.failed = tuple(sorted(p for p, status in share.principals.items() if status == "FAILED"))
        if not permissions:
            continue
        found: set[str] = set()
        for page in api.pages(RAM, "ListResourceSharePermissions", resourceShareArn=share.arn):
            found.update(str(p["arn"]) for p in page.get("permissions", []))
        share.permissions = tuple(sorted(found))
        share.detailed = True


def wanted_permissions(spec: ShareSpec) -> set[str]:
    """Permission ARNs the share should carry: each resource kind's AWS managed default, except
    where the policy lists one of that kind, plus the ones the policy lists."""
    listed = {permission_arn(p) for p in spec.permissions}
    listed_kinds = {PERMISSION_KINDS.get(arn) for arn in listed}
    defaults = {DEFAULT_PERMISSIONS[ref.kind] for ref in spec.resources if ref.kind not in listed_kinds}
    return defaults | listed


def pick_share(shares: Sequence[LiveShare], name: str) -> LiveShare | None:
    """The live share of that name: a managed one first (RAM allows duplicate names). Shares RAM
    created from resource policies are never picked: RAM refuses to change them."""
    candidates = sorted((s for s in shares if s.name == name and s.feature_set == STANDARD),
                        key=lambda s: (not s.managed, s.arn))
    return candidates[0] if candidates else None


def maybe_external(desired: Desired, principal: str) -> bool:
    """Whether a principal may be outside the organization.

    Inside: the organization itself, its OUs, the target's account and the member accounts the
    policy declares (``organization.accounts``). Any other account may be external.
    """
    if principal == desired.target.account_id or principal in desired.organization_accounts:
        return False
    org = desired.organization_arn
    if org is None:
        return True
    org_id = org.rsplit("/", 1)[-1]
    if principal == org:
        return False
    return not (principal.startswith("arn:aws:organizations::") and f"/{org_id}/" in principal)


def resolve_references(api: Api, desired: Desired, live: LiveShares) -> None:
    """Map every resource reference of every desired share to an ARN, or record why not."""
    refs: dict[str, ResourceRef] = {}
    for spec in desired.shares:
        for ref in spec.resources:
            refs.setdefault(ref_key(ref), ref)
    by_kind: dict[str, list[ResourceRef]] = {}
    for ref in refs.values():
        by_kind.setdefault(ref.kind, []).append(ref)
    owner = (desired.target.region, desired.target.account_id)
    found: dict[str, str] = {}
    found.update(_resolve_numbers(api, by_kind.get("phone_number", [])))
    found.update(_resolve_sender_ids(api, by_kind.get("sender_id", [])))
    found.update(_resolve_pools(api, by_kind.get("pool", [])))
    planned = {spec.name for spec in desired.opt_out_lists}
    found.update(_resolve_lists(api, by_kind.get("opt_out_list", []), planned, owner))
    for key, ref in sorted(refs.items()):
        arn = found.get(key)
        if arn is None:
            where = str(ref.source) if ref.source else "the policy"
            live.unresolved.append(f"{where}: {ref.kind.replace('_', ' ')} {ref.ref!r} does not exist in "
                                   f"account {desired.target.account_id} {desired.target.region}")
        else:
            live.resolved[key] = arn
            live.labels[arn] = key


def _describe_by_ids(api: Api, operation: str, field_name: str, result_field: str, ids: Sequence[Any]) -> list[dict[str, Any]]:
    """Describe up to 5 ids per call; a batch with a missing id is retried one id at a time."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(ids), BATCH):
        batch = list(ids[start : start + BATCH])
        try:
            items.extend(api.call(SMS_VOICE, operation, **{field_name: batch}).get(result_field, []))
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            for one in batch:
                try:
                    items.extend(api.call(SMS_VOICE, operation, **{field_name: [one]}).get(result_field, []))
                except ClientError as inner:
                    if error_code(inner) != "ResourceNotFoundException":
                        raise
    return items


def _resolve_numbers(api: Api, refs: Sequence[ResourceRef]) -> dict[str, str]:
    if not refs:
        return {}
    found: dict[str, str] = {}
    if any(not ref.ref.startswith("phone-") for ref in refs):
        # E.164 references: DescribePhoneNumbers has no number filter, so list the account's numbers.
        for page in api.listing(SMS_VOICE, "DescribePhoneNumbers", MaxResults=100):
            for item in page.get("PhoneNumbers", []):
                found[f"phone_number:{item['PhoneNumberId']}"] = item["PhoneNumberArn"]
                found[f"phone_number:{item['PhoneNumber']}"] = item["PhoneNumberArn"]
        return found
    items = _describe_by_ids(api, "DescribePhoneNumbers", "PhoneNumberIds", "PhoneNumbers", sorted(r.ref for r in refs))
    return {f"phone_number:{item['PhoneNumberId']}": item["PhoneNumberArn"] for item in items}


def _resolve_sender_ids(api: Api, refs: Sequence[ResourceRef]) -> dict[str, str]:
    if not refs:
        return {}
    return {f"sender_id:{i['SenderId']}/{i['IsoCountryCode']}": i["SenderIdArn"] for i in own_sender_ids(api)}


def _resolve_pools(api: Api, refs: Sequence[ResourceRef]) -> dict[str, str]:
    if not refs:
        return {}
    found: dict[str, str] = {}
    ids = sorted(r.ref for r in refs if r.ref.startswith("pool-"))
    for item in _describe_by_ids(api, "DescribePools", "PoolIds", "Pools", ids):
        found[f"pool:{item['PoolId']}"] = item["PoolArn"]
    if any(not r.ref.startswith("pool-") for r in refs):
        # Name-tag references: list pools and read their tags (one call per pool).
        for page in api.listing(SMS_VOICE, "DescribePools", MaxResults=100):
            for item in page.get("Pools", []):
                tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=item["PoolArn"]).get("Tags", [])
                for tag in tags:
                    if tag.get("Key") == "Name":
                        found.setdefault(f"pool:{tag.get('Value')}", item["PoolArn"])
    return found


def _resolve_lists(api: Api, refs: Sequence[ResourceRef], planned: set[str], owner: tuple[str, str]) -> dict[str, str]:
    if not refs:
        return {}
    found = {f"opt_out_list:{name}": arn for name, arn in list_opt_out_lists(api).items()}
    region, account = owner
    for name in sorted(r.ref for r in refs):
        if name in planned:
            # Created by this plan's opt_outs changes (which run first): its ARN is documented.
            found.setdefault(f"opt_out_list:{name}", f"arn:aws:sms-voice:{region}:{account}:opt-out-list/{name}")
    return found


def read_members(api: Api, live: LiveShares, listed: bool = False) -> None:
    """Member identities of every referenced pool and opt-out list (the shared-pool/list rule)."""
    for arn in sorted(set(live.resolved.values())):
        kind = resource_ref(arn)
        if kind is None:
            continue
        if kind.kind == "pool":
            members: list[str] = []
            for page in api.pages(SMS_VOICE, "ListPoolOriginationIdentities", PoolId=kind.ref, MaxResults=100):
                members.extend(item["OriginationIdentityArn"] for item in page.get("OriginationIdentities", []))
            live.members[arn] = tuple(sorted(members))
        elif kind.kind == "opt_out_list":
            live.members[arn] = tuple(sorted(_list_users(api, kind.ref, listed)))


def _list_users(api: Api, list_name: str, listed: bool) -> list[str]:
    """Numbers and pools that use an opt-out list. ``listed``: the phone-number area lists every
    number and pool of the account in this run anyway, so filter those listings (no extra call);
    otherwise ask for the list's users only (one call per 100)."""
    if listed:
        users = [item["PhoneNumberArn"] for page in api.listing(SMS_VOICE, "DescribePhoneNumbers", MaxResults=100)
                 for item in page.get("PhoneNumbers", []) if item.get("OptOutListName") == list_name]
        users += [item["PoolArn"] for page in api.listing(SMS_VOICE, "DescribePools", MaxResults=100)
                  for item in page.get("Pools", []) if item.get("OptOutListName") == list_name]
        return users
    users = []
    filters = [{"Name": "opt-out-list-name", "Values": [list_name]}]
    for page in api.pages(SMS_VOICE, "DescribePhoneNumbers", Filters=filters, MaxResults=100):
        users.extend(item["PhoneNumberArn"] for item in page.get("PhoneNumbers", []))
    for page in api.pages(SMS_VOICE, "DescribePools", Filters=filters, MaxResults=100):
        users.extend(item["PoolArn"] for item in page.get("Pools", []))
    return users


def _member(base: str, action: str, kind: str, entity: str, label: str, data: dict[str, Any], order: int,
            flags: frozenset[str] = frozenset()) -> Change:
    verb = "share with" if kind == "principal" else "share"
    return Change(
        AREA,
        action,  # type: ignore[arg-type]
        f"share-{kind}",
        f"{base}/{kind}/{label}",
        before=label if action == "remove" else None,
        after=label if action == "add" else None,
        order=order,
        flags=flags,
        data={**data, "entity": entity},
        scope=base,
        summary=(f"{verb} {label}" if action == "add" else f"stop sharing {'with ' if kind == 'principal' else ''}{label}")
        + f" ({base.split('/', 1)[1]})",
    )


def _short(arn: str) -> str:
    ref = resource_ref(arn)
    return ref_key(ref) if ref else arn


def _tolerate(api: Api, operation: str, codes: set[str], **params: Any) -> None:
    try:
        api.call(RAM, operation, **params)
    except ClientError as error:
        if error_code(error) not in codes:
            raise


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
