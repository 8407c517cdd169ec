"""An apply that crashes in the middle of a pool juggle is finished by the next plan and apply,
and finding such a crash costs one tag read per pool, never one per managed number."""

from __future__ import annotations

from typing import Any

import pytest
from engine_support import Harness, policy

from reconciler.areas.phone_numbers.area import REJOIN_PREFIX, PhoneNumbersArea
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec
from reconciler.guard import GuardOptions


def _numbers(harness: Harness, count: int) -> list[dict[str, Any]]:
    client = harness.client()
    return [
        client.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                    NumberType="TOLL_FREE")
        for _ in range(count)
    ]


def test_a_crash_between_leaving_and_rejoining_the_pool_is_finished_by_the_next_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = harness.client()
    pooled = _numbers(harness, 2)
    pool = client.create_pool(OriginationIdentity=pooled[0]["PhoneNumberId"], IsoCountryCode="US",
                              MessageType="TRANSACTIONAL")
    client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=pooled[1]["PhoneNumberId"],
                                          IsoCountryCode="US")
    target = pooled[0]
    p = policy(phone_numbers=(PhoneNumberSpec(target["PhoneNumber"], international_sending=True),))

    def crash(api: Any, data: dict[str, Any]) -> None:
        raise KeyboardInterrupt("the runner died")

    monkeypatch.setattr(PhoneNumbersArea, "_rejoin", staticmethod(crash))
    with pytest.raises(KeyboardInterrupt):
        harness.apply(p, guard=GuardOptions(allow_pool_juggling=True))
    monkeypatch.undo()
    live = client.describe_phone_numbers(PhoneNumberIds=[target["PhoneNumberId"]])["PhoneNumbers"][0]
    assert live.get("PoolId") is None and live["InternationalSendingEnabled"] is True
    marker = {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceArn=pool["PoolArn"])["Tags"]}
    assert marker == {REJOIN_PREFIX + target["PhoneNumberId"]: target["PhoneNumberArn"]}

    [rejoin] = harness.plan(p).changes
    assert (rejoin.action, rejoin.after) == ("associate", pool["PoolId"])
    assert harness.apply(p).ok
    live = client.describe_phone_numbers(PhoneNumberIds=[target["PhoneNumberId"]])["PhoneNumbers"][0]
    assert live["PoolId"] == pool["PoolId"]
    assert client.list_tags_for_resource(ResourceArn=pool["PoolArn"])["Tags"] == []
    assert harness.plan(p).changes == []


def test_interrupted_juggles_are_found_with_one_tag_read_per_pool(harness: Harness) -> None:
    client = harness.client()
    free = _numbers(harness, 12)
    members = _numbers(harness, 4)
    for first, second in (members[:2], members[2:]):
        pool = client.create_pool(OriginationIdentity=first["PhoneNumberId"], IsoCountryCode="US",
                                  MessageType="TRANSACTIONAL")
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"],
                                              IsoCountryCode="US")
    specs = tuple(PhoneNumberSpec(n["PhoneNumber"], deletion_protection=False) for n in free + members)
    engine = harness.engine(policy(phone_numbers=specs))
    run = engine.start("prod")
    assert engine.plan(run).changes == []
    # Two pools: two tag reads; no pooled number changes, so no pool membership is listed.
    assert run.api.calls["pinpoint-sms-voice-v2.ListTagsForResource"] == 2
    assert run.api.calls["pinpoint-sms-voice-v2.ListPoolOriginationIdentities"] == 0
