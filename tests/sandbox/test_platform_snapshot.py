"""Snapshots round-trip the whole world; generators build large accounts fast and reproducibly."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from platform_support import CONSUMER, OWNER, START

from reconciler.sandbox import Sandbox
from reconciler.sandbox.generator import generate_example, generate_large
from reconciler.sandbox.snapshot import SnapshotError, from_document, load, save, to_document
from reconciler.sandbox.state import Clock, World

SMS = "pinpoint-sms-voice-v2"
REPO = Path(__file__).resolve().parents[2]


def test_round_trip_through_the_api(sandbox, tmp_path):
    sms = sandbox.raw_client(SMS, OWNER)
    sms.create_opt_out_list(OptOutListName="kept")
    sms.put_opted_out_number(OptOutListName="kept", OptedOutNumber="+12065550100")
    config = sms.create_protect_configuration(Tags=[{"Key": "Name", "Value": "baseline"}])
    sms.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config["ProtectConfigurationId"],
        NumberCapability="SMS",
        CountryRuleSetUpdates={"AU": {"ProtectStatus": "BLOCK"}},
    )
    ram = sandbox.raw_client("ram", OWNER)
    ram.create_resource_share(name="share", principals=[CONSUMER], tags=[{"key": "k", "value": "v"}])
    path = tmp_path / "state.json"
    sandbox.save(path)
    restored = Sandbox.from_snapshot(path)
    assert restored.world.clock.simulated and restored.world.clock.now() == START
    assert to_document(restored.world) == to_document(sandbox.world)
    again = restored.session(OWNER).client(SMS)
    numbers = again.describe_opted_out_numbers(OptOutListName="kept")["OptedOutNumbers"]
    assert [n["OptedOutNumber"] for n in numbers] == ["+12065550100"]
    rules = again.get_protect_configuration_country_rule_set(
        ProtectConfigurationId=config["ProtectConfigurationId"], NumberCapability="SMS"
    )["CountryRuleSet"]
    assert rules["AU"]["ProtectStatus"] == "BLOCK"
    shares = restored.session(OWNER).client("ram").get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert [(s["name"], s["tags"]) for s in shares] == [("share", [{"key": "k", "value": "v"}])]


def test_bad_snapshots_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(SnapshotError, match=r"bad.json:1:2: not valid JSON"):
        load(path)
    with pytest.raises(SnapshotError, match="not a sandbox snapshot"):
        from_document({"version": 1})
    with pytest.raises(SnapshotError, match="version 9 is not supported"):
        from_document({"format": "reconciler-sandbox-snapshot", "version": 9})
    document = to_document(World(Clock(start=START, simulated=True)))
    document["regions"] = [{"account": OWNER, "region": "us-east-1", "colour": "blue"}]
    with pytest.raises(SnapshotError, match="unknown RegionState fields colour"):
        from_document(document)
    with pytest.raises(SnapshotError, match="no such file"):
        load(tmp_path / "missing.json")


def test_large_generator_is_fast_deterministic_and_paginates_cheaply(tmp_path):
    started = time.perf_counter()
    world = World(Clock(start=START, simulated=True))
    state = generate_large(
        world, account=OWNER, opt_out_numbers=200_000, small_list_size=1000, phone_numbers=300, seed=3
    )
    assert time.perf_counter() - started < 10
    assert len(state.opt_out_lists) == 25 and "Default" in state.opt_out_lists
    assert len(state.opt_out_lists["large-list"].entries) == 200_000
    assert len(state.phone_numbers) == 300 and len(state.protect_configurations) == 25
    assert len(state.resource_shares) == 10
    twin = generate_large(
        World(Clock(start=START, simulated=True)),
        account=OWNER,
        opt_out_numbers=200_000,
        small_list_size=1000,
        phone_numbers=300,
        seed=3,
    )
    assert list(twin.opt_out_lists["large-list"].entries.keys()[:50]) == list(
        state.opt_out_lists["large-list"].entries.keys()[:50]
    )
    assert sorted(twin.phone_numbers) == sorted(state.phone_numbers)
    sms = Sandbox(world).session(OWNER).client(SMS)
    started = time.perf_counter()
    page = sms.describe_opted_out_numbers(OptOutListName="large-list", MaxResults=100)
    page = sms.describe_opted_out_numbers(
        OptOutListName="large-list", MaxResults=100, NextToken=page["NextToken"]
    )
    assert len(page["OptedOutNumbers"]) == 100
    assert time.perf_counter() - started < 1.0
    consumer_view = (
        Sandbox(world).session("333344445555").client("ram").list_resources(resourceOwner="OTHER-ACCOUNTS")
    )
    assert len(consumer_view["resources"]) == 100  # one page of the 5 shares x 50 resources shared with it
    assert "nextToken" in consumer_view


POLICY = {
    "targets.yaml": (
        'targets:\n  - {name: prod, account_id: "111111111111", region: eu-west-1}\n'
        "organization:\n  arn: arn:aws:organizations::111111111111:organization/o-a1b2c3d4e5\n"
        '  accounts: ["222222222222"]\n'
    ),
    "identities.yaml": (
        'phone_numbers:\n  - {phone_number: "+18885550100", international_sending: true}\n'
        "sender_ids:\n  - {sender_id: DEMOTP, country: GB}\nconfiguration_sets:\n  - name: transactional\n"
    ),
    "opt-outs.yaml": "opt_out_lists:\n  - {name: shared-optouts, numbers_file: numbers.txt}\n",
    "numbers.txt": "# comment\n+12065550100\n+12065550101\n+12065550102  # trailing\n",
    "protect.yaml": "protect_configurations:\n  - {name: prod-default}\n",
    "shares.yaml": 'shares:\n  - {name: s, principals: ["222222222222"], resources: []}\n',
}


def _policy(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    root.mkdir()
    for name, text in POLICY.items():
        (root / name).write_text(text)
    return root


def test_example_account_built_in_and_from_a_policy(tmp_path):
    world = World(Clock(start=START, simulated=True))
    state = generate_example(world)
    kinds = sorted(number.number_type for number in state.phone_numbers.values())
    assert kinds == ["TEN_DLC", "TOLL_FREE"]
    assert "DEMOTP/GB" in state.sender_ids and "transactional" in state.configuration_sets
    assert (CONSUMER, "us-east-1") in world.regions

    world = World(Clock(start=START, simulated=True))
    state = generate_example(world, config_dir=_policy(tmp_path))
    assert (state.account, state.region) == ("111111111111", "eu-west-1")
    toll_free = next(n for n in state.phone_numbers.values() if n.phone_number == "+18885550100")
    assert toll_free.number_type == "TOLL_FREE" and toll_free.pool_id is None
    assert not toll_free.international_sending_enabled  # the policy's first apply turns it on
    entries = state.opt_out_lists["shared-optouts"].entries
    assert list(entries) == ["+12065550100", "+12065550102", "+12065550198"]
    assert entries["+12065550198"].end_user_opted_out
    assert [state.tags[c.arn]["Name"] for c in state.protect_configurations.values()] == ["prod-default"]
    assert ("222222222222", "eu-west-1") in world.regions
    assert world.organization == {"111111111111": "o-a1b2c3d4e5", "222222222222": "o-a1b2c3d4e5"}


def test_snapshot_command(tmp_path):
    out = tmp_path / "example.json"
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "sandbox",
        "snapshot",
        "--generate",
        "example",
        "--out",
        str(out),
    ]
    result = subprocess.run(
        [*command, "--config", str(_policy(tmp_path))], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "from the policy in" in result.stdout
    document = json.loads(out.read_text())
    assert document["format"] == "reconciler-sandbox-snapshot" and document["version"] == 1
    assert {(r["account"], r["region"]) for r in document["regions"]} == {
        ("111111111111", "eu-west-1"),
        ("222222222222", "eu-west-1"),
    }
    bad = subprocess.run(
        [*command, "--config", str(tmp_path / "none"), "--account", "12"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "not a 12-digit account id" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "config" / "targets.yaml").write_text("- just a list\n")
    broken = subprocess.run(
        [*command, "--config", str(tmp_path / "config")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        broken.returncode == 1 and "expected a mapping" in broken.stderr and "Traceback" not in broken.stderr
    )


def test_save_is_atomic_and_keeps_opt_out_entries_compact(tmp_path):
    world = World(Clock(start=START, simulated=True))
    generate_example(world)
    path = tmp_path / "nested" / "state.json"
    save(world, path)
    document = json.loads(path.read_text())
    entries = next(r for r in document["regions"] if r["account"] == OWNER)["opt_out_lists"]["marketing"][
        "entries"
    ]
    assert entries == [
        ["+12065550142", START - 2 * 86400, False],
        ["+12065550198", START - 86400, True],
        ["+12065550199", START - 3 * 86400, False],
    ]
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]
