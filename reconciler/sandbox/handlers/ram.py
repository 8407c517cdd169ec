"""AWS RAM: resource shares of sms-voice phone numbers, sender IDs, pools and opt-out lists.

Shares live in the owner's :class:`RegionState` (shares are regional). Associations start
ASSOCIATING / DISASSOCIATING and settle after ``World.settings["ram.association_delay"]`` seconds
of world-clock time (default 0: settled on the next read). Each behaviour's source (or the
reasoning of an *assumption*) is in docs/sandbox-operations.md; in short:

- Only the four sms-voice resource types can be shared, and only resources the caller owns in the
  share's Region; anything else is ``UnknownResourceException`` (a well-formed ARN that names no
  such resource) or ``MalformedArnException`` (not an ARN).
- Principals: 12-digit account ids, organization and OU ARNs (only when the owner is in that
  organization) and service principals (``sns.amazonaws.com``). IAM users and roles are refused
  (``InvalidParameterException``): sms-voice resources are shareable with accounts,
  organizations and OUs, not IAM roles or users. Sharing with yourself is
  ``InvalidParameterException``. ``sources`` constrain service principals and need one.
- An account outside the owner's organization receives a resource share invitation: its
  association stays ASSOCIATING (granting nothing) until it accepts; reject or expiry FAILS it.
  With ``allowExternalPrincipals=false`` such a principal is ``OperationNotPermittedException``.
- One AWS managed permission per resource type (:data:`sharing.DEFAULT_PERMISSIONS`): attached by
  default for every type in the share, replaced with ``replace=true``, removed only when no
  resource of its type is left.
- Shares RAM made from a resource policy (``featureSet`` CREATED_FROM_POLICY) cannot be modified
  through RAM (``OperationNotPermittedException``) until PromoteResourceShareCreatedFromPolicy.
- Deleted shares stay listed with status DELETED, and disassociated entities stay listed with
  status DISASSOCIATED, as in AWS for some time after the change.
- ``maxResults`` is 1–500 (the model); without it a page holds ``DEFAULT_PAGE_SIZE`` items.
- At most ``MAX_RESOURCE_SHARES`` (5,000, RAM's default quota) active shares per account and
  Region; one more is ``ResourceShareLimitExceededException``.
- ``clientToken``: a retried call with the same token and parameters answers the first result; the
  same token with other parameters is ``IdempotentParameterMismatchException``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import uuid
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox import paging, sharing
from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.registry import RAM, Call, operation
from reconciler.sandbox.state import RegionState, ResourceShare, ShareAssociation, ShareInvitation, World

DEFAULT_PAGE_SIZE = 100
PERMISSION_CREATED = datetime(2024, 1, 1, tzinfo=UTC)
ASSOCIATION_DELAY_SETTING = "ram.association_delay"
# RAM's default quota of resource shares per account and Region (deleted shares do not count).
MAX_RESOURCE_SHARES = 5000

_SHARE_ARN = re.compile(
    r"^arn:aws:ram:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):resource-share/(?P<id>[0-9a-f-]{36})$"
)
_ORG_ARN = re.compile(
    r"^arn:aws:organizations::\d{12}:(organization/o-[a-z0-9]{10,32}|ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"
)
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_ORG_PATH = re.compile(r"^o-[a-z0-9]{10,32}/r-[0-9a-z]{4,32}(/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})*/?$")
_INVITATION_ARN = re.compile(
    r"^arn:aws:ram:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):resource-share-invitation/[0-9a-f-]{36}$"
)
_RESOURCE_TYPE = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9]+$")

_TOKENS: weakref.WeakKeyDictionary[World, dict[tuple[str, str, str], tuple[str, dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def _error(code: str, message: str) -> ApiError:
    return ApiError(code, message)


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _delay(world: World) -> float:
    return float(world.settings.get(ASSOCIATION_DELAY_SETTING, 0.0))


# ---- idempotency -------------------------------------------------------------------------------


def _idempotent(call: Call, produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    token = call.params.get("clientToken")
    if not token:
        return produce()
    fingerprint = hashlib.sha256(json.dumps(call.params, sort_keys=True, default=str).encode()).hexdigest()
    tokens = _TOKENS.setdefault(call.world, {})
    key = (call.account, call.operation, token)
    seen = tokens.get(key)
    if seen is not None:
        if seen[0] != fingerprint:
            raise _error(
                "IdempotentParameterMismatchException",
                f"The client token {token} was already used with other parameters.",
            )
        return seen[1]
    result = produce()
    result["clientToken"] = token
    tokens[key] = (fingerprint, result)
    return result


# ---- lookups and checks ------------------------------------------------------------------------


def _own_share(call: Call, arn: str) -> ResourceShare:
    if not arn.startswith("arn:"):
        raise _error("MalformedArnException", f"The format of ARN {arn} is not valid.")
    match = _SHARE_ARN.match(arn)
    if match is None:
        raise _error("MalformedArnException", f"The format of ARN {arn} is not valid.")
    share = call.state.resource_shares.get(arn)
    if share is None or match["region"] != call.region:
        raise _error("UnknownResourceException", f"ResourceShare {arn} could not be found.")
    sharing.settle(share, call.now())
    return share


def _check_resource(call: Call, arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5]:
        raise _error("MalformedArnException", f"The format of ARN {arn} is not valid.")
    parsed = sharing.parse_sms_arn(arn)
    if parsed is None:
        raise _error("UnknownResourceException", f"Resource {arn} could not be found or is not shareable.")
    region, account, _, _ = parsed
    if region != call.region or account != call.account or sharing.find_resource(call.world, arn) is None:
        raise _error("UnknownResourceException", f"Resource {arn} could not be found.")
    return arn


def _check_principal(call: Call, principal: str, allow_external: bool) -> bool:
    """Validate one principal; returns whether it is external to the owner's organization."""
    if principal.isdigit() and len(principal) == 12:
        if principal == call.account:
            raise _error("InvalidParameterException", "You cannot share a resource with your own account.")
        external = not sharing.same_organization(call.world, call.account, principal)
    elif principal.startswith("arn:aws:iam::"):
        raise _error(
            "InvalidParameterException",
            f"Principal {principal}: sms-voice resources can be shared with accounts, organizations, OUs "
            "and service principals, not IAM roles or users.",
        )
    elif principal.startswith("arn:"):
        if _ORG_ARN.match(principal) is None:
            raise _error("MalformedArnException", f"The format of ARN {principal} is not valid.")
        org = str(call.world.organization.get(call.account, "")).split("/")[0]
        if not org or f"/{org}" not in principal.replace("organization/", "/"):
            raise _error(
                "OperationNotPermittedException",
                "Sharing with an organization or OU requires the owner to be a member of it with sharing enabled.",
            )
        external = False
    elif sharing.is_service_principal(principal):
        external = False  # service principals get access without an invitation
    else:
        raise _error(
            "InvalidParameterException",
            f"Principal {principal} is not an account id, an organization or OU ARN, or a service principal.",
        )
    if external and not allow_external:
        raise _error(
            "OperationNotPermittedException",
            f"The resource share does not allow external principals; {principal} is outside your organization.",
        )
    return external


def _permission_type(arn: str) -> str:
    """The resource type of a known permission ARN (``:version/N`` suffix allowed)."""
    if not arn.startswith("arn:aws:ram:"):
        raise _error("MalformedArnException", f"The format of ARN {arn} is not valid.")
    kind = sharing.PERMISSION_TYPES.get(arn.split(":version/")[0])
    if kind is None:
        raise _error("UnknownResourceException", f"Permission {arn} could not be found.")
    return kind


def _check_permissions(arns: Iterable[str]) -> dict[str, str]:
    """Resource type -> permission ARN; two permissions for one type is an error."""
    chosen: dict[str, str] = {}
    for arn in arns:
        kind = _permission_type(arn)
        base = arn.split(":version/")[0]
        if chosen.get(kind, base) != base:
            raise _error(
                "InvalidParameterException",
                f"You can associate only one permission with each resource type; {kind} was given two.",
            )
        chosen[kind] = base
    return chosen


def _resource_type(arn: str) -> str:
    parsed = sharing.parse_sms_arn(arn)
    return parsed[2] if parsed else ""


def _share_types(share: ResourceShare) -> set[str]:
    """Resource types with a live (ASSOCIATING/ASSOCIATED) resource association in the share."""
    return {
        _resource_type(a.entity)
        for a in share.associations
        if a.association_type == "RESOURCE" and a.status in ("ASSOCIATED", "ASSOCIATING")
    }


def _attach_defaults(share: ResourceShare) -> None:
    """RAM attaches the default permission of every resource type that has none yet."""
    have = {_permission_kind(p) for p in share.permission_arns}
    for kind in sorted(_share_types(share) - have):
        if kind in sharing.DEFAULT_PERMISSIONS:
            share.permission_arns.append(sharing.DEFAULT_PERMISSIONS[kind])
    share.permission_arns.sort()


def _permission_kind(arn: str) -> str:
    return sharing.PERMISSION_TYPES.get(arn, "")


def _check_sources(call: Call, share: ResourceShare | None, principals: Iterable[str]) -> list[str]:
    """``sources`` limit when service principals can access the share: they need one."""
    sources = list(call.params.get("sources") or [])
    if not sources:
        return []
    services = [p for p in principals if sharing.is_service_principal(p)]
    if share is not None:
        services += [
            a.entity
            for a in share.associations
            if a.association_type == "PRINCIPAL" and sharing.is_service_principal(a.entity)
            and a.status in ("ASSOCIATED", "ASSOCIATING")
        ]
    if not services:
        raise _error(
            "InvalidParameterException",
            "sources constrain service principals; the resource share has no service principal.",
        )
    for source in sources:
        if not (
            (source.isdigit() and len(source) == 12)
            or source.startswith("arn:")
            or _ORG_ID.match(source)
            or _ORG_PATH.match(source)
        ):
            raise _error(
                "InvalidParameterException",
                f"Source {source} is not an account id, an ARN, an organization id or an organization path.",
            )
    return sources


def _changeable_share(call: Call) -> ResourceShare:
    """The caller's own share of ``resourceShareArn``, as RAM lets it be changed: not created from a
    resource policy, and ACTIVE."""
    share = _own_share(call, call.params["resourceShareArn"])
    _refuse_policy_share(share)
    if share.status != "ACTIVE":
        raise _error("InvalidStateTransitionException", f"ResourceShare {share.arn} is {share.status}.")
    return share


def _refuse_policy_share(share: ResourceShare) -> None:
    if share.feature_set != "STANDARD":
        raise _error(
            "OperationNotPermittedException",
            f"ResourceShare {share.arn} was created from a resource policy ({share.feature_set}) and can't be "
            "modified by using RAM; promote it with PromoteResourceShareCreatedFromPolicy first.",
        )


def _associate(call: Call, share: ResourceShare, kind: str, entity: str, external: bool) -> ShareAssociation:
    now = call.now()
    if kind == "PRINCIPAL" and entity.isdigit() and external:
        # Outside the organization: RAM sends an invitation; the association waits for it.
        sharing.invite(share, call.region, entity, now)
    for association in share.associations:
        if association.association_type == kind and association.entity == entity:
            if association.status in ("ASSOCIATED", "ASSOCIATING"):
                return association
            association.status = "ASSOCIATING"
            association.status_message = ""
            association.updated = now
            association.settles_at = now + _delay(call.world)
            association.external = external
            return association
    association = ShareAssociation(kind, entity, "ASSOCIATING", now, now, external, now + _delay(call.world))
    share.associations.append(association)
    return association


def _withdraw_invitations(share: ResourceShare, principals: Iterable[str]) -> None:
    """Assumption: removing a principal (or deleting the share) withdraws its pending invitation,
    which is then no longer acceptable (listed as EXPIRED)."""
    wanted = set(principals)
    for invitation in share.invitations:
        if invitation.status == "PENDING" and invitation.receiver_account_id in wanted:
            invitation.status = "EXPIRED"


# ---- rendering ----------------------------------------------------------------------------------


def _tags(state: RegionState, arn: str) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in sorted(state.tags.get(arn, {}).items())]


def _share_view(state: RegionState, share: ResourceShare) -> dict[str, Any]:
    return {
        "resourceShareArn": share.arn,
        "name": share.name,
        "owningAccountId": share.owner_account_id,
        "allowExternalPrincipals": share.allow_external_principals,
        "status": share.status,
        "tags": _tags(state, share.arn),
        "creationTime": _ts(share.created),
        "lastUpdatedTime": _ts(share.updated),
        "featureSet": share.feature_set,
    }


def _association_view(share: ResourceShare, association: ShareAssociation) -> dict[str, Any]:
    return {
        "resourceShareArn": share.arn,
        "resourceShareName": share.name,
        "associatedEntity": association.entity,
        "associationType": association.association_type,
        "status": association.status,
        "creationTime": _ts(association.created),
        "lastUpdatedTime": _ts(association.updated),
        "external": association.external,
        **({"statusMessage": association.status_message} if association.status_message else {}),
    }


def _permission_view(arn: str, share: ResourceShare | None = None) -> dict[str, Any]:
    kind = _permission_kind(arn)
    if not kind:  # the permission RAM made from a resource policy (CREATED_FROM_POLICY shares)
        created = share.created if share else 0.0
        return {
            "arn": arn,
            "version": "1",
            "defaultVersion": True,
            "name": arn.rsplit("/", 1)[1],
            "resourceType": _resource_type(next((a.entity for a in share.associations
                                                 if a.association_type == "RESOURCE"), "")) if share else "",
            "status": "ATTACHABLE",
            "creationTime": _ts(created),
            "lastUpdatedTime": _ts(created),
            "isResourceTypeDefault": False,
            "permissionType": "CUSTOMER_MANAGED",
            "featureSet": "CREATED_FROM_POLICY",
        }
    return {
        "arn": arn,
        "version": "1",
        "defaultVersion": True,
        "name": sharing.DEFAULT_PERMISSION_NAMES[kind],
        "resourceType": kind,
        "status": "ATTACHABLE",
        "creationTime": PERMISSION_CREATED,
        "lastUpdatedTime": PERMISSION_CREATED,
        "isResourceTypeDefault": True,
        "permissionType": "AWS_MANAGED",
        "featureSet": "STANDARD",
    }


def _page(
    call: Call, items: list[tuple[str, dict[str, Any]]], scope: str
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``(unique sort key, view)`` items; RAM's own token and size errors."""
    items.sort(key=lambda pair: pair[0])
    keys = [key for key, _ in items]
    start = 0
    token = call.params.get("nextToken")
    full_scope = f"ram:{call.operation}:{call.account}:{call.region}:{scope}"
    if token:
        try:
            last = paging.decode_token(token, full_scope)
        except ApiError:
            raise _error(
                "InvalidNextTokenException", "The specified value for nextToken is not valid."
            ) from None
        if not isinstance(last, str):
            raise _error("InvalidNextTokenException", "The specified value for nextToken is not valid.")
        start = bisect.bisect_right(keys, last)
    size = int(call.params.get("maxResults") or DEFAULT_PAGE_SIZE)
    chunk = items[start : start + size]
    more = start + size < len(items)
    return [view for _, view in chunk], paging.encode_token(
        full_scope, chunk[-1][0]
    ) if more and chunk else None


def _paged(key: str, views: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {key: views}
    if token:
        result["nextToken"] = token
    return result


def _canonical_type(value: str) -> str | None:
    """The RAM resource type string, or ``None`` for a syntactically valid type not emulated."""
    if _RESOURCE_TYPE.match(value) is None:
        raise _error("InvalidResourceTypeException", f"The specified resource type {value} is not valid.")
    for known in sharing.SHAREABLE_TYPES:
        if known.lower() == value.lower():
            return known
    return None


def _all_shares(world: World, region: str) -> list[tuple[RegionState, ResourceShare]]:
    now = world.clock.now()
    found = []
    for (_, share_region), state in sorted(world.regions.items()):
        if share_region != region:
            continue
        for share in state.resource_shares.values():
            sharing.settle(share, now)
            found.append((state, share))
    return found


def _shares_for(call: Call, owner: str) -> list[tuple[RegionState, ResourceShare]]:
    """Caller's own shares (SELF) or shares other accounts share with the caller (OTHER-ACCOUNTS)."""
    if owner == "SELF":
        return [(s, share) for s, share in _all_shares(call.world, call.region) if s.account == call.account]
    visible = {share.arn for share in sharing.shares_visible_to(call.world, call.account, call.region)}
    return [(s, share) for s, share in _all_shares(call.world, call.region) if share.arn in visible]


def _check_arn_list(arns: Iterable[str]) -> None:
    for arn in arns:
        if _SHARE_ARN.match(arn) is None:
            raise _error("MalformedArnException", f"The format of ARN {arn} is not valid.")


# ---- operations ---------------------------------------------------------------------------------


@operation(RAM, "CreateResourceShare")
def create_resource_share(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        params = call.params
        allow_external = bool(params.get("allowExternalPrincipals", True))
        resources = [_check_resource(call, arn) for arn in params.get("resourceArns", [])]
        principals = [(p, _check_principal(call, p, allow_external)) for p in params.get("principals", [])]
        sources = _check_sources(call, None, [p for p, _ in principals])
        permissions = _check_permissions(params.get("permissionArns", []))
        tags = params.get("tags", [])
        active = sum(1 for share in call.state.resource_shares.values() if share.status == "ACTIVE")
        if active >= MAX_RESOURCE_SHARES:
            raise _error(
                "ResourceShareLimitExceededException",
                f"The operation failed because it would exceed the limit of {MAX_RESOURCE_SHARES} "
                "resource shares for your account.",
            )
        now = call.now()
        arn = f"arn:aws:ram:{call.region}:{call.account}:resource-share/{uuid.uuid4()}"
        share = ResourceShare(
            arn, params["name"], call.account, allow_external, now, now, "ACTIVE", sorted(permissions.values())
        )
        call.state.resource_shares[arn] = share
        if tags:
            call.state.tags[arn] = {tag["key"]: tag.get("value", "") for tag in tags}
        for principal, external in principals:
            _associate(call, share, "PRINCIPAL", principal, external)
        for resource in resources:
            _associate(call, share, "RESOURCE", resource, False)
        for source in sources:
            _associate(call, share, "SOURCE", source, False)
        _attach_defaults(share)
        return {"resourceShare": _share_view(call.state, share)}

    return _idempotent(call, produce)


@operation(RAM, "UpdateResourceShare")
def update_resource_share(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        share = _own_share(call, call.params["resourceShareArn"])
        _refuse_policy_share(share)
        if share.status != "ACTIVE":
            raise _error("OperationNotPermittedException", f"ResourceShare {share.arn} is {share.status}.")
        if "name" in call.params:
            share.name = call.params["name"]
        if "allowExternalPrincipals" in call.params:
            allow = bool(call.params["allowExternalPrincipals"])
            live_external = [
                a.entity
                for a in share.associations
                if a.association_type == "PRINCIPAL"
                and a.external
                and a.status in ("ASSOCIATED", "ASSOCIATING")
            ]
            if not allow and live_external:
                # Strictest plausible: refuse rather than silently cut off external consumers.
                raise _error(
                    "OperationNotPermittedException",
                    f"The resource share has external principals ({', '.join(sorted(live_external))}); disassociate them first.",
                )
            share.allow_external_principals = allow
        share.updated = call.now()
        return {"resourceShare": _share_view(call.state, share)}

    return _idempotent(call, produce)


@operation(RAM, "DeleteResourceShare")
def delete_resource_share(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        share = _own_share(call, call.params["resourceShareArn"])
        _refuse_policy_share(share)
        if share.status != "ACTIVE":
            raise _error(
                "InvalidStateTransitionException", f"ResourceShare {share.arn} is already {share.status}."
            )
        now = call.now()
        share.status = "DELETED"
        share.updated = now
        _withdraw_invitations(share, [i.receiver_account_id for i in share.invitations])
        for association in share.associations:
            if association.status in ("ASSOCIATED", "ASSOCIATING", "DISASSOCIATING"):
                association.status = "DISASSOCIATED"
                association.updated = now
        return {"returnValue": True}

    return _idempotent(call, produce)


@operation(RAM, "GetResourceShares")
def get_resource_shares(call: Call) -> dict[str, Any]:
    params = call.params
    wanted_arns = params.get("resourceShareArns")
    if wanted_arns:
        _check_arn_list(wanted_arns)
    if params.get("permissionArn"):
        _check_permissions([params["permissionArn"]])
    filters = params.get("tagFilters", [])
    items = []
    for state, share in _shares_for(call, params["resourceOwner"]):
        if wanted_arns and share.arn not in wanted_arns:
            continue
        if params["resourceOwner"] == "OTHER-ACCOUNTS" and share.feature_set == "CREATED_FROM_POLICY":
            continue  # visible to the owner only until promoted
        if "resourceShareStatus" in params and share.status != params["resourceShareStatus"]:
            continue
        if "name" in params and share.name != params["name"]:
            continue
        if (
            params.get("permissionArn")
            and params["permissionArn"].split(":version/")[0] not in share.permission_arns
        ):
            continue
        tags = state.tags.get(share.arn, {})
        if not all(
            f.get("tagKey") in tags and (not f.get("tagValues") or tags[f["tagKey"]] in f["tagValues"])
            for f in filters
        ):
            continue
        items.append((share.arn, _share_view(state, share)))
    views, token = _page(call, items, params["resourceOwner"])
    return _paged("resourceShares", views, token)


@operation(RAM, "AssociateResourceShare")
def associate_resource_share(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        share = _changeable_share(call)
        resources = [_check_resource(call, arn) for arn in call.params.get("resourceArns", [])]
        principals = [
            (p, _check_principal(call, p, share.allow_external_principals))
            for p in call.params.get("principals", [])
        ]
        sources = _check_sources(call, share, [p for p, _ in principals])
        if not resources and not principals and not sources:
            raise _error("MissingRequiredParameterException", "Specify resourceArns, principals or sources.")
        views = []
        for principal, external in principals:
            views.append(_association_view(share, _associate(call, share, "PRINCIPAL", principal, external)))
        for resource in resources:
            views.append(_association_view(share, _associate(call, share, "RESOURCE", resource, False)))
        for source in sources:
            views.append(_association_view(share, _associate(call, share, "SOURCE", source, False)))
        _attach_defaults(share)
        share.updated = call.now()
        return {"resourceShareAssociations": views}

    return _idempotent(call, produce)


@operation(RAM, "DisassociateResourceShare")
def disassociate_resource_share(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        share = _changeable_share(call)
        entities = [("RESOURCE", arn) for arn in call.params.get("resourceArns", [])]
        entities += [("PRINCIPAL", p) for p in call.params.get("principals", [])]
        entities += [("SOURCE", source) for source in call.params.get("sources", [])]
        if not entities:
            raise _error("MissingRequiredParameterException", "Specify resourceArns, principals or sources.")
        now = call.now()
        targets = []
        for kind, entity in entities:
            if kind == "RESOURCE" and not entity.startswith("arn:"):
                raise _error("MalformedArnException", f"The format of ARN {entity} is not valid.")
            match = next(
                (
                    a
                    for a in share.associations
                    if a.association_type == kind
                    and a.entity == entity
                    and a.status in ("ASSOCIATED", "ASSOCIATING")
                ),
                None,
            )
            if match is None:
                raise _error(
                    "UnknownResourceException", f"{entity} is not associated with ResourceShare {share.arn}."
                )
            targets.append(match)
        _withdraw_invitations(share, [a.entity for a in targets if a.association_type == "PRINCIPAL"])
        for association in targets:
            association.status = "DISASSOCIATING"
            association.updated = now
            association.settles_at = now + _delay(call.world)
        share.updated = now
        return {"resourceShareAssociations": [_association_view(share, a) for a in targets]}

    return _idempotent(call, produce)


@operation(RAM, "GetResourceShareAssociations")
def get_resource_share_associations(call: Call) -> dict[str, Any]:
    params = call.params
    kind = params["associationType"]
    if params.get("resourceArn") and kind != "RESOURCE":
        raise _error(
            "InvalidParameterException", "resourceArn can be used only with associationType RESOURCE."
        )
    if params.get("principal") and kind != "PRINCIPAL":
        raise _error(
            "InvalidParameterException", "principal can be used only with associationType PRINCIPAL."
        )
    wanted = params.get("resourceShareArns")
    if wanted:
        _check_arn_list(wanted)
    items = []
    for _, share in _shares_for(call, "SELF"):
        if wanted and share.arn not in wanted:
            continue
        for association in share.associations:
            if association.association_type != kind:
                continue
            if params.get("resourceArn") and association.entity != params["resourceArn"]:
                continue
            if params.get("principal") and association.entity != params["principal"]:
                continue
            if params.get("associationStatus") and association.status != params["associationStatus"]:
                continue
            items.append((f"{share.arn}|{association.entity}", _association_view(share, association)))
    views, token = _page(call, items, kind)
    return _paged("resourceShareAssociations", views, token)


@operation(RAM, "ListResources")
def list_resources(call: Call) -> dict[str, Any]:
    params = call.params
    wanted_type = _canonical_type(params["resourceType"]) if params.get("resourceType") else None
    if params.get("resourceType") and wanted_type is None:
        return {"resources": []}
    if params.get("resourceRegionScope") == "GLOBAL":
        return {"resources": []}
    if params.get("principal") and params["resourceOwner"] == "OTHER-ACCOUNTS":
        raise _error("InvalidParameterException", "principal can be used only with resourceOwner SELF.")
    wanted_shares = params.get("resourceShareArns")
    if wanted_shares:
        _check_arn_list(wanted_shares)
    wanted_arns = params.get("resourceArns")
    items = []
    for _, share in _shares_for(call, params["resourceOwner"]):
        if share.status != "ACTIVE" or (wanted_shares and share.arn not in wanted_shares):
            continue
        principals = [
            a for a in share.associations if a.association_type == "PRINCIPAL" and a.status == "ASSOCIATED"
        ]
        if params.get("principal") and not any(a.entity == params["principal"] for a in principals):
            continue
        for association in share.associations:
            if association.association_type != "RESOURCE" or association.status != "ASSOCIATED":
                continue
            parsed = sharing.parse_sms_arn(association.entity)
            resource_type = parsed[2] if parsed else "unknown"
            if wanted_type and resource_type != wanted_type:
                continue
            if wanted_arns and association.entity not in wanted_arns:
                continue
            exists = sharing.find_resource(call.world, association.entity) is not None
            view = {
                "arn": association.entity,
                "type": resource_type,
                "resourceShareArn": share.arn,
                "status": "AVAILABLE" if exists else "UNAVAILABLE",
                "creationTime": _ts(association.created),
                "lastUpdatedTime": _ts(association.updated),
                "resourceRegionScope": "REGIONAL",
            }
            if not exists:
                view["statusMessage"] = "The resource no longer exists."
            items.append((f"{association.entity}|{share.arn}", view))
    views, token = _page(call, items, params["resourceOwner"])
    return _paged("resources", views, token)


@operation(RAM, "ListPrincipals")
def list_principals(call: Call) -> dict[str, Any]:
    params = call.params
    owner = params["resourceOwner"]
    wanted_type = _canonical_type(params["resourceType"]) if params.get("resourceType") else None
    if params.get("resourceType") and wanted_type is None:
        return {"principals": []}
    wanted_shares = params.get("resourceShareArns")
    if wanted_shares:
        _check_arn_list(wanted_shares)
    items = []
    for _, share in _shares_for(call, owner):
        if share.status != "ACTIVE" or (wanted_shares and share.arn not in wanted_shares):
            continue
        resources = [
            a.entity
            for a in share.associations
            if a.association_type == "RESOURCE" and a.status == "ASSOCIATED"
        ]
        if params.get("resourceArn") and params["resourceArn"] not in resources:
            continue
        if wanted_type and not any(
            (sharing.parse_sms_arn(r) or ("", "", "", ""))[2] == wanted_type for r in resources
        ):
            continue
        if owner == "OTHER-ACCOUNTS":
            # Shared with me: the principals are the accounts that share with the caller.
            view = {
                "id": share.owner_account_id,
                "resourceShareArn": share.arn,
                "creationTime": _ts(share.created),
                "lastUpdatedTime": _ts(share.updated),
                "external": not sharing.same_organization(call.world, call.account, share.owner_account_id),
            }
            items.append((f"{share.owner_account_id}|{share.arn}", view))
            continue
        for association in share.associations:
            if association.association_type != "PRINCIPAL" or association.status != "ASSOCIATED":
                continue
            if params.get("principals") and association.entity not in params["principals"]:
                continue
            view = {
                "id": association.entity,
                "resourceShareArn": share.arn,
                "creationTime": _ts(association.created),
                "lastUpdatedTime": _ts(association.updated),
                "external": association.external,
            }
            items.append((f"{association.entity}|{share.arn}", view))
    views, token = _page(call, items, owner)
    return _paged("principals", views, token)


@operation(RAM, "ListPermissions")
def list_permissions(call: Call) -> dict[str, Any]:
    params = call.params
    if params.get("permissionType") == "CUSTOMER_MANAGED":
        return {"permissions": []}
    types = list(sharing.SHAREABLE_TYPES)
    if params.get("resourceType"):
        wanted = _canonical_type(params["resourceType"])
        types = [wanted] if wanted else []
    items = [(sharing.DEFAULT_PERMISSIONS[t], _permission_view(sharing.DEFAULT_PERMISSIONS[t])) for t in types]
    views, token = _page(call, items, "permissions")
    return _paged("permissions", views, token)


@operation(RAM, "ListResourceSharePermissions")
def list_resource_share_permissions(call: Call) -> dict[str, Any]:
    arn = call.params["resourceShareArn"]
    _check_arn_list([arn])
    share = call.state.resource_shares.get(arn)
    if share is None:
        visible = {s.arn: s for s in sharing.shares_visible_to(call.world, call.account, call.region)}
        share = visible.get(arn)
    if share is None:
        raise _error("UnknownResourceException", f"ResourceShare {arn} could not be found.")
    sharing.settle(share, call.now())
    items = [(p, _permission_view(p, share)) for p in share.permission_arns]
    views, token = _page(call, items, arn)
    return _paged("permissions", views, token)


@operation(RAM, "AssociateResourceSharePermission")
def associate_resource_share_permission(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        share = _changeable_share(call)
        kind = _permission_type(call.params["permissionArn"])
        permission = sharing.DEFAULT_PERMISSIONS[kind]
        version = call.params.get("permissionVersion")
        if version is not None and version != 1:
            raise _error("InvalidParameterException", f"Permission {permission} has no version {version}.")
        current = [p for p in share.permission_arns if _permission_kind(p) == kind]
        if current == [permission]:
            return {"returnValue": True}
        if current and not call.params.get("replace"):
            raise _error(
                "InvalidParameterException",
                f"ResourceShare {share.arn} already has a permission for {kind}; set replace to true to replace it.",
            )
        share.permission_arns = sorted({p for p in share.permission_arns if p not in current} | {permission})
        share.updated = call.now()
        return {"returnValue": True}

    return _idempotent(call, produce)


@operation(RAM, "DisassociateResourceSharePermission")
def disassociate_resource_share_permission(call: Call) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        share = _changeable_share(call)
        kind = _permission_type(call.params["permissionArn"])
        permission = call.params["permissionArn"].split(":version/")[0]
        if permission not in share.permission_arns:
            raise _error(
                "UnknownResourceException",
                f"Permission {permission} is not associated with ResourceShare {share.arn}.",
            )
        if kind in _share_types(share):
            raise _error(
                "OperationNotPermittedException",
                f"ResourceShare {share.arn} still has {kind} resources; a permission can be removed only when "
                "no resource of its type is in the resource share.",
            )
        share.permission_arns = [p for p in share.permission_arns if p != permission]
        share.updated = call.now()
        return {"returnValue": True}

    return _idempotent(call, produce)


@operation(RAM, "PromoteResourceShareCreatedFromPolicy")
def promote_resource_share_created_from_policy(call: Call) -> dict[str, Any]:
    share = _own_share(call, call.params["resourceShareArn"])
    if share.feature_set == "STANDARD":
        raise _error(
            "InvalidStateTransitionException",
            f"ResourceShare {share.arn} is already a STANDARD resource share.",
        )
    if share.feature_set == "CREATED_FROM_POLICY":
        if not share.policy_permission_promoted:
            raise _error(
                "UnmatchedPolicyPermissionException",
                "No customer managed permission matches the resource share's CREATED_FROM_POLICY permission; "
                "run PromotePermissionCreatedFromPolicy first.",
            )
        # Assumption: the promotion completes before the next read (PROMOTING_TO_STANDARD is
        # observable only inside this call); the promoted permission keeps its ARN.
        share.feature_set = "STANDARD"
        share.updated = call.now()
        sharing.unlink_promoted(call.state, share.arn)
    return {"returnValue": True}


# ---- invitations ----------------------------------------------------------------------------------


def _received(call: Call) -> list[tuple[ResourceShare, ShareInvitation]]:
    """Invitations in the caller's Region sent to the caller, every owner's shares settled."""
    found = []
    for _, share in _all_shares(call.world, call.region):
        for invitation in share.invitations:
            if invitation.receiver_account_id == call.account:
                found.append((share, invitation))
    return found


def _invitation_view(share: ResourceShare, invitation: ShareInvitation) -> dict[str, Any]:
    return {
        "resourceShareInvitationArn": invitation.arn,
        "resourceShareName": share.name,
        "resourceShareArn": share.arn,
        "senderAccountId": share.owner_account_id,
        "receiverAccountId": invitation.receiver_account_id,
        "invitationTimestamp": _ts(invitation.created),
        "status": invitation.status,
    }


def _check_invitation_arn(arn: str) -> None:
    if _INVITATION_ARN.match(arn) is None:
        raise _error("MalformedArnException", f"The format of ARN {arn} is not valid.")


@operation(RAM, "GetResourceShareInvitations")
def get_resource_share_invitations(call: Call) -> dict[str, Any]:
    params = call.params
    wanted = params.get("resourceShareInvitationArns")
    shares = params.get("resourceShareArns")
    if wanted and shares:
        raise _error(
            "InvalidParameterException", "Specify resourceShareInvitationArns or resourceShareArns, not both."
        )
    for arn in wanted or []:
        _check_invitation_arn(arn)
    if shares:
        _check_arn_list(shares)
    received = _received(call)
    if wanted:
        known = {invitation.arn for _, invitation in received}
        missing = sorted(set(wanted) - known)
        if missing:
            raise _error(
                "ResourceShareInvitationArnNotFoundException",
                f"ResourceShareInvitation {missing[0]} could not be found.",
            )
    items = [
        (invitation.arn, _invitation_view(share, invitation))
        for share, invitation in received
        if (not wanted or invitation.arn in wanted) and (not shares or share.arn in shares)
    ]
    views, token = _page(call, items, "invitations")
    return _paged("resourceShareInvitations", views, token)


def _answer(call: Call, answer: str) -> dict[str, Any]:
    def produce() -> dict[str, Any]:
        arn = call.params["resourceShareInvitationArn"]
        _check_invitation_arn(arn)
        found = next(((s, i) for s, i in _received(call) if i.arn == arn), None)
        if found is None:
            raise _error("ResourceShareInvitationArnNotFoundException", f"ResourceShareInvitation {arn} could not be found.")
        share, invitation = found
        errors = {
            "ACCEPTED": "ResourceShareInvitationAlreadyAcceptedException",
            "REJECTED": "ResourceShareInvitationAlreadyRejectedException",
            "EXPIRED": "ResourceShareInvitationExpiredException",
        }
        if invitation.status != "PENDING":
            raise _error(errors[invitation.status], f"ResourceShareInvitation {arn} is {invitation.status}.")
        invitation.status = answer
        sharing.end_invitation(share, invitation, call.now())
        return {"resourceShareInvitation": _invitation_view(share, invitation)}

    return _idempotent(call, produce)


@operation(RAM, "AcceptResourceShareInvitation")
def accept_resource_share_invitation(call: Call) -> dict[str, Any]:
    return _answer(call, "ACCEPTED")


@operation(RAM, "RejectResourceShareInvitation")
def reject_resource_share_invitation(call: Call) -> dict[str, Any]:
    return _answer(call, "REJECTED")
