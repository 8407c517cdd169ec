"""Pure diff of the phone_numbers area: managed attributes only, normalisation, forced changes."""

from __future__ import annotations

from reconciler.areas.phone_numbers.area import LiveNumber, LivePool, NumbersLive, PhoneNumbersArea
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec, PoolSpec
from reconciler.config.model import Desired, Target
from reconciler.plan import FLAG_BLOCKED, FLAG_NEEDS_FORCE, FLAG_POOL_JUGGLING

TARGET = Target("prod", "111122223333", "us-east-1")
ARN = "arn:aws:sms-voice:us-east-1:111122223333:"


def number(**attributes: object) -> LiveNumber:
    values = {"international_sending": False, "opt_out_list": "Default", "deletion_protection": False}
    values.update(attributes)
    return LiveNumber("phone-1", ARN + "phone-number/phone-1", "+18885550100", "US", "TOLL_FREE", None, values)


def test_only_attributes_the_policy_sets_are_managed() -> None:
    live = NumbersLive([number(opt_out_list="marketing", deletion_protection=True)])
    desired = Desired(TARGET, phone_numbers=(PhoneNumberSpec("+18885550100", international_sending=False),))
    assert PhoneNumbersArea().diff(desired, live) == []
    desired = Desired(TARGET, phone_numbers=(PhoneNumberSpec("phone-1", opt_out_list="marketing", deletion_protection=False),))
    [change] = PhoneNumbersArea().diff(desired, live)
    assert change.data["updates"] == {"deletion_protection": False}
    assert FLAG_NEEDS_FORCE in change.flags


def test_pool_attributes_and_names() -> None:
    pool = LivePool("pool-1", ARN + "pool/pool-1", "transactional", {"opt_out_list": "Default", "deletion_protection": False})
    desired = Desired(TARGET, pools=(PoolSpec("transactional", opt_out_list="marketing", deletion_protection=True),))
    [change] = PhoneNumbersArea().diff(desired, NumbersLive(pools=[pool]))
    assert (change.key, change.data) == (
        "phone_numbers/pool/transactional",
        {"id": "pool-1", "updates": {"deletion_protection": True, "opt_out_list": "marketing"}},
    )


def test_missing_identity_and_unknown_pool_size_are_explicit() -> None:
    desired = Desired(TARGET, phone_numbers=(PhoneNumberSpec("+447700900123", deletion_protection=True),))
    [missing] = PhoneNumbersArea().diff(desired, NumbersLive())
    assert FLAG_BLOCKED in missing.flags and "is not in this account" in missing.data["reason"]
    pooled = number()
    pooled.pool_id = "pool-1"
    live = NumbersLive([pooled], pools=[LivePool("pool-1", ARN + "pool/pool-1", None, {}, members=3)])
    desired = Desired(TARGET, phone_numbers=(PhoneNumberSpec("+18885550100", international_sending=True),))
    [juggle] = PhoneNumbersArea().diff(desired, live)
    assert FLAG_POOL_JUGGLING in juggle.flags and FLAG_BLOCKED not in juggle.flags


def test_interrupted_juggle_is_finished_by_the_next_plan() -> None:
    left = number(international_sending=True)
    left.rejoin_pool = "pool-1"
    desired = Desired(TARGET, phone_numbers=(PhoneNumberSpec("+18885550100", international_sending=True),))
    [rejoin] = PhoneNumbersArea().diff(desired, NumbersLive([left]))
    assert (rejoin.action, rejoin.key, rejoin.after) == ("associate", "phone_numbers/number/+18885550100/rejoin-pool", "pool-1")
