"""Resource-based policies beside RAM shares, end to end through the sandbox: a declared policy
plans, applies, imports and plans to zero; a grant made outside git through either path is drift
(exit 2) naming the principal and the resource; a consumer sends exactly when granted; and no
write leaves a resource shared more widely than both the old and the new policy allow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from area_support import ACCOUNT, REGION
from botocore.exceptions import ClientError

from reconciler.areas.resource_policies.area import ORDER_NARROW, ORDER_WIDEN, ResourcePoliciesArea, steps
from reconciler.areas.resource_policies.language import ALLOWED, Grant
from reconciler.areas.resource_policies.spec import PolicyGrantSpec, ResourcePolicySpec
from reconciler.areas.shares.area import SharesArea
from reconciler.areas.shares.spec import ResourceRef
from reconciler.aws import Api
from reconciler.cli import main
from reconciler.config import load_policy
from reconciler.config.model import Desired, Target
from reconciler.effects.send_grants import send_grant_effects
from reconciler.plan import ORDER_SHARE, ORDER_UNSHARE
from reconciler.report.mask import mask_number
from reconciler.sandbox import Sandbox, resource_policy, snapshot

CONSUMER = "444455556666"
OUTSIDER = "777788889999"
SMS = "pinpoint-sms-voice-v2"
DESTINATION = "+12065550142"

TARGETS = f'targets:\n  - {{name: prod, account_id: "{ACCOUNT}", region: {REGION}}}\n'


def policy_dir(tmp_path: Path, number: str, grants: str) -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "targets.yaml").write_text(TARGETS)
    (config / "numbers.yaml").write_text(f'phone_numbers:\n  - phone_number: "{number}"\n'
                                         "opt_out_lists:\n  - name: shared\n")
    (config / "shares.yaml").write_text(grants)
    return config


def cli(sandbox: Sandbox, tmp_path: Path, *args: str) -> int:
    state = tmp_path / "state.json"
    sandbox.save(state)
    code = main([*args, "--sandbox", str(state)])
    loaded = snapshot.load(state)
    sandbox.world.regions = loaded.regions  # what the command changed, for the next step
    return code


@pytest.fixture
def number(sms: Any) -> dict[str, Any]:
    return dict(sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL",
                                         NumberCapabilities=["SMS"], NumberType="TOLL_FREE"))


def send(sandbox: Sandbox, account: str, origination: str) -> str:
    """"ok" or the error code of a consumer's send from the owner's identity."""
    client = sandbox.client(SMS, account, REGION)
    try:
        client.send_text_message(DestinationPhoneNumber=DESTINATION, OriginationIdentity=origination, MessageBody="x")
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


GRANT_SEND = """resource_policies:
  - resource: {phone_number: "NUMBER"}
    grants:
      - {principals: ["CONSUMER", sns.amazonaws.com], allow: [send]}
  - resource: {opt_out_list: shared}
    grants:
      - {principals: ["CONSUMER"], allow: [use-opt-out-list]}
"""


def test_a_declared_policy_plans_applies_imports_and_plans_to_zero(
    sandbox: Sandbox, number: dict[str, Any], sms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sms.create_opt_out_list(OptOutListName="shared")
    config = policy_dir(tmp_path, number["PhoneNumber"], GRANT_SEND.replace("NUMBER", number["PhoneNumber"])
                        .replace("CONSUMER", CONSUMER))
    assert send(sandbox, CONSUMER, number["PhoneNumberArn"]) == "ResourceNotFoundException"
    assert cli(sandbox, tmp_path, "plan", "--config", str(config), "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert "attach the resource policy of phone_number +1888" in out or "attach the resource policy" in out
    assert f"{CONSUMER} can now send with phone number" in out  # the effect, before the changes

    assert cli(sandbox, tmp_path, "apply", "--config", str(config), "--auto-approve") == 0
    owner = sandbox.world.regions[(ACCOUNT, REGION)]
    document = json.loads(owner.resource_policies[number["PhoneNumberArn"]].document)
    assert document["Statement"][0]["Principal"] == {"AWS": [CONSUMER], "Service": ["sns.amazonaws.com"]}
    # RAM made a share from each policy; the shares area leaves it alone and nothing is drift.
    assert {s.feature_set for s in owner.resource_shares.values()} == {"CREATED_FROM_POLICY"}
    capsys.readouterr()
    assert cli(sandbox, tmp_path, "plan", "--config", str(config), "--detailed-exitcode") == 0
    assert cli(sandbox, tmp_path, "drift", "--config", str(config)) == 0
    capsys.readouterr()

    # The consumer sends from the number exactly as granted; an account not named cannot.
    assert send(sandbox, CONSUMER, number["PhoneNumberArn"]) == "ok"
    assert send(sandbox, OUTSIDER, number["PhoneNumberArn"]) != "ok"

    out_dir = tmp_path / "imported"
    assert cli(sandbox, tmp_path, "import", "--out", str(out_dir), "--account", ACCOUNT, "--region", REGION,
               "--name", "prod") == 0
    imported = (out_dir / "resource_policies.yaml").read_text()
    assert "resource_policies:" in imported and "use-opt-out-list" in imported and "send" in imported
    # the policy-made shares are written as policies, not as RAM shares
    assert "LinkedResourcePolicy" not in (out_dir / "shares.yaml").read_text() if (out_dir / "shares.yaml").exists() else True
    capsys.readouterr()
    assert cli(sandbox, tmp_path, "plan", "--config", str(out_dir), "--detailed-exitcode") == 0


def test_narrowing_the_policy_to_describe_stops_the_consumer_sending(
    sandbox: Sandbox, number: dict[str, Any], sms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sms.create_opt_out_list(OptOutListName="shared")
    text = GRANT_SEND.replace("NUMBER", number["PhoneNumber"]).replace("CONSUMER", CONSUMER)
    config = policy_dir(tmp_path, number["PhoneNumber"], text)
    assert cli(sandbox, tmp_path, "apply", "--config", str(config), "--auto-approve") == 0
    assert send(sandbox, CONSUMER, number["PhoneNumberArn"]) == "ok"
    policy_dir(tmp_path, number["PhoneNumber"], text.replace("allow: [send]", "allow: [describe]", 1))
    capsys.readouterr()
    assert cli(sandbox, tmp_path, "plan", "--config", str(config)) == 0
    assert f"{CONSUMER} can no longer send with phone number" in capsys.readouterr().out
    assert cli(sandbox, tmp_path, "apply", "--config", str(config), "--auto-approve") == 0
    assert send(sandbox, CONSUMER, number["PhoneNumberArn"]) == "AccessDeniedException"


@pytest.mark.parametrize("path", ["resource-policy", "ram-share"])
def test_a_grant_made_outside_git_is_drift_naming_principal_and_resource(
    sandbox: Sandbox, number: dict[str, Any], sms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    sms.create_opt_out_list(OptOutListName="shared")
    config = policy_dir(tmp_path, number["PhoneNumber"], "")
    assert cli(sandbox, tmp_path, "drift", "--config", str(config)) == 0
    capsys.readouterr()
    arn = number["PhoneNumberArn"]
    if path == "resource-policy":  # in the console, behind git's back
        sms.put_resource_policy(ResourceArn=arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "sms-voice:SendTextMessage", "Resource": arn}]}))
    else:
        sandbox.client("ram", ACCOUNT, REGION).create_resource_share(name="side-door", principals=[OUTSIDER],
                                                                     resourceArns=[arn])
    assert cli(sandbox, tmp_path, "drift", "--config", str(config)) == 2
    out = capsys.readouterr().out
    assert out.startswith("SECURITY: 1 grant(s) the policy does not declare.")
    line = next(line for line in out.splitlines() if line.strip().startswith("!"))
    # The resource as the path knows it: the (masked) number read with its policy, the id RAM holds.
    shown = mask_number(number["PhoneNumber"]) if path == "resource-policy" else number["PhoneNumberId"]
    assert OUTSIDER in line and f"phone_number {shown}" in line
    assert ("resource policy" if path == "resource-policy" else "RAM share side-door") in line
    assert f"through a {'resource policy' if path == 'resource-policy' else 'RAM share'}:" in line  # the path in words

    assert cli(sandbox, tmp_path, "drift", "--config", str(config), "--format", "json") == 2
    [target] = json.loads(capsys.readouterr().out)["targets"]
    [finding] = target["security"]
    assert (finding["principal"], finding["resource_arn"], finding["path"]) == (OUTSIDER, arn, path)

    assert cli(sandbox, tmp_path, "drift", "--config", str(config), "--format", "markdown") == 2
    body = capsys.readouterr().out
    assert body.index("Security: grants the policy does not declare") < body.index("drifted item")

    # The plan and the PR comment rendered from the saved plan show it first, too.
    saved = tmp_path / "plan.json"
    assert cli(sandbox, tmp_path, "plan", "--config", str(config), "--out", str(saved)) == 0
    assert capsys.readouterr().out.startswith("No changes, but SECURITY: 1 grant(s)")
    assert main(["github", "render", "--plan", str(saved)]) == 0
    comment = capsys.readouterr().out
    assert OUTSIDER in comment
    assert comment.index("Security: grants the policy does not declare") < comment.index("change(s) in this pull request")


def test_the_plan_reads_only_policies_ram_links_drift_reads_every_one(
    sandbox: Sandbox, api: Api, sms: Any, target: Target
) -> None:
    arns = [sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                     NumberType="TOLL_FREE")["PhoneNumberArn"] for _ in range(4)]
    sms.put_resource_policy(ResourceArn=arns[0], Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "sms-voice:SendTextMessage",
         "Resource": arns[0]}]}))
    area = ResourcePoliciesArea()
    area.command = "plan"
    live = area.read(api, Desired(target))
    assert live.reads == 1 and not live.complete
    assert [f["principal"] for f in area.security(Desired(target), live)] == [OUTSIDER]
    drift = ResourcePoliciesArea()
    drift.command = "drift"
    live = drift.read(api, Desired(target))
    assert live.reads == 4 + 1 and live.complete  # four numbers and the Default opt-out list


def test_no_write_shares_more_widely_than_both_the_old_and_the_new_policy(
    sandbox: Sandbox, api: Api, number: dict[str, Any], sms: Any, target: Target
) -> None:
    arn = number["PhoneNumberArn"]
    old = {Grant(CONSUMER, "sms-voice:SendTextMessage"), Grant(CONSUMER, "sms-voice:DescribePhoneNumbers"),
           Grant(OUTSIDER, "sms-voice:DescribePhoneNumbers")}
    new = {Grant(CONSUMER, "sms-voice:DescribePhoneNumbers"), Grant("999988887777", "sms-voice:SendTextMessage")}
    from reconciler.areas.resource_policies.language import document

    sms.put_resource_policy(ResourceArn=arn, Policy=document(arn, frozenset(old)))
    spec = ResourcePolicySpec(ResourceRef("phone_number", number["PhoneNumberId"]), grants=(
        PolicyGrantSpec((CONSUMER,), ("sms-voice:DescribePhoneNumbers",)),
        PolicyGrantSpec(("999988887777",), ("sms-voice:SendTextMessage",))))
    desired = Desired(target, phone_numbers=(), resource_policies=(spec,))
    area = ResourcePoliciesArea()
    changes = sorted(area.diff(desired, area.read(api, desired)), key=lambda c: c.sort_key())
    assert [c.order for c in changes] == [ORDER_NARROW, ORDER_WIDEN]
    owner = sandbox.world.regions[(ACCOUNT, REGION)]

    def granted() -> set[tuple[str, str]]:
        policy = owner.resource_policies.get(arn)
        if policy is None:
            return set()
        return {(p, a) for s in resource_policy.parse(policy.document, arn, ACCOUNT) for p in s.accounts for a in s.actions}

    wide_old, wide_new = {(g.principal, g.action) for g in old}, {(g.principal, g.action) for g in new}
    seen = [granted()]
    for change in changes:
        area.apply(api, change)
        seen.append(granted())
        assert seen[-1] <= wide_old or seen[-1] <= wide_new, f"after {change.key}: {seen[-1]}"
    assert seen[-1] == wide_new
    assert seen[1] == {(CONSUMER, "sms-voice:DescribePhoneNumbers")}  # the common part first
    fresh = ResourcePoliciesArea()
    assert fresh.diff(desired, fresh.read(api, desired)) == []


def test_write_steps_order_against_ram_and_trade_through_the_common_part() -> None:
    arn = "arn:aws:sms-voice:us-east-1:111122223333:phone-number/phone-1"
    a, b = Grant("111111111111", "sms-voice:SendTextMessage"), Grant("222222222222", "sms-voice:SendTextMessage")
    assert ORDER_NARROW < ORDER_SHARE < ORDER_UNSHARE < ORDER_WIDEN  # narrowing before RAM grows, widening after
    [widen] = steps(arn, "n", frozenset({a}), frozenset({a, b}))
    [narrow] = steps(arn, "n", frozenset({a, b}), frozenset({a}))
    assert (widen.order, narrow.order) == (ORDER_WIDEN, ORDER_NARROW)
    first, second = steps(arn, "n", frozenset({a}), frozenset({b}))  # nothing in common: delete, then attach
    assert (first.action, first.order, second.action, second.order) == ("delete", ORDER_NARROW, "update", ORDER_WIDEN)
    assert steps(arn, "n", frozenset({a}), frozenset()) and steps(arn, "n", None, frozenset()) == []


def test_ram_findings_name_the_undeclared_principal_and_resource(
    sandbox: Sandbox, api: Api, number: dict[str, Any], target: Target
) -> None:
    ram = sandbox.client("ram", ACCOUNT, REGION)
    ram.create_resource_share(name="declared", principals=[CONSUMER], resourceArns=[number["PhoneNumberArn"]])
    from reconciler.areas.shares.spec import ShareSpec

    desired = Desired(target, shares=(ShareSpec("declared", (CONSUMER,),
                                                resources=(ResourceRef("phone_number", number["PhoneNumberId"]),)),))
    area = SharesArea()
    assert area.security(desired, area.read(api, desired)) == []
    ram.associate_resource_share(resourceShareArn=ram.get_resource_shares(resourceOwner="SELF")["resourceShares"][0]
                                 ["resourceShareArn"], principals=[OUTSIDER])
    fresh = SharesArea()
    [finding] = fresh.security(desired, fresh.read(api, desired))
    assert (finding["principal"], finding["resource_arn"], finding["path"]) == (OUTSIDER, number["PhoneNumberArn"],
                                                                                "ram-share")


def test_the_effect_model_says_who_gains_and_loses_and_the_list_honoured() -> None:
    from reconciler.areas.resource_policies.area import LivePolicies, LiveResource

    arn = "arn:aws:sms-voice:us-east-1:111122223333:phone-number/phone-1"
    live = LivePolicies(resources={arn: LiveResource(arn, "phone_number", "phone_number +18885550100", "Default",
                                                     "{}", (Grant(CONSUMER, "sms-voice:SendTextMessage"),))})
    [change] = steps(arn, "phone_number +18885550100", frozenset({Grant(CONSUMER, "sms-voice:SendTextMessage")}),
                     frozenset({Grant(CONSUMER, "sms-voice:SendTextMessage"),
                                Grant(OUTSIDER, "sms-voice:SendTextMessage")}))
    [gain] = send_grant_effects({"resource_policies": live}, [change], {"phone-1": "marketing"})
    assert gain == {"change": "gains", "principal": OUTSIDER, "kind": "phone_number", "resource": "+18885550100",
                    "actions": ["send"], "opt_out_list": "marketing"}
    [loss] = send_grant_effects({"resource_policies": live}, steps(arn, "x", frozenset(live.resources[arn].grants),
                                                                   frozenset()))
    assert (loss["change"], loss["principal"], loss["opt_out_list"]) == ("loses", CONSUMER, "Default")


def test_the_policy_language_and_the_sandbox_allow_the_same_actions() -> None:
    from reconciler.sandbox import sharing

    kinds = {"phone_number": sharing.PHONE_NUMBER, "sender_id": sharing.SENDER_ID, "pool": sharing.POOL,
             "opt_out_list": sharing.OPT_OUT_LIST}
    assert {k: ALLOWED[k] for k in kinds} == {k: resource_policy.ALLOWED_ACTIONS[v] for k, v in kinds.items()}


def test_validation_errors_point_at_their_line(tmp_path: Path) -> None:
    config = policy_dir(tmp_path, "+18885550100", """resource_policies:
  - resource: {phone_number: "+18885550100"}
    grants:
      - {principals: ["111122223333"], allow: [sendd]}
  - resource: {opt_out_list: shared}
    grants:
      - {principals: ["444455556666"], allow: [send, sms-voice:SendTextMessage]}
    statements:
      - {Effect: Allow, Principal: {AWS: "arn:aws:iam::444455556666:role/app"}, Action: sms-voice:PutOptedOutNumber}
  - resource: {pool: missing}
    grants: []
""")
    policy, diagnostics = load_policy(config)
    assert policy is None
    found = sorted((d.line, d.code) for d in diagnostics if d.file.endswith("shares.yaml"))
    assert found == [
        (4, "policy-own-account"), (4, "policy-unknown-preset"),
        (7, "policy-action-not-allowed"), (7, "policy-preset-not-applicable"),
        (9, "policy-statement-invalid"),
        (10, "unresolved-reference"),
    ]


def test_import_writes_a_conditional_service_grant_as_a_statement_that_plans_to_zero(
    sandbox: Sandbox, number: dict[str, Any], sms: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = number["PhoneNumberArn"]
    sms.put_resource_policy(ResourceArn=arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "sns", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": ["sms-voice:SendTextMessage"], "Resource": arn,
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CONSUMER}:root"},
         "Action": ["sms-voice:SendTextMessage", "sms-voice:SendVoiceMessage", "sms-voice:SendMediaMessage"],
         "Resource": arn}]}))
    out_dir = tmp_path / "imported"
    assert cli(sandbox, tmp_path, "import", "--out", str(out_dir), "--account", ACCOUNT, "--region", REGION,
               "--name", "prod") == 0
    imported = (out_dir / "resource_policies.yaml").read_text()
    assert "statements:" in imported and "aws:SourceAccount" in imported and "- send" in imported
    capsys.readouterr()
    assert cli(sandbox, tmp_path, "drift", "--config", str(out_dir)) == 0, capsys.readouterr().out


def test_the_effect_model_names_a_ram_shared_resource_by_its_id_when_nothing_else_is_known() -> None:
    from reconciler.areas.shares.area import LiveShare, LiveShares
    from reconciler.plan import Change

    arn = "arn:aws:sms-voice:us-east-1:111122223333:sender-id/DEMOTP/GB"
    share = LiveShare("arn:aws:ram:us-east-1:111122223333:resource-share/x", "s", False, True,
                      principals={CONSUMER: "ASSOCIATED"}, resources={arn: "ASSOCIATED"})
    remove = Change("shares", "remove", "share-principal", "shares/s/principal/" + CONSUMER,
                    data={"share_arn": share.arn, "entity": CONSUMER})
    [loss] = send_grant_effects({"shares": LiveShares(shares=[share])}, [remove])
    assert (loss["change"], loss["kind"], loss["resource"]) == ("loses", "sender_id", "DEMOTP/GB")
    assert loss["actions"] == ["DescribeSenderIds", "send"]
