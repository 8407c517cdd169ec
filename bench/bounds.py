"""Lower bounds: the fewest calls a correct tool must make for a scenario, and the quota-bound time.

A bound is a list of *phases* (a pull-request plan, then its apply), each a count of calls per
operation. The quota-bound time of a phase is the slowest operation's calls spread over its quota
(every operation has its own quota and runs in parallel with the others, AWS-style token buckets
admitting one second's worth at once), plus one request latency; phases add up.

What each scenario must read is derived in docs/performance.md ("Lower bounds"); the consistency
model is the product's: a plan may trust the watermark tag an apply left on an additive list (the
numbers it wrote), ``drift`` and ``import`` must see every entry.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.quotas import default_rate

SMS = "pinpoint-sms-voice-v2"
RAM = "ram"
STS = "sts"
PAGE = 100  # MaxResults maximum of the sms-voice Describe*/List* operations
RAM_PAGE = 500  # RAM maxResults maximum
SHARE_ARN_BATCH = 5  # resourceShareArns per GetResourceShareAssociations call (as the product batches)
CAPABILITIES = 4  # SMS, VOICE, MMS, RCS


def pages(items: int, size: int = PAGE) -> int:
    """Calls to list ``items`` (an empty listing still costs one call)."""
    return max(1, math.ceil(items / size))


@dataclass
class Phase:
    name: str
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, service: str, operation: str, count: int) -> None:
        if count > 0:
            self.calls[(service, operation)] += count

    def total(self) -> int:
        return sum(self.calls.values())

    def seconds(self, latency: float, share: float = 1.0) -> float:
        slowest = 0.0
        for (service, operation), count in self.calls.items():
            if service == STS:
                continue
            rate = default_rate(service, operation) * share
            burst = max(1.0, rate)
            slowest = max(slowest, max(0.0, count - burst) / rate)
        return slowest + latency


@dataclass
class Bound:
    phases: list[Phase]
    explanation: str
    share: float = 1.0  # the share of each quota the tool may use (--quota-share)

    def calls(self) -> int:
        return sum(p.total() for p in self.phases)

    def seconds(self, latency: float) -> float:
        return sum(p.seconds(latency, self.share) for p in self.phases)

    def by_operation(self) -> dict[str, int]:
        merged: Counter[str] = Counter()
        for phase in self.phases:
            for (service, operation), count in phase.calls.items():
                merged[f"{service}:{operation}"] += count
        return dict(sorted(merged.items()))


# Reads of the large account, per area -------------------------------------------------------------


def identify(phase: Phase) -> None:
    phase.add(STS, "GetCallerIdentity", 1)  # the account check before anything is read or written


def protect_reads(phase: Phase, facts: dict[str, Any]) -> None:
    configs = facts["protect_configurations"]
    phase.add(SMS, "DescribeProtectConfigurations", pages(configs))
    phase.add(SMS, "ListTagsForResource", configs)  # the policy's names live in the Name tag
    phase.add(SMS, "GetProtectConfigurationCountryRuleSet", configs * facts["managed_capabilities"])
    phase.add(SMS, "ListProtectConfigurationRuleSetNumberOverrides", configs)  # one page each, at least
    if facts["configuration_sets_managed"]:
        phase.add(SMS, "DescribeConfigurationSets", pages(facts["configuration_sets"]))


def number_reads(phase: Phase, facts: dict[str, Any]) -> None:
    phase.add(SMS, "DescribePhoneNumbers", pages(facts["phone_numbers"]))
    outside = facts.get("managed_outside_pools", 0)
    if facts["pools_managed"] or outside:
        phase.add(SMS, "DescribePools", pages(facts["pools"]))
    if outside:
        # AWS refuses UpdatePhoneNumber on a pooled number, so a correct tool takes it out of its
        # pool, updates it and puts it back; a crash in between strands it outside. The durable
        # marker of that is a tag on the pool (a number outside pools has no other place the
        # plan reads), so seeing that no managed number outside a pool is stranded takes one
        # tag read per pool: crash safety, like the opt-out watermark.
        phase.add(SMS, "ListTagsForResource", facts["pools"])
    if facts["sender_ids_managed"]:
        phase.add(SMS, "DescribeSenderIds", pages(facts["sender_ids"]))


def share_reads(phase: Phase, facts: dict[str, Any]) -> None:
    shares = facts["shares"]
    phase.add(RAM, "GetResourceShares", pages(shares, RAM_PAGE))
    batches = math.ceil(shares / SHARE_ARN_BATCH)
    per_batch = facts["share_resources"] / max(1, batches)
    phase.add(RAM, "GetResourceShareAssociations", batches + batches * pages(int(per_batch), RAM_PAGE))
    phase.add(RAM, "ListResourceSharePermissions", shares)


def policy_reads(phase: Phase, facts: dict[str, Any], verify: bool) -> None:
    """Resource-based policies: a grant made outside git on any shareable resource must show.
    RAM turns every policy into a CREATED_FROM_POLICY share (already listed by share_reads), so a
    plan reads the policy of the resources those shares hold and of those the policy declares;
    drift and import trust no such link and read every shareable resource's policy, which takes
    listing every kind of resource once (listings the other areas may share)."""
    if not verify:
        phase.add(SMS, "GetResourcePolicy", facts.get("policy_resources", 0))
        return
    for operation, count in (("DescribePhoneNumbers", facts["phone_numbers"]), ("DescribePools", facts["pools"]),
                             ("DescribeSenderIds", facts["sender_ids"])):
        if not phase.calls[(SMS, operation)]:
            phase.add(SMS, operation, pages(count))
    shareable = facts["phone_numbers"] + facts["pools"] + facts["sender_ids"] + len(facts["list_sizes"])
    phase.add(SMS, "GetResourcePolicy", shareable)


def list_reads(phase: Phase, facts: dict[str, Any], verify: bool) -> None:
    phase.add(SMS, "DescribeOptOutLists", pages(len(facts["list_sizes"])))
    if verify:  # every entry: a page holds 100, a lookup 5, so reading beats looking up a listed list
        phase.add(SMS, "DescribeOptedOutNumbers", sum(pages(size) for size in facts["list_sizes"].values()))
    else:  # the watermark tag vouches for what the last apply wrote
        phase.add(SMS, "ListTagsForResource", len(facts["list_sizes"]))


def large_account_plan(facts: dict[str, Any], name: str = "plan") -> Phase:
    phase = Phase(name)
    identify(phase)
    protect_reads(phase, facts)
    number_reads(phase, facts)
    share_reads(phase, facts)
    list_reads(phase, facts, verify=False)
    policy_reads(phase, facts, verify=False)
    return phase


# Scenarios -----------------------------------------------------------------------------------------


def s1(facts: dict[str, Any]) -> Bound:
    return Bound([large_account_plan(facts)], "identify; read every managed attribute once; lists: watermark tags")


def s2(facts: dict[str, Any]) -> Bound:
    apply = large_account_plan(facts, "apply")  # apply runs later, on merge: it must look again
    apply.add(SMS, "PutOptedOutNumber", len(facts["pr_numbers"]))  # idempotent: no read needed first
    return Bound(
        [large_account_plan(facts), apply],
        "the pull request's plan (the S1 reads; the new numbers are known from the policy's history), then "
        "on merge the same reads again and one put per new number, in parallel",
    )


def s3(facts: dict[str, Any]) -> Bound:
    phase = Phase("block")
    identify(phase)
    configs = facts["protect_configurations"]
    phase.add(SMS, "DescribeProtectConfigurations", pages(configs))
    phase.add(SMS, "ListTagsForResource", configs)  # which configurations the policy manages (by name)
    # An apply writes only changes, shows each block's previous status and, on a capability the
    # policy does not list, records it to restore when the block is lifted: it reads the rule
    # set of every (configuration, capability) it may block. (Writing blindly would need 100
    # calls fewer, see docs/performance.md.)
    phase.add(SMS, "GetProtectConfigurationCountryRuleSet", configs * CAPABILITIES)
    phase.add(SMS, "UpdateProtectConfigurationCountryRuleSet", configs * CAPABILITIES)  # one capability per call
    return Bound([phase], "find the managed configurations; read, then update, each rule set the block changes")


def s4_apply(facts: dict[str, Any]) -> Bound:
    example = facts["example"]
    phase = Phase("apply")
    identify(phase)
    for operation in ("DescribeProtectConfigurations", "DescribeOptOutLists", "DescribePhoneNumbers",
                      "DescribeSenderIds", "DescribeConfigurationSets"):
        phase.add(SMS, operation, 1)  # see that nothing exists yet, resolve the identities
    phase.add(RAM, "GetResourceShares", 1)
    phase.add(SMS, "CreateOptOutList", example["opt_out_lists"])
    phase.add(SMS, "PutOptedOutNumber", example["opted_out_numbers"])
    phase.add(SMS, "CreateProtectConfiguration", example["protect_configurations"])  # Name tag and flags inline
    phase.add(SMS, "UpdateProtectConfigurationCountryRuleSet", example["rule_sets"])
    phase.add(SMS, "SetAccountDefaultProtectConfiguration", example["account_defaults"])
    phase.add(SMS, "AssociateProtectConfiguration", example["associations"])
    phase.add(SMS, "PutProtectConfigurationRuleSetNumberOverride", example["overrides"])
    phase.add(SMS, "UpdatePhoneNumber", example["phone_numbers"])
    # The numbers leave the Default list: its end-user opt-outs (one filtered page) must go with them.
    phase.add(SMS, "DescribeOptedOutNumbers", 1 if example["phone_numbers"] else 0)
    phase.add(SMS, "UpdateSenderId", example["sender_ids"])
    phase.add(RAM, "CreateResourceShare", example["shares"])  # principals, resources, permission inline
    return Bound([phase], "see the account is empty, then one write per resource or setting the policy asks for")


def full_read(facts: dict[str, Any], name: str) -> Phase:
    phase = Phase(name)
    identify(phase)
    protect_reads(phase, facts)
    number_reads(phase, facts)
    share_reads(phase, facts)
    list_reads(phase, facts, verify=True)
    policy_reads(phase, facts, verify=True)
    return phase


def s4_import(facts: dict[str, Any]) -> Bound:
    # Pools are named by their Name tag: one tag read per pool, counted here once (not again as
    # the crash-marker read of a plan).
    phase = full_read(
        {**facts, "pools_managed": True, "managed_capabilities": CAPABILITIES, "managed_outside_pools": 0}, "import"
    )
    phase.add(SMS, "ListTagsForResource", facts["pools"])
    return Bound([phase], "every resource and every entry of every list, once")


def s5(facts: dict[str, Any]) -> Bound:
    return Bound([full_read(facts, "drift")], "every managed attribute and every entry of every list, once")


def s5_share(facts: dict[str, Any]) -> Bound:
    bound = s5(facts)
    return Bound(bound.phases, bound.explanation + ", at half of every quota (twice the time)", share=0.5)


LOOKUP_BATCH = 5  # DescribeOptedOutNumbers OptedOutNumbers maximum
EVENT_PAGE = 50  # CloudTrail LookupEvents MaxResults maximum


def s6(facts: dict[str, Any]) -> Bound:
    """The events since the last full read, then the entries they name, five to a lookup."""
    events = Phase("events")
    identify(events)
    events.add("cloudtrail", "LookupEvents", pages(len(facts["s6_writes"]), EVENT_PAGE))
    rereads = Phase("re-reads")  # which entries to read is known only once the events are read
    rereads.add(SMS, "DescribeOptedOutNumbers",
                sum(math.ceil(count / LOOKUP_BATCH) for count in facts["s6_numbers"].values()))
    return Bound(
        [events, rereads],
        "identify; the CloudTrail event pages since the last full read (50 a page); then each list entry the "
        "events name, looked up five at a time per list",
    )


BOUNDS = {"S1": s1, "S2": s2, "S3": s3, "S4-apply": s4_apply, "S4-import": s4_import, "S5": s5,
          "S5-share": s5_share, "S6": s6}
