"""The CLI in-process against a sandbox snapshot: accounts with numbers, pools, opt-out lists and
recipients who replied STOP, and the sandbox's SendTextMessage as the oracle of who can be reached."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.cli import main
from reconciler.sandbox import Sandbox
from reconciler.sandbox.handlers.opt_outs import simulate_inbound_stop

ACCOUNT = "111122223333"
REGION = "us-east-1"
SMS = "pinpoint-sms-voice-v2"
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"


class Account:
    """A sandbox snapshot file plus the config directory the CLI runs on."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state.json"
        self.config = tmp_path / "config"
        self.config.mkdir()
        (self.config / "targets.yaml").write_text(
            f'targets:\n  - name: prod\n    account_id: "{ACCOUNT}"\n    region: {REGION}\n'
        )
        self.sandbox = Sandbox()

    def client(self) -> Any:
        return self.sandbox.client(SMS, account_id=ACCOUNT, region=REGION)

    def number(self, number_type: str = "TOLL_FREE") -> dict[str, Any]:
        found: dict[str, Any] = self.client().request_phone_number(
            IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType=number_type
        )
        return found

    def stop(self, identity: str, recipient: str) -> None:
        """``recipient`` replies STOP to ``identity``: an end-user opt-out on the list it honours."""
        assert simulate_inbound_stop(self.sandbox.world, ACCOUNT, REGION, identity, recipient) is not None

    def policy(self, **files: str) -> None:
        for name, text in files.items():
            (self.config / f"{name}.yaml").write_text(textwrap.dedent(text))

    def cli(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
        """Run ``reconciler ARGS --config … --sandbox …`` on the saved state, then reload it."""
        self.sandbox.save(self.state)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code = main([*args, "--config", str(self.config), "--sandbox", str(self.state)])
        out, err = capsys.readouterr()
        self.sandbox = Sandbox.from_snapshot(self.state)
        return code, out + err

    def send_error(self, identity: str, destination: str) -> str | None:
        """The reason SendTextMessage refuses the send, or None when the message would go out."""
        try:
            self.client().send_text_message(
                DestinationPhoneNumber=destination, OriginationIdentity=identity, MessageBody="hello"
            )
        except ClientError as error:
            return str(error.response.get("Reason") or error.response["Error"].get("Code"))
        return None

    def entries(self, list_name: str) -> dict[str, bool]:
        """Every entry of a list: number -> EndUserOptedOut."""
        pages = self.client().get_paginator("describe_opted_out_numbers").paginate(OptOutListName=list_name)
        return {e["OptedOutNumber"]: e["EndUserOptedOut"] for p in pages for e in p["OptedOutNumbers"]}
