"""Issue 12: a pooled number's opt-out list, and putting a number back into its pool.

AWS: a pool's members share its settings, the opt-out list included (user guide "Phone pools");
AssociateOriginationIdentity refuses a number whose list differs (OPT_OUT_LIST_MISMATCH).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from optout_support import Account

from reconciler.areas.phone_numbers.area import REJOIN_PREFIX

LISTS = """
    opt_out_lists:
      - name: other
        mode: additive
        numbers: []
    """


@pytest.fixture
def pooled(tmp_path: Path) -> tuple[Account, dict[str, str], str]:
    account = Account(tmp_path)
    client = account.client()
    first, second = account.number(), account.number()
    pool = client.create_pool(OriginationIdentity=first["PhoneNumberId"], IsoCountryCode="US",
                              MessageType="TRANSACTIONAL")
    client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"],
                                          IsoCountryCode="US")
    client.create_opt_out_list(OptOutListName="other")
    return account, first, pool["PoolId"]


def test_moving_a_pooled_number_to_another_list_is_refused_with_the_fix(
    pooled: tuple[Account, dict[str, str], str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, number, pool_id = pooled
    account.policy(**{"opt-outs": LISTS}, identities=f"""
        phone_numbers:
          - phone_number: "{number['PhoneNumber']}"
            opt_out_list: other
        """)
    code, out = account.cli(capsys, monkeypatch, "apply", "--auto-approve", "--allow-pool-juggling")
    # Before: exit 0, the number outside its pool, and the next plan empty.
    assert code == 1, out
    assert "identities.yaml:3:" in out and "set opt_out_list: other on the pool" in out
    live = account.client().describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberId"]])["PhoneNumbers"][0]
    assert live["PoolId"] == pool_id and live["OptOutListName"] == "Default"


def test_a_number_follows_its_pool_to_a_new_list(
    pooled: tuple[Account, dict[str, str], str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account, number, pool_id = pooled
    account.policy(**{"opt-outs": LISTS}, identities=f"""
        phone_numbers:
          - phone_number: "{number['PhoneNumber']}"
            opt_out_list: other
        pools:
          - pool: {pool_id}
            opt_out_list: other
        """)
    code, out = account.cli(capsys, monkeypatch, "apply", "--auto-approve", "--allow-pool-juggling")
    assert code == 0, out
    live = account.client().describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberId"]])["PhoneNumbers"][0]
    assert live["PoolId"] == pool_id and live["OptOutListName"] == "other"
    code, out = account.cli(capsys, monkeypatch, "plan", "--detailed-exitcode")
    assert code == 0, out


def test_a_refused_rejoin_fails_the_apply_and_keeps_the_marker(
    pooled: tuple[Account, dict[str, str], str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted juggle left the number outside its pool with another list: the rejoin is
    refused with OPT_OUT_LIST_MISMATCH, which is not "already a member"."""
    account, number, pool_id = pooled
    client = account.client()
    pool_arn = client.describe_pools(PoolIds=[pool_id])["Pools"][0]["PoolArn"]
    client.tag_resource(ResourceArn=pool_arn, Tags=[{"Key": REJOIN_PREFIX + number["PhoneNumberId"],
                                                     "Value": number["PhoneNumberArn"]}])
    client.disassociate_origination_identity(PoolId=pool_id, OriginationIdentity=number["PhoneNumberId"],
                                             IsoCountryCode="US")
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="other")
    account.policy(**{"opt-outs": LISTS}, identities=f"""
        phone_numbers:
          - phone_number: "{number['PhoneNumber']}"
            deletion_protection: false
        """)
    code, out = account.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 1, out
    assert "OPT_OUT_LIST_MISMATCH" in out and "share the pool's opt-out list" in out
    tags = account.client().list_tags_for_resource(ResourceArn=pool_arn)["Tags"]
    assert [t["Key"] for t in tags] == [REJOIN_PREFIX + number["PhoneNumberId"]]
    code, out = account.cli(capsys, monkeypatch, "plan", "--detailed-exitcode")
    assert code == 2 and "back into pool" in out
