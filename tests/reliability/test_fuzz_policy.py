"""Structurally plausible policies (valid, nearly valid, subtly wrong) through loader and validator.

Each example writes a config directory (policy files, an emergency file, a numbers file) and
loads it: the outcome is a policy or clean diagnostics, within a time limit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import soakmode
from fuzzutil import load_checked, write_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policygen import dump, emergency_document, numbers_file, policy_document

# The strategies' repr is large; hypothesis warns about it when reporting. Not a problem here.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

FUZZ = settings(
    max_examples=soakmode.scale(ci=70, soak=3_000),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def load_config(files: dict[str, bytes | str]) -> Any:
    with tempfile.TemporaryDirectory() as root:
        outcome = load_checked(write_files(Path(root) / "config", files), seconds=10)
    soakmode.tally("fuzzed policies (structured)")
    return outcome


@FUZZ
@given(policy_document(), st.one_of(st.none(), emergency_document()), numbers_file())
def test_plausible_policies_load_or_explain(policy: dict[str, Any], emergency: Any, numbers: str) -> None:
    files: dict[str, bytes | str] = {"policy.yaml": dump(policy), "numbers.txt": numbers, "lists/numbers.txt": numbers}
    if emergency is not None:
        files["emergency.yaml"] = dump(emergency)
    load_config(files)


@settings(FUZZ, max_examples=soakmode.scale(ci=25, soak=1_000))
@given(st.lists(policy_document(), min_size=2, max_size=3))
def test_policies_split_across_files(documents: list[dict[str, Any]]) -> None:
    load_config({f"part-{index}.yaml": dump(doc) for index, doc in enumerate(documents)})


def test_some_generated_policies_are_accepted() -> None:
    """Guard against a generator that only ever produces rejected input."""
    accepted = 0

    @settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(policy_document())
    def run(policy: dict[str, Any]) -> None:
        nonlocal accepted
        accepted += load_config({"policy.yaml": dump(policy)}).policy is not None

    run()
    assert accepted > 0
