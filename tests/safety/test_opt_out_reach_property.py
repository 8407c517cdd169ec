"""Property: whatever the live state and the policy, an apply that exits 0 leaves every recipient
who replied STOP refused by every identity that refused them before.

Live states: lists holding end-user opt-outs (and other entries), phone numbers on lists, a pool
(two numbers and a sender ID) on a list. Policies: lists kept, created, renamed or pruned (prune on
and off, additive and exact), numbers and the pool moved to other lists. The oracle is the
sandbox's SendTextMessage (reconciler/sandbox/handlers/sending.py), not the effect model.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler.apply import ApplyOptions, apply_target
from reconciler.areas.opt_outs.carry import FLAG_DROPS_END_USER
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec, PoolSpec
from reconciler.aws import SandboxSessionFactory
from reconciler.config.model import Desired, Policy, Target
from reconciler.engine import Engine
from reconciler.guard import GuardOptions
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import Clock, OptOutEntry, World

ACCOUNT = "111122223333"
REGION = "us-east-1"
START = 1_767_225_600.0
RECIPIENTS = ("+12065550101", "+12065550102", "+12065550103", "+447700900123")
LISTS = ("a", "b", "c")
GUARD = GuardOptions(force=True, allow_pool_juggling=True, max_deletions=100, max_deletion_percent=100,
                     max_removals=100, max_removal_percent=100)

entries = st.dictionaries(st.sampled_from(RECIPIENTS), st.sampled_from((True, True, False)), max_size=3)  # number -> end user?


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    lists = draw(st.dictionaries(st.sampled_from(LISTS), entries, min_size=1, max_size=3))
    wanted = draw(st.dictionaries(st.sampled_from((*LISTS, "d")), st.tuples(
        st.sampled_from(("additive", "exact")), st.sets(st.sampled_from(RECIPIENTS), max_size=2)), max_size=3))
    # Identities move to lists that exist after the apply (a move to a missing list fails anyway).
    targets = st.sampled_from(sorted(set(wanted) | set(lists)))
    return {
        "lists": lists,
        "wanted": wanted,
        "numbers": draw(st.lists(st.sampled_from((*lists, "Default")), min_size=1, max_size=3)),  # each number's list
        "pool": draw(st.sampled_from((*lists, "Default"))),
        "moves": draw(st.lists(st.one_of(targets, st.none()), min_size=3, max_size=3)),
        "pool_move": draw(st.one_of(targets, st.none())),
        "prune": draw(st.booleans()),
    }


def _seed(sandbox: Sandbox, scenario: dict[str, Any]) -> list[str]:
    """The live state; returns the identities to send from (number ids, the pool, the sender ID)."""
    client = sandbox.client("pinpoint-sms-voice-v2", account_id=ACCOUNT, region=REGION)
    state = sandbox.world.region(ACCOUNT, REGION)
    for name in scenario["lists"]:
        client.create_opt_out_list(OptOutListName=name)
    for name, listed in scenario["lists"].items():
        for number, end_user in listed.items():
            state.opt_out_lists[name].entries[number] = OptOutEntry(START, end_user)
    identities = []
    for list_name in scenario["numbers"]:
        number = _number(client)
        client.update_phone_number(PhoneNumberId=number, OptOutListName=_existing(scenario, list_name))
        identities.append(number)
    first, second = _number(client), _number(client)
    pool = client.create_pool(OriginationIdentity=first, IsoCountryCode="US", MessageType="TRANSACTIONAL")["PoolId"]
    client.associate_origination_identity(PoolId=pool, OriginationIdentity=second, IsoCountryCode="US")
    sender = client.request_sender_id(SenderId="ACME", IsoCountryCode="GB", MessageTypes=["TRANSACTIONAL"])
    client.associate_origination_identity(PoolId=pool, OriginationIdentity=sender["SenderIdArn"], IsoCountryCode="GB")
    client.update_pool(PoolId=pool, OptOutListName=_existing(scenario, scenario["pool"]))
    return [*identities, first, pool, sender["SenderIdArn"]]


def _existing(scenario: dict[str, Any], name: str) -> str:
    return name if name in scenario["lists"] else "Default"


def _number(client: Any) -> str:
    return str(client.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                           NumberType="TOLL_FREE")["PhoneNumberId"])


def _policy(scenario: dict[str, Any], numbers: list[str], pool: str) -> Policy:
    target = Target(name="prod", account_id=ACCOUNT, region=REGION)
    lists = tuple(OptOutListSpec(name, mode, tuple(sorted(chosen))) for name, (mode, chosen) in scenario["wanted"].items())
    phone_numbers = tuple(
        PhoneNumberSpec(number, opt_out_list=move) for number, move in zip(numbers, scenario["moves"], strict=False)
    )
    pools = (PoolSpec(pool, opt_out_list=scenario["pool_move"]),)
    desired = Desired(target=target, opt_out_lists=lists, phone_numbers=phone_numbers, pools=pools,
                      prune=frozenset({"opt_outs"}) if scenario["prune"] else frozenset())
    return Policy(config_dir="config", targets={"prod": target}, desired={"prod": desired})


def refused(sandbox: Sandbox, identities: list[str]) -> set[tuple[str, str]]:
    """(identity, recipient) pairs SendTextMessage refuses because the recipient opted out."""
    client = sandbox.client("pinpoint-sms-voice-v2", account_id=ACCOUNT, region=REGION)
    found = set()
    for identity in identities:
        for recipient in RECIPIENTS:
            try:
                client.send_text_message(DestinationPhoneNumber=recipient, OriginationIdentity=identity,
                                         MessageBody="hi", DryRun=True)
            except client.exceptions.ConflictException as error:
                if error.response.get("Reason") == "DESTINATION_PHONE_NUMBER_OPTED_OUT":
                    found.add((identity, recipient))
            except (client.exceptions.ValidationException, client.exceptions.ResourceNotFoundException):
                pass  # this identity cannot reach that country at all (a GB sender ID, a US number abroad)
    return found


def end_user_pairs(sandbox: Sandbox, pairs: set[tuple[str, str]], identities: list[str]) -> set[tuple[str, str]]:
    """Of the refused pairs, those refused because of an end-user opt-out (the invariant's scope)."""
    state = sandbox.world.region(ACCOUNT, REGION)
    end_users = {n for item in state.opt_out_lists.values() for n, e in item.entries.items() if e.end_user_opted_out}
    return {(identity, recipient) for identity, recipient in pairs if recipient in end_users}


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario=scenarios())
def test_every_stop_stays_refused_by_every_identity_that_refused_it(scenario: dict[str, Any]) -> None:
    sandbox = Sandbox(world=World(Clock(start=START, simulated=True)))
    identities = _seed(sandbox, scenario)
    numbers, pool = identities[: len(scenario["numbers"])], identities[-2]
    before = end_user_pairs(sandbox, refused(sandbox, identities), identities)
    policy = _policy(scenario, numbers, pool)
    engine = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0)
    plan = engine.plan(engine.start("prod"))
    dropped = sum(int(c.data.get("end_user_opt_outs", 0)) for c in plan.changes if FLAG_DROPS_END_USER in c.flags)
    guard = GuardOptions(**{**GUARD.__dict__, "drop_end_user_opt_outs": dropped or None})
    try:
        result = apply_target(Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0), "prod",
                              ApplyOptions(guard=guard))
        ok = result.ok
    except Exception as error:  # a refusal (UserError) is an apply that exits 1
        ok = False
        assert type(error).__name__ in {"GuardError", "UserError", "StalePlan"}, error
    event(f"apply exit {0 if ok else 1}; carries: {sum(c.resource_type == 'carried-opt-outs' for c in plan.changes)}")
    if not ok:
        return
    assert before <= refused(sandbox, identities), before - refused(sandbox, identities)
    again = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0)
    assert again.plan(again.start("prod")).changes == []
