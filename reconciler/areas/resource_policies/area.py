"""Resource-based policies of phone numbers, sender IDs, pools and opt-out lists (PutResourcePolicy).

The second path by which a resource reaches another account, beside RAM shares (areas/shares/).
RAM turns each policy into a ``CREATED_FROM_POLICY`` share it refuses to change: that share is
attributed here, to the policy that made it, and never touched through RAM.

Read: every shareable resource of the target is listed (listings shared with the other areas).
RAM turns every resource policy into a CREATED_FROM_POLICY share, so a plan reads the policy
(GetResourcePolicy, 1 request/s) of the resources those shares hold and of the resources the
policy declares; ``drift`` and ``import`` trust no such link and read the policy of every
shareable resource, so a grant made in the console on any resource shows. Diff: the declared grants (``resource_policies``) are
compared with the live document's grants principal by principal, action by action (the text may
differ; the effect may not). Any live grant the policy does not declare is a *security finding*
(``Area.security``), shown first by every report and counted as drift; a declared policy is
rewritten without it, an undeclared one is deleted only with ``prune: [resource_policies]``.

Write order (no moment wider than both the old and the new state): a policy that only narrows is
written before any RAM share grows (:data:`ORDER_NARROW`); one that only widens after every RAM
share shrank (:data:`ORDER_WIDEN`); one that trades grants for others is written twice, first the
grants old and new have in common, then the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from reconciler.areas.base import ApiOperation, Area, register, sms
from reconciler.areas.opt_outs.area import list_opt_out_lists
from reconciler.areas.phone_numbers.area import own_sender_ids
from reconciler.areas.resource_policies.language import Grant, document, grants_of, parse_document
from reconciler.areas.resource_policies.policy import SECTION
from reconciler.areas.resource_policies.spec import ResourcePolicySpec
from reconciler.aws import RAM, SMS_VOICE, Api, error_code
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.plan import FLAG_NEEDS_FORCE, ORDER_SHARE, ORDER_UNSHARE, Change
from reconciler.report.area_report import AreaReport

AREA = "resource_policies"
ORDER_NARROW = ORDER_SHARE - 2  # before RAM shares grow
ORDER_WIDEN = ORDER_UNSHARE + 2  # after RAM shares shrank
FLAG_GRANTS_ACCESS = "grants-access"
FLAG_REVOKES_UNDECLARED = "revokes-grants"
SECURITY_UNDECLARED = "undeclared-grant"
PAGE = 100
RAM_PAGE = 500
SHARE_ARN_BATCH = 5  # resourceShareArns per GetResourceShareAssociations call, as areas/shares.py
# Commands that must see every grant, trusting no link between a policy and RAM.
VERIFYING_COMMANDS = frozenset({"drift", "import"})
ARN_KINDS = {"phone-number": "phone_number", "sender-id": "sender_id", "pool": "pool", "opt-out-list": "opt_out_list"}
KINDS = tuple(ARN_KINDS.values())


@dataclass
class LiveResource:
    arn: str
    kind: str  # phone_number | sender_id | pool | opt_out_list
    label: str  # how reports name it: "phone_number +18885550100", "pool pool-…"
    opt_out_list: str | None = None  # the list a number or pool honours
    document: str | None = None  # None: no resource policy
    grants: tuple[Grant, ...] = ()
    unreadable: bool = False  # a document whose grants cannot be read


@dataclass
class LivePolicies:
    resources: dict[str, LiveResource] = field(default_factory=dict)  # by ARN
    resolved: dict[str, str] = field(default_factory=dict)  # "kind:ref" -> ARN
    planned: dict[str, str] = field(default_factory=dict)  # "kind:ref" -> ARN of a list this plan creates
    reads: int = 0  # GetResourcePolicy calls
    complete: bool = False  # every resource's policy was read (drift, import), not only linked ones


def ref_key(kind: str, ref: str) -> str:
    return f"{kind}:{ref}"


@register
class ResourcePoliciesArea(Area):
    name: ClassVar[str] = AREA
    read_order: ClassVar[int] = 85
    section = SECTION
    resource_types = frozenset({"resource-policy"})
    report = AreaReport(title="Resource policies", order=45,
                        finding_paths={"resource-policy": "resource policy", "ram-share": "RAM share"})
    operations: ClassVar[tuple[ApiOperation, ...]] = (
        sms("DescribePhoneNumbers"),
        sms("DescribeSenderIds"),
        sms("DescribePools"),
        sms("DescribeOptOutLists"),
        sms("ListTagsForResource"),
        sms("GetResourcePolicy"),
        ApiOperation(RAM, "GetResourceShares", "ram:GetResourceShares", 1.0, "read"),
        ApiOperation(RAM, "GetResourceShareAssociations", "ram:GetResourceShareAssociations", 1.0, "read"),
        sms("PutResourcePolicy", mode="write"),
        sms("DeleteResourcePolicy", mode="write"),
    )

    def manages(self, desired: Desired) -> bool:
        # Always: a grant made outside git must show even when the policy declares none.
        return True

    # Reading --------------------------------------------------------------------------------

    def read(self, api: Api, desired: Desired) -> LivePolicies:
        complete = self.command in VERIFYING_COMMANDS
        linked = set() if complete else linked_resources(api)
        # A plan lists only the kinds it needs names for; drift and import list every kind.
        kinds = set(KINDS) if complete else ({s.resource.kind for s in desired.resource_policies}
                                             | {k for k in map(kind_of, linked) if k})
        live = list_resources(api, desired, kinds)
        live.complete = complete
        if complete:
            wanted = set(live.resources)
        else:
            declared = {self._arn(spec, live) for spec in desired.resource_policies}
            wanted = (linked | {a for a in declared if a}) & set(live.resources)
        for arn in sorted(wanted):
            read_policy(api, live, arn)
        return live

    def read_everything(self, api: Api, desired: Desired) -> LivePolicies:
        self.command = "import"
        return self.read(api, desired)

    # Diffing --------------------------------------------------------------------------------

    def diff(self, desired: Desired, live: LivePolicies) -> list[Change]:
        unresolved = [f"{spec.resource.source or 'the policy'}: {spec.resource.kind.replace('_', ' ')} "
                      f"{spec.resource.ref!r} does not exist in account {desired.target.account_id} "
                      f"{desired.target.region}"
                      for spec in desired.resource_policies if self._arn(spec, live) is None]
        if unresolved:
            raise UserError("unresolved resource policy references:\n  " + "\n  ".join(sorted(unresolved)),
                            hint="fix the reference, or create the resource first")
        changes: list[Change] = []
        declared: set[str] = set()
        for spec in sorted(desired.resource_policies, key=lambda s: ref_key(s.resource.kind, s.resource.ref)):
            arn = str(self._arn(spec, live))
            declared.add(arn)
            resource = live.resources.get(arn)
            label = resource.label if resource else f"{spec.resource.kind} {spec.resource.ref}"
            have = frozenset(resource.grants) if resource and resource.document is not None else None
            changes += steps(arn, label, have, grants_of(spec), resource is not None and resource.unreadable)
        if AREA in desired.prune:
            for arn, resource in sorted(live.resources.items()):
                if arn not in declared and resource.document is not None:
                    changes.append(_delete(arn, resource.label, frozenset(resource.grants), ORDER_NARROW,
                                           frozenset({"deletion", FLAG_NEEDS_FORCE, FLAG_REVOKES_UNDECLARED}),
                                           "not in the policy; prune"))
        return changes

    @staticmethod
    def _arn(spec: ResourcePolicySpec, live: LivePolicies) -> str | None:
        key = ref_key(spec.resource.kind, spec.resource.ref)
        return live.resolved.get(key) or live.planned.get(key)

    # Reporting ------------------------------------------------------------------------------

    def security(self, desired: Desired, live: LivePolicies) -> list[dict[str, Any]]:
        """Every live grant the policy does not declare, one finding per principal and resource."""
        wanted: dict[str, frozenset[Grant]] = {}
        for spec in desired.resource_policies:
            arn = self._arn(spec, live)
            if arn is not None:
                wanted[arn] = grants_of(spec)
        findings = []
        for arn, resource in sorted(live.resources.items()):
            if resource.document is None:
                continue
            extra = sorted(set(resource.grants) - wanted.get(arn, frozenset()))
            by_principal: dict[str, list[str]] = {}
            for grant in extra:
                by_principal.setdefault(grant.principal, []).append(grant.action)
            declared = arn in wanted
            for principal, actions in sorted(by_principal.items()):
                findings.append(finding("resource-policy", principal, resource.label, arn, sorted(set(actions)),
                                        "the resource policy grants it, but the declared one does not; the plan "
                                        "removes it" if declared else
                                        "a resource policy the git policy does not declare grants it; declare it "
                                        "under resource_policies (reconciler import writes it) or remove it"))
            if resource.unreadable:
                findings.append(finding("resource-policy", "?", resource.label, arn, [],
                                        "its resource policy cannot be read as grants; review it in the console"))
        return findings

    def strategy(self, desired: Desired, live: LivePolicies) -> str:
        with_policy = sum(1 for r in live.resources.values() if r.document is not None)
        which = (f"every one of the {len(live.resources)} shareable resources" if live.complete else
                 f"the {live.reads} of {len(live.resources)} shareable resources that RAM's policy-made shares "
                 "hold or the policy declares")
        return f"read the resource policy of {which} ({live.reads} GetResourcePolicy calls; {with_policy} have one)"

    def scope_sizes(self, desired: Desired, live: LivePolicies) -> dict[str, int]:
        return {f"{AREA}/{r.label}": len(r.grants) for r in live.resources.values() if r.document is not None}

    # Applying -------------------------------------------------------------------------------

    def apply(self, api: Api, change: Change) -> None:
        arn = str(change.data["resource_arn"])
        if change.action == "delete":
            try:
                api.call(SMS_VOICE, "DeleteResourcePolicy", ResourceArn=arn)
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
            return
        api.call(SMS_VOICE, "PutResourcePolicy", ResourceArn=arn, Policy=str(change.data["document"]))


def finding(path: str, principal: str, resource: str, arn: str, actions: list[str], detail: str) -> dict[str, Any]:
    """One security finding: a grant of ``resource`` to ``principal`` the policy does not declare."""
    return {"kind": SECURITY_UNDECLARED, "path": path, "principal": principal, "resource": resource,
            "resource_arn": arn, "actions": actions, "detail": detail}


# The write steps of one resource ---------------------------------------------------------------


def steps(arn: str, label: str, have: frozenset[Grant] | None, want: frozenset[Grant],
          unreadable: bool = False) -> list[Change]:
    """The writes that take the resource from ``have`` (None: no policy) to ``want`` without a
    moment wider than both: narrowing first, the common part before a trade."""
    current = have or frozenset()
    if not want:
        return [_delete(arn, label, current, ORDER_NARROW, frozenset({"deletion"}), "declared with no grants")] \
            if have is not None else []
    if have is not None and current == want and not unreadable:
        return []
    removed, added = current - want, want - current
    revokes = frozenset({FLAG_REVOKES_UNDECLARED}) if removed else frozenset()
    if have is None or (added and not removed):
        action = "create" if have is None else "update"
        return [_put(arn, label, action, have, want, ORDER_WIDEN, frozenset({FLAG_GRANTS_ACCESS}), "")]
    if not added:
        return [_put(arn, label, "update", have, want, ORDER_NARROW, revokes, "")]
    common = current & want
    first = (_put(arn, label, "update", have, common, ORDER_NARROW, revokes, "/1-common", "keep only the grants "
                  "old and new share")
             if common else _delete(arn, label, current, ORDER_NARROW, revokes, "before granting others", "/1-common"))
    return [first, _put(arn, label, "update", common if common else None, want, ORDER_WIDEN,
                        frozenset({FLAG_GRANTS_ACCESS}), "")]


def describe(grants: frozenset[Grant] | None) -> list[str] | None:
    if grants is None:
        return None
    by_principal: dict[str, set[str]] = {}
    for grant in grants:
        by_principal.setdefault(grant.principal + (" (with condition)" if grant.condition else ""),
                                set()).add(grant.action.removeprefix("sms-voice:"))
    return [f"{principal}: {', '.join(sorted(actions))}" for principal, actions in sorted(by_principal.items())]


def _put(arn: str, label: str, action: str, have: frozenset[Grant] | None, want: frozenset[Grant], order: int,
         flags: frozenset[str], suffix: str, why: str = "") -> Change:
    verb = "attach" if have is None else "rewrite"
    principals = sorted({g.principal for g in want})
    return Change(
        AREA, action, "resource-policy", f"{AREA}/{label}{suffix}",  # type: ignore[arg-type]
        before=describe(have), after=describe(want), order=order, flags=flags,
        data={"resource_arn": arn, "document": document(arn, want)},
        summary=f"{verb} the resource policy of {label} ({len(principals)} principal"
                f"{'' if len(principals) == 1 else 's'}{'; ' + why if why else ''})",
    )


def _delete(arn: str, label: str, have: frozenset[Grant], order: int, flags: frozenset[str], why: str,
            suffix: str = "") -> Change:
    return Change(AREA, "delete", "resource-policy", f"{AREA}/{label}{suffix}", before=describe(have), order=order,
                  flags=flags, data={"resource_arn": arn},
                  summary=f"delete the resource policy of {label} ({why})")


# Reads -------------------------------------------------------------------------------------


def kind_of(arn: str) -> str | None:
    """The policy's kind of an sms-voice ARN (``phone_number``, …), None for anything else."""
    return ARN_KINDS.get(arn.split(":", 5)[-1].split("/", 1)[0]) if arn.startswith("arn:") else None


def list_resources(api: Api, desired: Desired, kinds: set[str] | None = None) -> LivePolicies:
    """The account's shareable resources of ``kinds`` (all by default), from the listings the
    other areas read too."""
    live = LivePolicies()
    kinds = set(KINDS) if kinds is None else kinds

    def add(arn: str, kind: str, refs: list[str], label: str, opt_out_list: str | None = None) -> None:
        live.resources[arn] = LiveResource(arn, kind, f"{kind} {label}", opt_out_list)
        for ref in refs:
            live.resolved.setdefault(ref_key(kind, ref), arn)

    for page in api.listing(SMS_VOICE, "DescribePhoneNumbers", MaxResults=PAGE) if "phone_number" in kinds else ():
        for item in page.get("PhoneNumbers", []):
            add(item["PhoneNumberArn"], "phone_number", [item["PhoneNumberId"], item["PhoneNumber"]],
                item["PhoneNumber"], item.get("OptOutListName"))
    for item in own_sender_ids(api) if "sender_id" in kinds else ():
        ref = f"{item['SenderId']}/{item['IsoCountryCode']}"
        add(item["SenderIdArn"], "sender_id", [ref], ref)
    named = any(spec.resource.kind == "pool" and not spec.resource.ref.startswith("pool-")
                for spec in desired.resource_policies)
    for page in api.listing(SMS_VOICE, "DescribePools", MaxResults=PAGE) if "pool" in kinds else ():
        for item in page.get("Pools", []):
            refs = [item["PoolId"]]
            if named:  # Name-tag references need the tags (one call per pool)
                tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=item["PoolArn"]).get("Tags", [])
                refs += [str(t.get("Value")) for t in tags if t.get("Key") == "Name"]
            add(item["PoolArn"], "pool", refs, item["PoolId"], item.get("OptOutListName"))
    for name, arn in sorted(list_opt_out_lists(api).items()) if "opt_out_list" in kinds else ():
        add(arn, "opt_out_list", [name], name)
    region, account = desired.target.region, desired.target.account_id
    for spec in desired.opt_out_lists:
        key = ref_key("opt_out_list", spec.name)
        if key not in live.resolved:  # created by this plan (opt_outs runs first): no policy yet
            live.planned[key] = f"arn:aws:sms-voice:{region}:{account}:opt-out-list/{spec.name}"
    return live


def linked_resources(api: Api) -> set[str]:
    """Resources held by the CREATED_FROM_POLICY shares RAM made from resource policies."""
    params = {"resourceOwner": "SELF", "resourceShareStatus": "ACTIVE"}
    arns = sorted(item["resourceShareArn"] for page in api.listing(RAM, "GetResourceShares", **params)
                  for item in page.get("resourceShares", []) if item.get("featureSet") == "CREATED_FROM_POLICY")
    found: set[str] = set()
    for start in range(0, len(arns), SHARE_ARN_BATCH):
        batch = arns[start : start + SHARE_ARN_BATCH]
        for page in api.pages(RAM, "GetResourceShareAssociations", associationType="RESOURCE",
                              resourceShareArns=batch, maxResults=RAM_PAGE):
            found.update(item["associatedEntity"] for item in page.get("resourceShareAssociations", [])
                         if item.get("status") in ("ASSOCIATED", "ASSOCIATING"))
    return found


def read_policy(api: Api, live: LivePolicies, arn: str) -> None:
    resource = live.resources[arn]
    live.reads += 1
    try:
        response = api.call(SMS_VOICE, "GetResourcePolicy", ResourceArn=arn)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        if error.response.get("ResourceType", error.response.get("Error", {}).get("ResourceType")) != "policy":
            del live.resources[arn]  # released since it was listed
        return
    text = response.get("Policy")
    if not text:
        return
    resource.document = str(text)
    grants = parse_document(resource.document)
    resource.unreadable = grants is None
    resource.grants = tuple(sorted(grants or ()))


# The RAM path's findings (areas/shares/area.py calls this from its ``security``) ----------------------


def ram_findings(desired: Desired, live: Any) -> list[dict[str, Any]]:
    """Grants RAM shares make that the policy does not declare: every (principal, sms-voice
    resource) pair of a STANDARD share that no declared share of that name holds. Shares RAM made
    from resource policies are the policies' (read above), not counted twice."""
    from reconciler.areas.shares.area import STANDARD, pick_share, resource_ref
    from reconciler.areas.shares.area import ref_key as share_ref_key

    declared: dict[str, set[tuple[str, str]]] = {}
    for spec in desired.shares:
        share = pick_share(live.shares, spec.name)
        if share is not None:
            arns = {live.resolved.get(share_ref_key(ref)) for ref in spec.resources}
            declared[share.arn] = {(p, str(a)) for p in spec.principals for a in arns if a}
    findings = []
    for share in live.shares:
        if share.feature_set != STANDARD:
            continue
        allowed = declared.get(share.arn, set())
        resources = sorted(a for a in share.current("resource") if resource_ref(a) is not None)
        permissions = sorted(p.rsplit("/", 1)[-1] for p in share.permissions)
        for principal in sorted(share.current("principal")):
            for arn in resources:
                if (principal, arn) in allowed:
                    continue
                ref = resource_ref(arn)
                label = (live.labels.get(arn) or (f"{ref.kind}:{ref.ref}" if ref else arn)).replace(":", " ", 1)
                findings.append(finding(
                    "ram-share", principal, label, arn, permissions,
                    f"RAM share {share.name} shares it with {principal}, which the policy does not declare"
                    + (" (the plan removes it)" if share.arn in declared else
                       "; declare the share (reconciler import writes it) or delete it")))
    return findings


# Import: live policies written back as resource_policies items ---------------------------------


def import_items(live: LivePolicies, refs: dict[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """``resource_policies`` items for every live policy, and notes on what could not be written.
    ``refs``: ARN -> the reference the import writes for that resource (E.164 number, pool name…)."""
    from reconciler.areas.resource_policies.language import ALLOWED, PRESETS

    items: list[dict[str, Any]] = []
    notes: list[str] = []
    for arn, resource in sorted(live.resources.items()):
        if resource.document is None:
            continue
        if resource.unreadable:
            notes.append(f"the resource policy of {resource.label} cannot be read as grants; not imported")
            continue
        outside = sorted({g.action for g in resource.grants} - ALLOWED[resource.kind])
        if outside:
            notes.append(f"the resource policy of {resource.label} grants {', '.join(outside)}, which the policy "
                         "language cannot declare; not imported")
            continue
        presets = {tuple(sorted(actions)): name for name, kinds in PRESETS.items()
                   for kind, actions in kinds.items() if kind == resource.kind}
        plain: dict[tuple[str, ...], list[str]] = {}
        statements: list[dict[str, Any]] = []
        by_principal: dict[tuple[str, str], set[str]] = {}
        for grant in resource.grants:
            by_principal.setdefault((grant.principal, grant.condition), set()).add(grant.action)
        for (principal, condition), actions in sorted(by_principal.items()):
            if condition:
                import json

                key = "AWS" if principal.isdigit() else "Service"
                statements.append({"Effect": "Allow", "Principal": {key: principal}, "Action": sorted(actions),
                                   "Condition": json.loads(condition)})
            else:
                plain.setdefault(tuple(sorted(actions)), []).append(principal)
        grants = [{"principals": sorted(principals), "allow": [presets[actions]] if actions in presets
                   else list(actions)} for actions, principals in sorted(plain.items())]
        item: dict[str, Any] = {"resource": {resource.kind: refs.get(arn, resource.label.split(" ", 1)[1])},
                                "grants": grants}
        if statements:
            item["statements"] = statements
        items.append(item)
    return items, notes
