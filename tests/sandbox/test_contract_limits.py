"""Contract matrix: every paginated operation paged to its last page, and AWS's request limits.

For each Describe/List operation of sms-voice and RAM the sandbox holds more items than one page,
a real boto3 client (its after-call hook checks every page against botocore's output shape) pages
through them, and the union of the pages must be exactly the items, with no repeats and no token
on the last page. Then, per operation that has them: ``MaxResults`` 101 (RAM: ``maxResults`` 501),
six IDs, and an unknown filter name are each refused as AWS refuses them, and every documented
filter name is accepted. Clients skip botocore's client-side validation, so each rejection comes
from the sandbox itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from platform_support import CONSUMER, OWNER, CheckedSandbox, accept_invitations

SMS = "pinpoint-sms-voice-v2"
RAM = "ram"
COUNT = 7  # items per collection: pages of 3 give 3 + 3 + 1
PAGE = 3


def _numbers(sms: Any, count: int = COUNT) -> list[dict[str, Any]]:
    return [
        sms.request_phone_number(
            IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
        )
        for _ in range(count)
    ]


@dataclass
class Paged:
    """A paginated operation: how to fill it, the request, and how to name each item returned."""

    service: str
    operation: str
    items_key: str
    ident: Callable[[dict[str, Any]], str]
    fill: Callable[[CheckedSandbox], tuple[dict[str, Any], set[str]]]  # -> (request params, expected ids)
    id_list: tuple[str, list[Any]] | None = None  # (member, six values)
    filters: tuple[str, ...] = ()
    filter_values: dict[str, str] = field(default_factory=dict)
    account: str = OWNER  # the caller


def _phone_numbers(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    return {}, {n["PhoneNumberId"] for n in _numbers(sandbox.raw_client(SMS))}


def _sender_ids(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    made = {sms.request_sender_id(SenderId=f"BRAND{i}", IsoCountryCode="GB")["SenderId"] for i in range(COUNT)}
    return {}, made


def _pools(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    pools = {
        sms.create_pool(OriginationIdentity=n["PhoneNumberId"], MessageType="TRANSACTIONAL")["PoolId"]
        for n in _numbers(sms)
    }
    return {}, pools


def _configuration_sets(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    return {}, {sms.create_configuration_set(ConfigurationSetName=f"set-{i}")["ConfigurationSetName"] for i in range(COUNT)}


def _opt_out_lists(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    made = {sms.create_opt_out_list(OptOutListName=f"list-{i}")["OptOutListName"] for i in range(COUNT - 1)}
    return {}, made | {"Default"}


def _opted_out_numbers(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    numbers = {f"+1206555{index:04d}" for index in range(COUNT)}
    for number in numbers:
        sms.put_opted_out_number(OptOutListName="Default", OptedOutNumber=number)
    return {"OptOutListName": "Default"}, numbers


def _protect_configurations(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    return {}, {sms.create_protect_configuration()["ProtectConfigurationId"] for _ in range(COUNT)}


def _pool_members(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    numbers = _numbers(sms)
    pool = sms.create_pool(OriginationIdentity=numbers[0]["PhoneNumberId"], MessageType="TRANSACTIONAL")["PoolId"]
    for number in numbers[1:]:
        sms.associate_origination_identity(PoolId=pool, OriginationIdentity=number["PhoneNumberId"], IsoCountryCode="US")
    return {"PoolId": pool}, {n["PhoneNumberArn"] for n in numbers}


def _number_overrides(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    sms = sandbox.raw_client(SMS)
    config = sms.create_protect_configuration()["ProtectConfigurationId"]
    numbers = {f"+4477009000{index:02d}" for index in range(COUNT)}
    for number in numbers:
        sms.put_protect_configuration_rule_set_number_override(
            ProtectConfigurationId=config, DestinationPhoneNumber=number, Action="BLOCK"
        )
    return {"ProtectConfigurationId": config}, numbers


def _shared(sandbox: CheckedSandbox, principals: int = 1) -> tuple[str, list[str]]:
    """One share of seven phone numbers with ``principals`` accounts, settled."""
    ram = sandbox.raw_client(RAM)
    numbers = [n["PhoneNumberArn"] for n in _numbers(sandbox.raw_client(SMS))]
    accounts = [CONSUMER] + [f"{500000000000 + index}" for index in range(principals - 1)]
    share = ram.create_resource_share(name="matrix", principals=accounts, resourceArns=numbers)["resourceShare"]
    for account in accounts:  # all outside the owner's organization: each accepts its invitation
        accept_invitations(sandbox.raw_client(RAM, account))
    sandbox.world.clock.advance(3600)
    return share["resourceShareArn"], numbers


def _shared_numbers(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    _, numbers = _shared(sandbox)
    return {"Owner": "SHARED"}, set(numbers)


def _resource_shares(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    ram = sandbox.raw_client(RAM)
    made = {ram.create_resource_share(name=f"share-{i}")["resourceShare"]["resourceShareArn"] for i in range(COUNT)}
    return {"resourceOwner": "SELF"}, made


def _share_associations(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    share, numbers = _shared(sandbox)
    return {"associationType": "RESOURCE", "resourceShareArns": [share]}, set(numbers)


def _resources(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    _, numbers = _shared(sandbox)
    return {"resourceOwner": "SELF"}, set(numbers)


def _principals(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    _shared(sandbox, principals=COUNT)
    return {"resourceOwner": "SELF"}, {CONSUMER} | {f"{500000000000 + index}" for index in range(COUNT - 1)}


def _permissions(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    return {"resourceType": "sms-voice:PhoneNumber"}, {"arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice"}


def _share_permissions(sandbox: CheckedSandbox) -> tuple[dict[str, Any], set[str]]:
    share, _ = _shared(sandbox)
    return {"resourceShareArn": share}, {"arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice"}


PHONE_IDS = [f"phone-{index:032x}" for index in range(6)]
PAGED = [
    Paged(SMS, "DescribePhoneNumbers", "PhoneNumbers", lambda i: i["PhoneNumberId"], _phone_numbers,
          ("PhoneNumberIds", PHONE_IDS),
          ("status", "iso-country-code", "message-type", "number-capability", "number-type", "two-way-enabled",
           "self-managed-opt-outs-enabled", "opt-out-list-name", "deletion-protection-enabled", "two-way-channel-arn"),
          {"status": "ACTIVE", "iso-country-code": "US", "message-type": "TRANSACTIONAL", "number-capability": "SMS",
           "number-type": "TOLL_FREE", "opt-out-list-name": "Default",
           "two-way-channel-arn": "arn:aws:sns:us-east-1:111122223333:inbound"}),
    Paged(SMS, "DescribeSenderIds", "SenderIds", lambda i: i["SenderId"], _sender_ids,
          ("SenderIds", [{"SenderId": f"BRAND{i}", "IsoCountryCode": "GB"} for i in range(6)]),
          ("sender-id", "iso-country-code", "message-type", "deletion-protection-enabled", "registered"),
          {"sender-id": "BRAND1", "iso-country-code": "GB", "message-type": "TRANSACTIONAL"}),
    Paged(SMS, "DescribePools", "Pools", lambda i: i["PoolId"], _pools,
          ("PoolIds", [f"pool-{index:032x}" for index in range(6)]),
          ("status", "message-type", "two-way-enabled", "self-managed-opt-outs-enabled", "opt-out-list-name",
           "shared-routes-enabled", "deletion-protection-enabled", "two-way-channel-arn"),
          {"status": "ACTIVE", "message-type": "TRANSACTIONAL", "opt-out-list-name": "Default",
           "two-way-channel-arn": "arn:aws:sns:us-east-1:111122223333:inbound"}),
    Paged(SMS, "DescribeConfigurationSets", "ConfigurationSets", lambda i: i["ConfigurationSetName"],
          _configuration_sets, ("ConfigurationSetNames", [f"set-{index}" for index in range(6)]),
          ("event-destination-name", "matching-event-types", "default-message-type", "default-sender-id",
           "default-message-feedback-enabled", "protect-configuration-id"),
          {"event-destination-name": "dest", "matching-event-types": "ALL", "default-message-type": "TRANSACTIONAL",
           "default-sender-id": "BRAND1", "protect-configuration-id": "protect-" + "0" * 32}),
    Paged(SMS, "DescribeOptOutLists", "OptOutLists", lambda i: i["OptOutListName"], _opt_out_lists,
          ("OptOutListNames", [f"list-{index}" for index in range(6)])),
    Paged(SMS, "DescribeOptedOutNumbers", "OptedOutNumbers", lambda i: i["OptedOutNumber"], _opted_out_numbers,
          ("OptedOutNumbers", [f"+1206555{index:04d}" for index in range(6)]), ("end-user-opted-out",)),
    Paged(SMS, "DescribeProtectConfigurations", "ProtectConfigurations", lambda i: i["ProtectConfigurationId"],
          _protect_configurations, ("ProtectConfigurationIds", [f"protect-{index:032x}" for index in range(6)]),
          ("account-default", "deletion-protection-enabled")),
    Paged(SMS, "ListPoolOriginationIdentities", "OriginationIdentities", lambda i: i["OriginationIdentityArn"],
          _pool_members, None, ("iso-country-code", "number-capability"),
          {"iso-country-code": "US", "number-capability": "SMS"}),
    Paged(SMS, "ListProtectConfigurationRuleSetNumberOverrides", "RuleSetNumberOverrides",
          lambda i: i["DestinationPhoneNumber"], _number_overrides, None,
          ("iso-country-code", "destination-phone-number-begins-with", "action", "expires-before", "expires-after",
           "created-before", "created-after"),
          {"iso-country-code": "GB", "destination-phone-number-begins-with": "+44", "action": "BLOCK",
           "expires-before": "2030-01-01T00:00:00Z", "expires-after": "2020-01-01T00:00:00Z",
           "created-before": "2030-01-01T00:00:00Z", "created-after": "2020-01-01T00:00:00Z"}),
    Paged(SMS, "DescribePhoneNumbers", "PhoneNumbers", lambda i: i["PhoneNumberArn"], _shared_numbers,
          account=CONSUMER),
    Paged(RAM, "GetResourceShares", "resourceShares", lambda i: i["resourceShareArn"], _resource_shares),
    Paged(RAM, "GetResourceShareAssociations", "resourceShareAssociations", lambda i: i["associatedEntity"],
          _share_associations),
    Paged(RAM, "ListResources", "resources", lambda i: i["arn"], _resources),
    Paged(RAM, "ListPrincipals", "principals", lambda i: i["id"], _principals),
    Paged(RAM, "ListPermissions", "permissions", lambda i: i["arn"], _permissions),
    Paged(RAM, "ListResourceSharePermissions", "permissions", lambda i: i["arn"], _share_permissions),
]
SMS_PAGED = [case for case in PAGED if case.service == SMS]


def _case_id(case: Paged) -> str:
    return case.operation + ("" if case.account == OWNER else "-as-consumer")


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _call(client: Any, case: Paged, **params: Any) -> dict[str, Any]:
    return getattr(client, _snake(case.operation))(**params)  # type: ignore[no-any-return]


def _size_key(case: Paged) -> tuple[str, str]:
    return ("MaxResults", "NextToken") if case.service == SMS else ("maxResults", "nextToken")


@pytest.mark.parametrize("case", PAGED, ids=lambda c: _case_id(c))
def test_pages_to_the_last_page(sandbox: CheckedSandbox, case: Paged) -> None:
    params, expected = case.fill(sandbox)
    size_key, token_key = _size_key(case)
    client = sandbox.raw_client(case.service, case.account)
    checks_before = sandbox.shape_checks
    seen: list[str] = []
    sizes: list[int] = []
    token = None
    while True:
        page = _call(client, case, **params, **{size_key: PAGE}, **({token_key: token} if token else {}))
        sizes.append(len(page[case.items_key]))
        seen += [case.ident(item) for item in page[case.items_key]]
        token = page.get(token_key)
        if not token:
            break
        assert len(sizes) <= COUNT, "pagination does not end"
    assert len(seen) == len(set(seen)), f"an item was repeated across pages: {seen}"
    assert set(seen) == expected
    full, rest = divmod(len(expected), PAGE)
    assert sizes == [PAGE] * full + ([rest] if rest else []), sizes
    assert sandbox.shape_checks - checks_before == len(sizes)  # every page was checked against its shape
    if not client.can_paginate(_snake(case.operation)):
        return  # botocore declares no paginator for it (RAM's permission listings)
    # boto3's own paginator reaches the same last page.
    paginator = client.get_paginator(_snake(case.operation))
    pages = list(paginator.paginate(**params, PaginationConfig={"PageSize": PAGE}))
    assert [case.ident(item) for page in pages for item in page[case.items_key]] == seen


@pytest.mark.parametrize("case", SMS_PAGED, ids=lambda c: _case_id(c))
def test_max_results_101_is_refused(sandbox: CheckedSandbox, case: Paged) -> None:
    params, _ = case.fill(sandbox)
    client = sandbox.raw_client(SMS)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        _call(client, case, **params, MaxResults=101)
    error = excinfo.value.response
    assert error["Reason"] == "FIELD_VALIDATION_FAILED"
    assert [f["Name"] for f in error["Fields"]] == ["MaxResults"]
    assert "less than or equal to 100" in error["Fields"][0]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(_call(client, case, **params, MaxResults=100)[case.items_key]) <= 100  # the boundary passes


@pytest.mark.parametrize("case", [c for c in PAGED if c.service == RAM], ids=lambda c: _case_id(c))
def test_ram_max_results_501_is_refused(sandbox: CheckedSandbox, case: Paged) -> None:
    params, _ = case.fill(sandbox)
    client = sandbox.raw_client(RAM)
    with pytest.raises(client.exceptions.InvalidParameterException) as excinfo:
        _call(client, case, **params, maxResults=501)
    assert "maxResults" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterException):
        _call(client, case, **params, maxResults=0)
    _call(client, case, **params, maxResults=500)


@pytest.mark.parametrize("case", [c for c in PAGED if c.id_list], ids=lambda c: _case_id(c))
def test_six_ids_are_refused(sandbox: CheckedSandbox, case: Paged) -> None:
    params, _ = case.fill(sandbox)
    assert case.id_list is not None
    member, six = case.id_list
    client = sandbox.raw_client(SMS)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        _call(client, case, **params, **{member: six})
    error = excinfo.value.response
    assert error["Reason"] == "FIELD_VALIDATION_FAILED"
    assert [f["Name"] for f in error["Fields"]] == [member]
    assert "less than or equal to 5" in error["Fields"][0]["Message"]
    # Five pass validation (the handler then answers for the names themselves).
    try:
        _call(client, case, **params, **{member: six[:5]})
    except ClientError as failure:
        assert failure.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("case", [c for c in PAGED if c.filters], ids=lambda c: _case_id(c))
def test_unknown_filter_is_refused_and_every_documented_filter_accepted(sandbox: CheckedSandbox, case: Paged) -> None:
    params, expected = case.fill(sandbox)
    client = sandbox.raw_client(SMS)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        _call(client, case, **params, Filters=[{"Name": "colour", "Values": ["blue"]}])
    error = excinfo.value.response
    assert error["Reason"] == "FIELD_VALIDATION_FAILED"
    assert error["Fields"][0]["Name"] == "Filters[0].Name"
    for name in case.filters:
        value = case.filter_values.get(name, "true")
        page = _call(client, case, **params, Filters=[{"Name": name, "Values": [value]}])
        assert {case.ident(item) for item in page[case.items_key]} <= expected, name
