"""The synthetic accounts the scenarios run against, and the policy that describes them.

The large account comes from the sandbox generator (``generate_large``); its policy is what the
product's own ``import`` writes for it, committed to a throw-away git repository (the opt-out
area finds the numbers an earlier apply wrote in the policy's git history). The account is put in
the *steady state* a previous apply leaves: every additive list carries the watermark tag that apply
writes. The empty account (S4) holds only what a policy cannot create: the phone number, sender ID
and configuration set the example policy refers to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler.areas.opt_outs.area import WATERMARK_TAG, Watermark, numbers_digest
from reconciler.config import load_policy
from reconciler.config.model import Policy
from reconciler.sandbox import ids
from reconciler.sandbox.generator import generate_large
from reconciler.sandbox.state import (
    ConfigurationSet,
    PhoneNumber,
    RegionState,
    SenderId,
    World,
)

LARGE_ACCOUNT = "210987654321"
EMPTY_ACCOUNT = "111111111111"  # the example policy's target account (config/targets.yaml)
REGION = "us-east-1"
TARGET = "large"
EPOCH = 1_780_000_000.0  # simulated clock start (2026-05-28): fixed so runs are reproducible
REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = REPO_ROOT / "config"


@dataclass(frozen=True)
class Scale:
    """Sizes of the large account."""

    name: str
    big_list: int  # entries of the one large opt-out list
    small_lists: int  # other lists (Default among them)
    small_list_size: int
    phone_numbers: int
    protect_configurations: int
    shares: int
    share_size: int
    pr_numbers: int  # numbers the S2 pull request adds
    naive_call_cap: int  # the naive baseline's per-number loops run this many calls, then extrapolate
    drift_writes: int  # S6: out-of-git writes (opted-out numbers put or deleted) since the last full read

    def describe(self) -> str:
        return (
            f"{self.name}: 1 list of {self.big_list:,} + {self.small_lists} lists of {self.small_list_size:,} "
            f"opted-out numbers; {self.phone_numbers:,} phone numbers; {self.protect_configurations} protect "
            f"configurations; {self.shares} shares of {self.share_size} resources; S2 adds {self.pr_numbers:,} numbers; "
            f"S6 follows {self.drift_writes} out-of-git writes"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FULL = Scale("full", 1_000_000, 24, 10_000, 2000, 25, 10, 50, 1000, 20_000, 100)
QUICK = Scale("quick", 50_000, 24, 500, 200, 25, 4, 50, 1000, 2_000, 10)
# S6's timeline (simulated): the last full read a day after the steady state, the out-of-git writes
# the day after, the incremental drift the night after that.
BASELINE_AT = EPOCH + 86_400.0
WRITES_AT = BASELINE_AT + 86_400.0
S6_AT = WRITES_AT + 86_400.0


def build_large(scale: Scale, world: World) -> RegionState:
    return generate_large(
        world,
        account=LARGE_ACCOUNT,
        region=REGION,
        opt_out_numbers=scale.big_list,
        small_lists=scale.small_lists,
        small_list_size=scale.small_list_size,
        phone_numbers=scale.phone_numbers,
        protect_configurations=scale.protect_configurations,
        shares=scale.shares,
        share_size=scale.share_size,
        seed=0,
    )


def build_empty(world: World, account: str = EMPTY_ACCOUNT) -> RegionState:
    """An account holding only the identities the example policy refers to (they cannot be created
    by a policy): the toll-free number, the GB sender ID and the ``transactional`` configuration set."""
    state = world.region(account, REGION)
    now = world.clock.now()
    number_id = "phone-" + "0" * 31 + "1"
    state.phone_numbers[number_id] = PhoneNumber(
        number_id, ids.arn(REGION, account, ids.PHONE_NUMBER, number_id), "+18885550100", "US",
        "TRANSACTIONAL", ["SMS", "VOICE"], "TOLL_FREE", "2.00", now,
    )
    state.sender_ids[ids.sender_id_key("DEMOTP", "GB")] = SenderId(
        "DEMOTP", "GB", ids.sender_id_arn(REGION, account, "DEMOTP", "GB"), ["TRANSACTIONAL"]
    )
    state.configuration_sets["transactional"] = ConfigurationSet(
        "transactional", ids.arn(REGION, account, ids.CONFIGURATION_SET, "transactional"), now
    )
    world.region("222222222222", REGION)  # the share's consumer account
    # The example policy's organization (config/targets.yaml): its accounts share without
    # allow_external_principals.
    for member in (account, "222222222222"):
        world.organization[member] = "o-a1b2c3d4e5"
    return state


def git(directory: Path, *args: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(directory)}
    done = subprocess.run(
        ["git", "-C", str(directory), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        capture_output=True, text=True, check=True, env=env,
    )
    return done.stdout


def commit_policy(directory: Path, message: str) -> None:
    """Commit everything in ``directory`` (a repository of its own, created on first use)."""
    if not (directory / ".git").exists():
        git(directory, "init", "-q", "-b", "main")
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", message)


def load(directory: Path) -> Policy:
    policy, diagnostics = load_policy(directory)
    if policy is None:
        problems = "\n".join(str(d) for d in diagnostics[:10])
        raise RuntimeError(f"the benchmark policy in {directory} does not load:\n{problems}")
    return policy


def stamp_watermarks(state: RegionState, policy: Policy) -> int:
    """Tag every additive list the policy names with the watermark a previous apply would have
    written (the steady state of a managed account). Returns the number of lists stamped."""
    stamped = 0
    for desired in policy.desired.values():
        for spec in desired.opt_out_lists:
            opt_out = state.opt_out_lists.get(spec.name)
            if opt_out is None or spec.mode != "additive":
                continue
            mark = Watermark(len(spec.numbers), numbers_digest(spec.numbers), len(opt_out.entries))
            state.tags.setdefault(opt_out.arn, {})[WATERMARK_TAG] = mark.encode()
            stamped += 1
    return stamped


def copy_policy(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, symlinks=True)
    return destination


def numbers_file(directory: Path, list_name: str) -> Path:
    """The numbers file ``import`` wrote for ``list_name``."""
    path = directory / "numbers" / f"{list_name}.txt"
    if not path.exists():
        raise RuntimeError(f"{path}: the imported policy has no numbers file for {list_name}")
    return path


def fresh_numbers(state: RegionState, count: int, seed: int = 6) -> list[str]:
    """``count`` valid US numbers on none of the account's lists (the S2 pull request adds them)."""
    import random

    taken = set()
    for opt_out in state.opt_out_lists.values():
        taken.update(opt_out.entries.keys())
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        number = f"+1{rng.randrange(2_002_000_000, 9_899_999_999)}"
        if number not in taken:
            taken.add(number)
            found.append(number)
    return sorted(found)


def drift_writes(state: RegionState, count: int, seed: int = 16) -> list[tuple[str, str, str]]:
    """``count`` out-of-git writes as a support team makes them in the console: 60% on the large
    list, the rest spread over four small lists; four in five opt a new number out, one in five
    deletes an entry. ``(operation, list name, number)``, deterministic."""
    import random

    rng = random.Random(seed)
    fresh = iter(fresh_numbers(state, count, seed=seed))
    small = sorted(name for name in state.opt_out_lists if name not in ("large-list", "Default"))[:4]
    plan = [("large-list" if index < count * 6 // 10 else small[index % len(small)], index % 5 == 4) for index in range(count)]
    deleted: dict[str, list[str]] = {}
    for name in {name for name, delete in plan if delete}:
        wanted = sum(1 for n, delete in plan if n == name and delete)
        deleted[name] = rng.sample(sorted(state.opt_out_lists[name].entries), wanted)
    writes: list[tuple[str, str, str]] = []
    for name, delete in plan:
        if delete:
            writes.append(("DeleteOptedOutNumber", name, deleted[name].pop()))
        else:
            writes.append(("PutOptedOutNumber", name, next(fresh)))
    return writes
