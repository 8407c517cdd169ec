"""The seed walkthroughs, replayed with the AWS CLI against ``reconciler sandbox serve``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OWNER = "111122223333"
CONSUMER = "444455556666"

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is a test dependency")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip() if process.stdout else ""
        assert line.startswith("Sandbox listening on "), line
        yield line.rsplit(" ", 1)[1]
    finally:
        process.terminate()
        process.wait(timeout=30)


class AwsCli:
    def __init__(self, endpoint: str, account: str, home: Path) -> None:
        self.endpoint = endpoint
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": "sandbox-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["aws", "--endpoint-url", self.endpoint, "--output", "json", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def __call__(self, *args: str) -> dict:
        result = self.run(*args)
        assert result.returncode == 0, f"aws {' '.join(args)} failed: {result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.fixture
def owner(endpoint: str, tmp_path: Path) -> AwsCli:
    return AwsCli(endpoint, OWNER, tmp_path)


@pytest.fixture
def consumer(endpoint: str, tmp_path: Path) -> AwsCli:
    return AwsCli(endpoint, CONSUMER, tmp_path)


def _toll_free(aws: AwsCli) -> dict:
    return aws(
        "pinpoint-sms-voice-v2",
        "request-phone-number",
        "--iso-country-code",
        "US",
        "--message-type",
        "TRANSACTIONAL",
        "--number-capabilities",
        "SMS",
        "--number-type",
        "TOLL_FREE",
    )


def test_international_sending_on_a_toll_free_number(owner: AwsCli) -> None:
    number_id = _toll_free(owner)["PhoneNumberId"]
    enabled = owner(
        "pinpoint-sms-voice-v2",
        "update-phone-number",
        "--phone-number-id",
        number_id,
        "--international-sending-enabled",
    )
    assert enabled["InternationalSendingEnabled"] is True and enabled["NumberType"] == "TOLL_FREE"
    described = owner("pinpoint-sms-voice-v2", "describe-phone-numbers", "--phone-number-ids", number_id)
    assert described["PhoneNumbers"][0]["InternationalSendingEnabled"] is True
    disabled = owner(
        "pinpoint-sms-voice-v2",
        "update-phone-number",
        "--phone-number-id",
        number_id,
        "--no-international-sending-enabled",
    )
    assert disabled["InternationalSendingEnabled"] is False
    described = owner("pinpoint-sms-voice-v2", "describe-phone-numbers", "--phone-number-ids", number_id)
    assert described["PhoneNumbers"][0]["InternationalSendingEnabled"] is False


def test_protect_configuration_blocks_au_and_allows_gb(owner: AwsCli) -> None:
    sender = owner(
        "pinpoint-sms-voice-v2", "request-sender-id", "--iso-country-code", "GB", "--sender-id", "DEMOTP"
    )
    assert (sender["SenderId"], sender["IsoCountryCode"]) == ("DEMOTP", "GB")
    config = owner(
        "pinpoint-sms-voice-v2", "create-protect-configuration", "--tags", "Key=Name,Value=CLITESTING"
    )
    assert config["AccountDefault"] is False and config["Tags"] == [{"Key": "Name", "Value": "CLITESTING"}]
    config_id = config["ProtectConfigurationId"]
    rules = owner(
        "pinpoint-sms-voice-v2",
        "update-protect-configuration-country-rule-set",
        "--protect-configuration-id",
        config_id,
        "--number-capability",
        "SMS",
        "--country-rule-set-updates",
        '{"AU":{"ProtectStatus":"BLOCK"}}',
    )
    assert rules["CountryRuleSet"]["AU"]["ProtectStatus"] == "BLOCK"
    default = owner(
        "pinpoint-sms-voice-v2",
        "set-account-default-protect-configuration",
        "--protect-configuration-id",
        config_id,
    )
    assert default["DefaultProtectConfigurationId"] == config_id
    sent = owner(
        "pinpoint-sms-voice-v2",
        "send-text-message",
        "--destination-phone-number",
        "+447700900123",
        "--message-body",
        "hello GB",
    )
    assert sent["MessageId"]
    refused = owner.run(
        "pinpoint-sms-voice-v2",
        "send-text-message",
        "--destination-phone-number",
        "+61491570006",
        "--message-body",
        "hello AU",
    )
    assert refused.returncode != 0
    # Exactly what the seed article shows the CLI printing.
    assert (
        "An error occurred (ConflictException) when calling the SendTextMessage operation: Conflict Occurred - "
        f'Reason="DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION" ResourceType="protect-configuration" '
        f'ResourceId="{config_id}"'
    ) in refused.stderr


def test_share_a_number_with_another_account(owner: AwsCli, consumer: AwsCli) -> None:
    number = _toll_free(owner)
    share = owner(
        "ram",
        "create-resource-share",
        "--name",
        "EUM-Shared-Resources",
        "--principals",
        CONSUMER,
        "--permission-arns",
        "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice",
        "--allow-external-principals",
    )["resourceShare"]
    assert share["allowExternalPrincipals"] is True
    share_arn = share["resourceShareArn"]
    associated = owner(
        "ram",
        "associate-resource-share",
        "--resource-share-arn",
        share_arn,
        "--resource-arns",
        number["PhoneNumberArn"],
    )
    assert associated["resourceShareAssociations"][0]["status"] == "ASSOCIATING"
    # The consumer is outside the owner's organization: it sees nothing until it accepts the
    # invitation RAM sends it (RAM User Guide, "Accepting and rejecting resource share invitations").
    assert consumer("pinpoint-sms-voice-v2", "describe-phone-numbers", "--owner", "SHARED")["PhoneNumbers"] == []
    [invitation] = consumer("ram", "get-resource-share-invitations")["resourceShareInvitations"]
    assert (invitation["status"], invitation["resourceShareArn"]) == ("PENDING", share["resourceShareArn"])
    accepted = consumer("ram", "accept-resource-share-invitation", "--resource-share-invitation-arn",
                        invitation["resourceShareInvitationArn"])
    assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"
    shares = owner("ram", "get-resource-shares", "--resource-owner", "SELF", "--name", "EUM-Shared-Resources")
    assert [s["resourceShareArn"] for s in shares["resourceShares"]] == [share_arn]
    resources = owner(
        "ram", "list-resources", "--resource-owner", "SELF", "--resource-share-arns", share_arn
    )["resources"]
    assert [(r["arn"], r["type"], r["status"]) for r in resources] == [
        (number["PhoneNumberArn"], "sms-voice:PhoneNumber", "AVAILABLE")
    ]
    seen = consumer("pinpoint-sms-voice-v2", "describe-phone-numbers", "--owner", "SHARED")["PhoneNumbers"]
    assert [n["PhoneNumberArn"] for n in seen] == [number["PhoneNumberArn"]]
    sent = consumer(
        "pinpoint-sms-voice-v2",
        "send-text-message",
        "--destination-phone-number",
        "+12065550199",
        "--origination-identity",
        number["PhoneNumberArn"],
        "--message-body",
        "Hello from a shared number!",
    )
    assert sent["MessageId"]
    gone = owner(
        "ram",
        "disassociate-resource-share",
        "--resource-share-arn",
        share_arn,
        "--resource-arns",
        number["PhoneNumberArn"],
    )
    assert gone["resourceShareAssociations"][0]["status"] == "DISASSOCIATING"
    assert (
        consumer("pinpoint-sms-voice-v2", "describe-phone-numbers", "--owner", "SHARED")["PhoneNumbers"] == []
    )
    refused = consumer.run(
        "pinpoint-sms-voice-v2",
        "send-text-message",
        "--destination-phone-number",
        "+12065550199",
        "--origination-identity",
        number["PhoneNumberArn"],
        "--message-body",
        "no longer shared",
    )
    assert refused.returncode != 0


def test_cli_reaches_the_sandbox_through_endpoint_environment_variables(owner: AwsCli) -> None:
    """No ``--endpoint-url``: the standard per-service variables, then the global one."""

    def run(extra_env: dict[str, str], *args: str) -> dict:
        result = subprocess.run(
            ["aws", "--output", "json", *args],
            env={**owner.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"aws {' '.join(args)} failed: {result.stderr}"
        return json.loads(result.stdout)

    per_service = {
        "AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2": owner.endpoint,
        "AWS_ENDPOINT_URL_RAM": owner.endpoint,
        "AWS_ENDPOINT_URL_STS": owner.endpoint,
    }
    assert run(per_service, "sts", "get-caller-identity")["Account"] == OWNER
    created = run(per_service, "pinpoint-sms-voice-v2", "create-opt-out-list", "--opt-out-list-name", "env-list")
    assert created["OptOutListArn"].endswith(f":{OWNER}:opt-out-list/env-list")
    assert "resourceShares" in run(per_service, "ram", "get-resource-shares", "--resource-owner", "SELF")
    lists = run({"AWS_ENDPOINT_URL": owner.endpoint}, "pinpoint-sms-voice-v2", "describe-opt-out-lists")
    assert "env-list" in [item["OptOutListName"] for item in lists["OptOutLists"]]
