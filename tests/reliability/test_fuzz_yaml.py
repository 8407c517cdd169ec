"""Random bytes, random text and random YAML-shaped text through the policy loader.

Every example ends in a policy or clean diagnostics (see fuzzutil.assert_clean), within a time
limit. Fixed seed (derandomize), bounded example counts; more under --soak.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import soakmode
from fuzzutil import TARGETS_YAML, load_checked, write_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = soakmode.scale(ci=120, soak=3_000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the per-example time limit is fuzzutil.time_limit
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Pieces of YAML syntax, policy keys and hostile values, recombined at random.
TOKENS = [
    "\n", "\n  ", "\n    ", "\n- ", "  - ", ": ", ":", "-", "- ", "? ", "|", ">", "|-", "#", "&a ", "*a", "&b ", "*b",
    "<<: *a", "<<: [*a, *b]", "{", "}", "[", "]", ",", "'", '"', "\\", "\t", "---", "...", "%YAML 1.1", "%TAG ! x:",
    "!!str ", "!!int ", "!!binary ", "!!python/object:os.system ", "!custom ", "~", "null", "true", "no", "NO", "on",
    "yes", "0x1F", "0o17", "1e400", ".inf", ".nan", "012345678901", "+12065550100", "12065550100", "2026-12-31",
    "targets", "name", "account_id", "region", "us-east-1", "prod", "protect_configurations", "rules", "SMS", "VOICE",
    "default", "BLOCK", "ALLOW", "AU", "GB", "emergency_blocks", "country", "opt_out_lists", "numbers", "numbers_file",
    "../../etc/passwd", "/etc/passwd", "mode", "exact", "shares", "principals", "resources", "phone_number", "pool",
    "sender_id", "opt_out_list", "prune", "\u2028", "\ufeff", "\x85", "é", "😀", "\u202e", "\x00", "\x1b", "\r", "\r\n",
]

yaml_like = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)


def _load_one(content: bytes | str, name: str = "policy.yaml") -> None:
    with tempfile.TemporaryDirectory() as root:
        load_checked(write_files(Path(root) / "config", {name: content}), seconds=10)
    soakmode.tally("fuzzed policy files (random)")


@FUZZ
@given(st.binary(max_size=4_000))
def test_random_bytes(content: bytes) -> None:
    _load_one(content)


@FUZZ
@given(st.text(max_size=2_000))
def test_random_text(content: str) -> None:
    _load_one(content)


@FUZZ
@given(yaml_like)
def test_random_yaml_shaped_text(content: str) -> None:
    _load_one(content)


@FUZZ
@given(yaml_like)
def test_random_yaml_after_valid_targets(content: str) -> None:
    _load_one(TARGETS_YAML + content)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["a.yaml", "b.yml", "emergency.yaml", ".hidden.yaml", "c.txt"]), yaml_like), max_size=4))
def test_random_multi_file_configs(files: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as root:
        config = write_files(Path(root) / "config", {"targets.yaml": TARGETS_YAML, **dict(files)})
        load_checked(config, seconds=10)
    soakmode.tally("fuzzed policy files (random)")
