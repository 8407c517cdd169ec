"""The two baselines: scripts a team might write instead of using the product.

* **naive**: in the style of the AWS migration walkthrough's loop: describe-everything loops, then
  one sequential call per number (``for number in numbers: put_opted_out_number(...)``), one call at
  a time, no parallelism across operations.
* **refresh**: refresh-everything-then-diff: read every resource and every list entry (in parallel
  across operations, the best a full refresh can do), diff in memory, then write only the
  differences (in parallel across operations).

Both run through boto3 against the sandbox with its quotas in ``wait`` mode: a request waits for its
quota slot instead of being throttled. That is an idealised client (no throttling, no retry back-off),
which favours the baselines. Per-number loops longer than ``Scale.naive_call_cap`` run that many
calls for real and extrapolate the rest from their measured per-call time and CPU (the JSON marks
such rows ``extrapolated``): a million sequential puts would otherwise cost half an hour of CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import world
from bench.lanes import in_parallel
from bench.measure import Context
from reconciler.areas.protect.spec import CAPABILITIES
from reconciler.config.model import Desired, Policy

SMS = "pinpoint-sms-voice-v2"
PAGE = 100
SMS_VOICE_PERMISSION = "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice"


@dataclass
class Live:
    """Everything a full read learns."""

    protect: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {arn, name, rules, overrides}
    configuration_sets: dict[str, str | None] = field(default_factory=dict)
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # E.164 -> item
    pools: dict[str, list[str]] = field(default_factory=dict)  # pool id -> member ARNs
    pool_arns: dict[str, str] = field(default_factory=dict)
    pool_names: dict[str, str | None] = field(default_factory=dict)
    sender_ids: list[dict[str, Any]] = field(default_factory=list)
    lists: dict[str, set[str]] = field(default_factory=dict)  # name -> every entry
    shares: dict[str, dict[str, Any]] = field(default_factory=dict)  # arn -> {name, principals, resources, perms}
    list_arns: dict[str, str] = field(default_factory=dict)  # list name -> ARN
    policies: dict[str, str | None] = field(default_factory=dict)  # resource ARN -> its resource policy


class Script:
    """A boto3 script against the target account; ``parallel`` selects the refresh baseline's fan-out."""

    def __init__(self, context: Context, account: str, parallel: bool) -> None:
        session = context.sandbox.session(account, world.REGION)
        self.sms = session.client(SMS)
        self.ram = session.client("ram")
        self.sts = session.client("sts")
        self.context = context
        self.parallel = parallel

    # helpers -----------------------------------------------------------------------------------

    def run(self, tasks: Sequence[Callable[[], Any]]) -> None:
        if self.parallel:
            in_parallel(self.context.clock, tasks)
        else:
            for task in tasks:
                task()

    def pages(self, method: Callable[..., dict[str, Any]], token: str = "NextToken", **params: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = method(**params)
            yield page
            if not page.get(token):
                return
            params[token] = page[token]

    def ram_pages(self, method: Callable[..., dict[str, Any]], **params: Any) -> Iterator[dict[str, Any]]:
        return self.pages(method, token="nextToken", **params)

    # reads -------------------------------------------------------------------------------------

    def read_everything(self, live: Live, lists: bool = True, areas: Sequence[str] = ("protect", "numbers", "shares"),
                        policies: bool = False) -> Live:
        """Listings first, then every per-resource read (one stream per operation when parallel).
        ``policies``: also every resource's resource policy (a grant outside RAM), as drift and import must."""
        self.sts.get_caller_identity()
        listings: list[Callable[[], Any]] = []
        if "protect" in areas:
            listings += [lambda: self._list_protect(live), lambda: self._list_configuration_sets(live)]
        if "numbers" in areas:
            listings += [lambda: self._list_numbers(live), lambda: self._list_pools(live), lambda: self._list_sender_ids(live)]
        if "shares" in areas:
            listings.append(lambda: self._list_shares(live))
        if lists:
            listings.append(lambda: self._list_lists(live))
        self.run(listings)
        details: list[Callable[[], Any]] = []
        if "protect" in areas:
            details += [lambda: self._protect_tags(live), lambda: self._protect_rules(live), lambda: self._protect_overrides(live)]
        if "numbers" in areas:
            details.append(lambda: self._pool_members(live))
        if "shares" in areas:
            details += [lambda: self._share_associations(live), lambda: self._share_permissions(live)]
        if lists:
            details.append(lambda: self._list_entries(live))
        if policies:
            details.append(lambda: self._resource_policies(live))
        self.run(details)
        return live

    def _list_protect(self, live: Live) -> None:
        for page in self.pages(self.sms.describe_protect_configurations, MaxResults=PAGE):
            for item in page["ProtectConfigurations"]:
                live.protect[item["ProtectConfigurationId"]] = {
                    "arn": item["ProtectConfigurationArn"], "name": None, "rules": {}, "overrides": {},
                    "default": item.get("AccountDefault", False),
                }

    def _list_configuration_sets(self, live: Live) -> None:
        for page in self.pages(self.sms.describe_configuration_sets, MaxResults=PAGE):
            for item in page["ConfigurationSets"]:
                live.configuration_sets[item["ConfigurationSetName"]] = item.get("ProtectConfigurationId")

    def _list_numbers(self, live: Live) -> None:
        for page in self.pages(self.sms.describe_phone_numbers, MaxResults=PAGE):
            for item in page["PhoneNumbers"]:
                live.numbers[item["PhoneNumber"]] = item

    def _list_pools(self, live: Live) -> None:
        for page in self.pages(self.sms.describe_pools, MaxResults=PAGE):
            for item in page["Pools"]:
                live.pools[item["PoolId"]] = []
                live.pool_arns[item["PoolId"]] = item["PoolArn"]

    def _list_sender_ids(self, live: Live) -> None:
        for page in self.pages(self.sms.describe_sender_ids, MaxResults=PAGE):
            live.sender_ids.extend(page["SenderIds"])

    def _list_shares(self, live: Live) -> None:
        for page in self.ram_pages(self.ram.get_resource_shares, resourceOwner="SELF"):
            for item in page["resourceShares"]:
                live.shares[item["resourceShareArn"]] = {"name": item["name"], "principals": set(), "resources": set()}

    def _list_lists(self, live: Live) -> None:
        for page in self.pages(self.sms.describe_opt_out_lists, MaxResults=PAGE):
            for item in page["OptOutLists"]:
                live.lists[item["OptOutListName"]] = set()
                live.list_arns[item["OptOutListName"]] = item["OptOutListArn"]

    def _protect_tags(self, live: Live) -> None:
        for config in live.protect.values():
            tags = self.sms.list_tags_for_resource(ResourceArn=config["arn"])["Tags"]
            config["name"] = next((t["Value"] for t in tags if t["Key"] == "Name"), None)

    def _protect_rules(self, live: Live) -> None:
        for config_id, config in live.protect.items():
            for capability in CAPABILITIES:
                answer = self.sms.get_protect_configuration_country_rule_set(
                    ProtectConfigurationId=config_id, NumberCapability=capability
                )
                config["rules"][capability] = {c: r["ProtectStatus"] for c, r in answer["CountryRuleSet"].items()}

    def _protect_overrides(self, live: Live) -> None:
        for config_id, config in live.protect.items():
            for page in self.pages(self.sms.list_protect_configuration_rule_set_number_overrides,
                                   ProtectConfigurationId=config_id, MaxResults=PAGE):
                for item in page["RuleSetNumberOverrides"]:
                    config["overrides"][item["DestinationPhoneNumber"]] = item["Action"]

    def _pool_members(self, live: Live) -> None:
        for pool_id in live.pools:
            for page in self.pages(self.sms.list_pool_origination_identities, PoolId=pool_id, MaxResults=PAGE):
                live.pools[pool_id].extend(i["OriginationIdentityArn"] for i in page["OriginationIdentities"])

    def _share_associations(self, live: Live) -> None:
        for arn, share in live.shares.items():
            for kind, key in (("PRINCIPAL", "principals"), ("RESOURCE", "resources")):
                for page in self.ram_pages(self.ram.get_resource_share_associations,
                                           associationType=kind, resourceShareArns=[arn]):
                    share[key].update(a["associatedEntity"] for a in page["resourceShareAssociations"])

    def _share_permissions(self, live: Live) -> None:
        for arn, share in live.shares.items():
            share["permissions"] = {p["arn"] for p in self.ram.list_resource_share_permissions(resourceShareArn=arn)["permissions"]}

    def _resource_policies(self, live: Live) -> None:
        """One ``GetResourcePolicy`` per number, pool, sender ID and list (AWS has no listing of them)."""
        arns = [n["PhoneNumberArn"] for n in live.numbers.values()] + list(live.pool_arns.values())
        arns += [s["SenderIdArn"] for s in live.sender_ids] + list(live.list_arns.values())
        for arn in arns:
            try:
                live.policies[arn] = self.sms.get_resource_policy(ResourceArn=arn).get("Policy")
            except self.sms.exceptions.ResourceNotFoundException:  # AWS's answer for "no policy"
                live.policies[arn] = None

    def _list_entries(self, live: Live) -> None:
        for name, entries in live.lists.items():
            for page in self.pages(self.sms.describe_opted_out_numbers, OptOutListName=name, MaxResults=PAGE):
                entries.update(item["OptedOutNumber"] for item in page["OptedOutNumbers"])

    # diffs -------------------------------------------------------------------------------------

    @staticmethod
    def missing_numbers(desired: Desired, live: Live) -> dict[str, list[str]]:
        return {
            spec.name: sorted(set(spec.numbers) - live.lists.get(spec.name, set()))
            for spec in desired.opt_out_lists
        }

    @staticmethod
    def rule_updates(desired: Desired, live: Live) -> list[tuple[str, str, dict[str, str]]]:
        """(configuration id, capability, {country: status}) for every rule that differs."""
        by_name = {c["name"]: (cid, c) for cid, c in live.protect.items()}
        updates: list[tuple[str, str, dict[str, str]]] = []
        for spec in desired.protect_configurations:
            if spec.name not in by_name:
                continue
            config_id, config = by_name[spec.name]
            for capability in CAPABILITIES:
                want: dict[str, str] = {}
                if capability in spec.rules:
                    rules = spec.rules[capability]
                    current = config["rules"].get(capability, {})
                    for country, status in current.items():
                        if rules.status(country) != status:
                            want[country] = rules.status(country)
                for block in desired.emergency_blocks:
                    if capability in block.capabilities and config["rules"].get(capability, {}).get(block.country) != "BLOCK":
                        want[block.country] = "BLOCK"
                if want:
                    updates.append((config_id, capability, want))
        return updates

    # writes ------------------------------------------------------------------------------------

    def put_numbers(self, name: str, numbers: Sequence[str], cap: int | None = None) -> None:
        """One put per number; with ``cap``, the loop runs ``cap`` puts and extrapolates the rest."""
        todo = list(numbers)
        done = todo if cap is None or len(todo) <= cap else todo[:cap]
        sandbox_cpu = self.context.sandbox_cpu
        cpu0, sandbox0, sim0 = time.process_time(), sandbox_cpu(), self.context.clock.now()
        for number in done:
            self.sms.put_opted_out_number(OptOutListName=name, OptedOutNumber=number)
        rest = len(todo) - len(done)
        if rest and done:
            per_call_sim = (self.context.clock.now() - sim0) / len(done)
            per_call_cpu = max(0.0, (time.process_time() - cpu0) - (sandbox_cpu() - sandbox0)) / len(done)
            self.context.clock.sleep(per_call_sim * rest)
            extra = self.context.extrapolated
            extra["calls"] = extra.get("calls", 0) + rest
            extra["cpu_seconds"] = round(extra.get("cpu_seconds", 0.0) + per_call_cpu * rest, 3)
            extra["note"] = f"{len(done)} of {len(todo)} PutOptedOutNumber calls run; the rest extrapolated"

    def update_rules(self, updates: Sequence[tuple[str, str, dict[str, str]]], one_country_per_call: bool) -> None:
        for config_id, capability, want in updates:
            chunks = [{c: s} for c, s in sorted(want.items())] if one_country_per_call else [want]
            for chunk in chunks:
                self.sms.update_protect_configuration_country_rule_set(
                    ProtectConfigurationId=config_id, NumberCapability=capability,
                    CountryRuleSetUpdates={c: {"ProtectStatus": s} for c, s in chunk.items()},
                )


# Scenario bodies (shared by both baselines) ----------------------------------------------------------


def _policy(directory: Path) -> tuple[Policy, Desired]:
    policy = world.load(directory)
    return policy, next(iter(policy.desired.values()))


def _diff_all(script: Script, desired: Desired, live: Live) -> int:
    changes = sum(len(v) for v in script.missing_numbers(desired, live).values())
    return changes + len(script.rule_updates(desired, live))


def plan_large(context: Context, parallel: bool, directory: Path | None = None,
               policies: bool = False) -> tuple[Script, Desired, Live]:
    _, desired = _policy(directory or context.policy_dir)
    script = Script(context, world.LARGE_ACCOUNT, parallel)
    live = script.read_everything(Live(), policies=policies)
    context.notes.append(f"diff: {_diff_all(script, desired, live)} change(s)")
    return script, desired, live


def s1(context: Context, parallel: bool) -> None:
    plan_large(context, parallel)


def s2(context: Context, parallel: bool) -> None:
    from bench.product import pull_request

    directory = pull_request(context)
    script, desired, live = plan_large(context, parallel, directory)
    context.marks["plan_done"] = context.clock.latest()
    for spec in desired.opt_out_lists:
        if parallel:  # refresh: only the differences
            script.put_numbers(spec.name, script.missing_numbers(desired, live)[spec.name])
        elif spec.name == "large-list":  # naive: the migration loop re-puts every number of the changed list
            script.put_numbers(spec.name, spec.numbers, cap=context.scale.naive_call_cap)


def s3(context: Context, parallel: bool) -> None:
    from bench.product import emergency_copy, mark_last_block

    directory = emergency_copy(context)
    _, desired = _policy(directory)
    script = Script(context, world.LARGE_ACCOUNT, parallel)
    if parallel:  # refresh everything, lists included, then write the differences
        live = script.read_everything(Live())
    else:  # a protect script: describe every configuration, then update each one
        live = script.read_everything(Live(), lists=False, areas=("protect",))
    updates = script.rule_updates(desired, live)
    if parallel:
        in_parallel(context.clock, [lambda: script.update_rules(updates, one_country_per_call=False)])
    else:
        script.update_rules(updates, one_country_per_call=True)
    mark_last_block(context)


def s4_apply(context: Context, parallel: bool) -> None:
    _, desired = _policy(world.EXAMPLE_POLICY)
    script = Script(context, world.EMPTY_ACCOUNT, parallel)
    live = script.read_everything(Live())
    sms, ram = script.sms, script.ram
    lists: dict[str, str] = {}
    protect: dict[str, str] = {}

    def create_lists() -> None:
        for spec in desired.opt_out_lists:
            if spec.name not in live.lists:
                lists[spec.name] = sms.create_opt_out_list(OptOutListName=spec.name)["OptOutListArn"]

    def create_protect() -> None:
        for spec in desired.protect_configurations:
            answer = sms.create_protect_configuration(
                DeletionProtectionEnabled=bool(spec.deletion_protection), Tags=[{"Key": "Name", "Value": spec.name}]
            )
            protect[spec.name] = answer["ProtectConfigurationId"]

    def identities() -> None:
        for spec in desired.sender_ids:
            if spec.deletion_protection is not None:
                sms.update_sender_id(SenderId=spec.sender_id, IsoCountryCode=spec.country,
                                     DeletionProtectionEnabled=spec.deletion_protection)

    script.run([create_lists, create_protect, identities])

    def puts() -> None:
        for spec in desired.opt_out_lists:
            script.put_numbers(spec.name, script.missing_numbers(desired, live)[spec.name])

    def rules() -> None:
        for spec in desired.protect_configurations:
            for capability, wanted in sorted(spec.rules.items()):
                current = {c: "ALLOW" for c in _countries()}
                want: dict[str, str] = {c: wanted.status(c) for c in current if wanted.status(c) != "ALLOW"}
                if want:
                    script.update_rules([(protect[spec.name], capability, want)], one_country_per_call=not parallel)

    def links() -> None:
        for spec in desired.protect_configurations:
            if spec.account_default:
                sms.set_account_default_protect_configuration(ProtectConfigurationId=protect[spec.name])
            for name in spec.configuration_sets:
                sms.associate_protect_configuration(ProtectConfigurationId=protect[spec.name], ConfigurationSetName=name)

    def overrides() -> None:
        for spec in desired.protect_configurations:
            for override in spec.number_overrides:
                params: dict[str, Any] = {"ProtectConfigurationId": protect[spec.name],
                                          "DestinationPhoneNumber": override.number, "Action": override.action}
                if override.expires:
                    params["ExpirationTimestamp"] = override.expires
                sms.put_protect_configuration_rule_set_number_override(**params)

    def numbers() -> None:
        for spec in desired.phone_numbers:
            item = live.numbers[spec.ref]
            params: dict[str, Any] = {"PhoneNumberId": item["PhoneNumberId"]}
            if spec.international_sending is not None:
                params["InternationalSendingEnabled"] = spec.international_sending
            if spec.opt_out_list is not None:
                params["OptOutListName"] = spec.opt_out_list
            if spec.deletion_protection is not None:
                params["DeletionProtectionEnabled"] = spec.deletion_protection
            sms.update_phone_number(**params)

    script.run([puts, rules, links, overrides, numbers])

    def share() -> None:
        for spec in desired.shares:
            resources = []
            for ref in spec.resources:
                if ref.kind == "phone_number":
                    resources.append(live.numbers[ref.ref]["PhoneNumberArn"])
                elif ref.kind == "sender_id":
                    resources.append(next(s["SenderIdArn"] for s in live.sender_ids if f"{s['SenderId']}/{s['IsoCountryCode']}" == ref.ref))
                elif ref.kind == "opt_out_list":
                    resources.append(lists[ref.ref])
            ram.create_resource_share(name=spec.name, principals=list(spec.principals), resourceArns=resources,
                                      permissionArns=[SMS_VOICE_PERMISSION],
                                      allowExternalPrincipals=spec.allow_external_principals)

    share()


def _countries() -> list[str]:
    from reconciler.countries import SUPPORTED

    return sorted(SUPPORTED)


def s4_import(context: Context, parallel: bool) -> None:
    script = Script(context, world.LARGE_ACCOUNT, parallel)
    live = script.read_everything(Live(), policies=True)  # import writes the resource policies too
    for pool_id, arn in live.pool_arns.items():  # pools are named by their Name tag
        tags = script.sms.list_tags_for_resource(ResourceArn=arn)["Tags"]
        live.pool_names[pool_id] = next((t["Value"] for t in tags if t["Key"] == "Name"), None)
    out = context.workdir / "imported" / "numbers"
    out.mkdir(parents=True)
    for name, entries in sorted(live.lists.items()):
        (out / f"{name}.txt").write_text("".join(f"{n}\n" for n in sorted(entries)), encoding="utf-8")


def s5(context: Context, parallel: bool) -> None:
    """Drift reads every resource policy: a grant made outside git is a security finding."""
    plan_large(context, parallel, policies=True)


def s6(context: Context, parallel: bool) -> None:
    """A script has no baseline: nightly drift reads everything, as in S5."""
    plan_large(context, parallel, policies=True)
