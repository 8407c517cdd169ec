"""End to end: the CLI as a subprocess against `reconciler sandbox serve`, checked through the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
AU = "+61491570156"
GB = "+447700900123"

TARGETS = f"""
targets:
  - name: prod
    account_id: "{ACCOUNT}"
    region: {REGION}
"""
PROTECT = """
protect_configurations:
  - name: prod
    account_default: true
    configuration_sets: [tx]
    rules:
      SMS:
        default: ALLOW
        BLOCK: [AU]
"""
IDENTITIES = """
configuration_sets:
  - name: tx
"""


class Server:
    def __init__(self, process: subprocess.Popen[str], endpoint: str) -> None:
        self.process = process
        self.endpoint = endpoint

    def env(self, account: str = ACCOUNT) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=account,
            AWS_SECRET_ACCESS_KEY="sandbox",
            AWS_DEFAULT_REGION=REGION,
            RECONCILER_RATE_SCALE="0",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return env

    def client(self, service: str = "pinpoint-sms-voice-v2", account: str = ACCOUNT) -> Any:
        session = boto3.Session(aws_access_key_id=account, aws_secret_access_key="sandbox", region_name=REGION)
        return session.client(service, endpoint_url=self.endpoint)


@pytest.fixture
def server() -> Iterator[Server]:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, line + (process.stderr.read() if process.stderr else "")
    try:
        yield Server(process, line.rsplit(" ", 1)[-1].strip())
    finally:
        process.terminate()
        process.wait(timeout=10)


def write_config(root: Path, **files: str) -> Path:
    config = root / "config"
    config.mkdir(exist_ok=True)
    for name, text in files.items():
        (config / f"{name}.yaml").write_text(textwrap.dedent(text))
    return config


def cli(server: Server, *args: str, account: str = ACCOUNT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        env=server.env(account),
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin if stdin is not None else "",
    )


def blocked(client: Any, destination: str) -> bool:
    try:
        client.send_text_message(DestinationPhoneNumber=destination, MessageBody="hi", ConfigurationSetName="tx")
    except client.exceptions.ConflictException as error:
        return error.response.get("Reason") == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"
    return False


def test_protect_plan_apply_then_second_plan_exits_zero(server: Server, tmp_path: Path) -> None:
    sms = server.client()
    sms.create_configuration_set(ConfigurationSetName="tx")
    sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE")
    config = write_config(tmp_path, targets=TARGETS, protect=PROTECT, identities=IDENTITIES)

    plan = cli(server, "plan", "--config", str(config), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    first_line = plan.stdout.splitlines()[0]
    assert first_line.startswith("Plan: ") and "1 create" in first_line
    assert "block SMS to AU" in plan.stdout
    assert not blocked(sms, AU)

    apply = cli(server, "apply", "--config", str(config), "--auto-approve")
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert apply.stdout.startswith("Apply complete:")
    assert blocked(sms, AU) and not blocked(sms, GB)

    again = cli(server, "plan", "--config", str(config), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("No changes")
    drift = cli(server, "drift", "--config", str(config))
    assert drift.returncode == 0 and drift.stdout.startswith("No drift")


def test_phone_numbers_plan_apply_and_drift(server: Server, tmp_path: Path) -> None:
    sms = server.client()
    number = sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                      NumberType="TOLL_FREE")
    sender = sms.request_sender_id(IsoCountryCode="GB", SenderId="DEMOTP")
    identities = f"""
    phone_numbers:
      - phone_number: "{number['PhoneNumber']}"
        international_sending: true
        deletion_protection: true
    sender_ids:
      - sender_id: DEMOTP
        country: GB
        deletion_protection: true
    """
    config = write_config(tmp_path, targets=TARGETS, identities=identities)
    plan = cli(server, "plan", "--config", str(config), "--format", "json", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    document = json.loads(plan.stdout)
    assert document["format"] == "sms-policy-reconciler/plan" and document["version"] == 2
    keys = [c["key"] for c in document["plans"][0]["changes"]]
    assert keys == [f"phone_numbers/number/{number['PhoneNumber']}", "phone_numbers/sender-id/DEMOTP/GB"]

    drift = cli(server, "drift", "--config", str(config))
    assert drift.returncode == 2 and drift.stdout.startswith("Drift: 2 drifted")

    assert cli(server, "apply", "--config", str(config), "--auto-approve").returncode == 0
    live = sms.describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberId"]])["PhoneNumbers"][0]
    assert live["InternationalSendingEnabled"] and live["DeletionProtectionEnabled"]
    assert sms.describe_sender_ids(SenderIds=[{"SenderId": "DEMOTP", "IsoCountryCode": "GB"}])["SenderIds"][0][
        "DeletionProtectionEnabled"
    ]
    assert sender["SenderId"] == "DEMOTP"
    assert cli(server, "plan", "--config", str(config), "--detailed-exitcode").returncode == 0
    # Turning deletion protection off always needs --force.
    (config / "identities.yaml").write_text(textwrap.dedent(identities).replace("deletion_protection: true", "deletion_protection: false"))
    refused = cli(server, "apply", "--config", str(config), "--auto-approve")
    assert refused.returncode == 1 and "always need --force" in refused.stderr
    assert cli(server, "apply", "--config", str(config), "--auto-approve", "--force").returncode == 0


def test_saved_plan_applies_once_and_is_refused_when_stale(server: Server, tmp_path: Path) -> None:
    sms = server.client()
    sms.create_configuration_set(ConfigurationSetName="tx")
    config = write_config(tmp_path, targets=TARGETS, protect=PROTECT, identities=IDENTITIES)
    planfile = tmp_path / "plan.json"
    assert cli(server, "plan", "--config", str(config), "--out", str(planfile)).returncode == 0
    saved = json.loads(planfile.read_text())
    assert saved["plans"][0]["fingerprint"].startswith("sha256:")
    # Someone changes the account after the plan was reviewed.
    sms.create_protect_configuration(Tags=[{"Key": "Name", "Value": "prod"}])
    stale = cli(server, "apply", str(planfile), "--config", str(config), "--auto-approve")
    assert stale.returncode == 1
    assert "the saved plan is stale: the live state of protect changed" in stale.stderr
    assert "Traceback" not in stale.stderr


def test_credentials_of_another_account_are_refused(server: Server, tmp_path: Path) -> None:
    config = write_config(tmp_path, targets=TARGETS, protect=PROTECT, identities=IDENTITIES)
    # An error is exit 1 for plan (with or without --detailed-exitcode) and for drift alike.
    for command in (["plan"], ["plan", "--detailed-exitcode"], ["drift"]):
        result = cli(server, *command, "--config", str(config), account=OTHER)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert f"is account {ACCOUNT}, but the credentials belong to account {OTHER}" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_apply_without_a_terminal_needs_auto_approve(server: Server, tmp_path: Path) -> None:
    config = write_config(tmp_path, targets=TARGETS, protect=PROTECT, identities=IDENTITIES)
    result = cli(server, "apply", "--config", str(config))
    assert result.returncode == 1 and "--auto-approve" in result.stderr
    assert server.client().describe_protect_configurations()["ProtectConfigurations"] == []


def test_targets_github_matrix(server: Server, tmp_path: Path) -> None:
    config = write_config(tmp_path, targets=TARGETS)
    result = cli(server, "targets", "--config", str(config), "--github-matrix")
    assert json.loads(result.stdout) == {"include": [{"account_id": ACCOUNT, "region": REGION, "target": "prod"}]}


def test_opt_outs_plan_apply_then_second_plan_exits_zero(server: Server, tmp_path: Path) -> None:
    numbers = ["+12065550123", "+12065550124"]
    opt_outs = f"""
    opt_out_lists:
      - name: marketing
        mode: additive
        numbers: ["{numbers[0]}", "{numbers[1]}"]
    """
    config = write_config(tmp_path, targets=TARGETS, **{"opt-outs": opt_outs})
    plan = cli(server, "plan", "--config", str(config), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    assert "+1206555****" in plan.stdout and numbers[0] not in plan.stdout and numbers[0] not in plan.stderr
    assert plan.stdout.startswith("Plan: ") and "create opt-out list marketing (additive, 2 numbers)" in plan.stdout
    assert "add +1206555**** to marketing" in plan.stdout
    assert cli(server, "apply", "--config", str(config), "--auto-approve").returncode == 0
    listed = server.client().describe_opted_out_numbers(OptOutListName="marketing")["OptedOutNumbers"]
    assert sorted(n["OptedOutNumber"] for n in listed) == numbers
    assert cli(server, "plan", "--config", str(config), "--detailed-exitcode").returncode == 0


def test_shares_plan_apply_then_second_plan_exits_zero(server: Server, tmp_path: Path) -> None:
    sms = server.client()
    number = sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                      NumberType="TOLL_FREE")
    shares = f"""
    shares:
      - name: partner
        principals: ["{OTHER}"]
        allow_external_principals: true
        resources:
          - {{phone_number: "{number['PhoneNumber']}"}}
    """
    identities = f"""
    phone_numbers:
      - phone_number: "{number['PhoneNumber']}"
    """
    config = write_config(tmp_path, targets=TARGETS, shares=shares, identities=identities)
    plan = cli(server, "plan", "--config", str(config), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "create resource share partner (1 principal, 1 resource)" in plan.stdout
    assert "[external-principals]" in plan.stdout
    apply = cli(server, "apply", "--config", str(config), "--auto-approve")
    assert apply.returncode == 0, apply.stdout + apply.stderr
    consumer = server.client("pinpoint-sms-voice-v2", account=OTHER)
    # OTHER is outside the organization: RAM invites it, and it sees nothing until it accepts.
    assert consumer.describe_phone_numbers(Owner="SHARED")["PhoneNumbers"] == []
    pending = cli(server, "plan", "--config", str(config), "--detailed-exitcode")
    assert pending.returncode == 0, pending.stdout + pending.stderr  # nothing the reconciler can do
    assert pending.stdout.startswith("No changes, but 1 pending")
    assert f"account {OTHER} has not accepted the resource share invitation" in pending.stdout
    drift = cli(server, "drift", "--config", str(config), "--format", "json")
    [target] = json.loads(drift.stdout)["targets"]
    assert (target["drifted"], target["missing"]) == ([], [])
    assert [(p["share"], p["principal"], p["status"]) for p in target["pending"]] == [
        ("partner", OTHER, "invitation-pending")
    ]
    ram = server.client("ram", account=OTHER)
    [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    shared = consumer.describe_phone_numbers(Owner="SHARED")["PhoneNumbers"]
    assert [n["PhoneNumberArn"] for n in shared] == [number["PhoneNumberArn"]]
    again = cli(server, "plan", "--config", str(config), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("No changes: live state matches the policy")
