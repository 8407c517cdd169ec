"""drift --checkpoint: a whole-list read cut off mid-way resumes where it stopped, encrypted at rest."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from engine_support import Harness, policy

import reconciler.areas.opt_outs.area as opt_outs_module
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.aws import Api, SandboxSessionFactory
from reconciler.checkpoint import Checkpoints, ReadState
from reconciler.cli import UserError
from reconciler.engine import Engine
from reconciler.plan import Plan
from reconciler.sandbox.state import OptOutEntry

PAGE_OP = "DescribeOptedOutNumbers"
ENTRIES = 2_450  # 25 pages of 100
LISTED = tuple(f"+1206555{n:04d}" for n in range(0, 3_000, 2))  # every other number, and 275 never on the list


class Interrupted(Exception):
    """Stands for the job being cancelled mid-read."""


def build(harness: Harness) -> Any:
    p = policy(opt_out_lists=(OptOutListSpec("big", "exact", LISTED),))
    assert harness.apply(policy(opt_out_lists=(OptOutListSpec("big", "exact", ()),))).ok
    entries = harness.state().opt_out_lists["big"].entries
    now = harness.sandbox.world.clock.now()
    for n in range(ENTRIES):
        entries[f"+1206555{n:04d}"] = OptOutEntry(now, n % 7 == 0)
    return p


def drift(harness: Harness, p: Any, directory: Path | None, stop_after: int | None = None,
          monkeypatch: pytest.MonkeyPatch | None = None) -> Plan:
    engine = Engine(p, SandboxSessionFactory(harness.sandbox), rate_scale=0, command="drift")
    if directory is not None:
        engine.checkpoint = Checkpoints(directory, secret="the plan key")
    if stop_after is not None and monkeypatch is not None:
        original = Api.call
        seen = {"pages": 0}

        def cut_off(self: Api, service: str, operation: str, **params: Any) -> dict[str, Any]:
            if operation == PAGE_OP:
                seen["pages"] += 1
                if seen["pages"] > stop_after:
                    raise Interrupted()
            return original(self, service, operation, **params)

        monkeypatch.setattr(Api, "call", cut_off)
    return engine.plan(engine.start("prod"))


def pages_read(harness: Harness) -> int:
    return sum(1 for c in harness.sandbox.calls if c.operation == PAGE_OP)


def test_a_cut_off_drift_resumes_from_its_checkpoint_and_reports_the_same_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = Harness()
    p = build(harness)
    reference = drift(harness, p, None)
    assert any(c.action == "remove" for c in reference.changes)  # live-only numbers: drift to report

    monkeypatch.setattr(opt_outs_module, "SAVE_EVERY", 5)
    harness.sandbox.calls.clear()
    with pytest.raises(Interrupted):
        drift(harness, p, tmp_path, stop_after=13, monkeypatch=monkeypatch)
    monkeypatch.undo()
    monkeypatch.setattr(opt_outs_module, "SAVE_EVERY", 5)
    (saved,) = list(tmp_path.iterdir())
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert b"+1206555" not in saved.read_bytes() and b"big" not in saved.read_bytes()  # encrypted

    harness.sandbox.calls.clear()
    resumed = drift(harness, p, tmp_path)
    assert pages_read(harness) == 25 - 10  # from the page after the last save (page 10)
    assert [c.to_json() for c in resumed.changes] == [c.to_json() for c in reference.changes]
    assert resumed.warnings == reference.warnings
    assert list(tmp_path.iterdir()) == []  # a finished list removes its checkpoint


def test_a_checkpoint_for_other_policy_numbers_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness()
    p = build(harness)
    monkeypatch.setattr(opt_outs_module, "SAVE_EVERY", 5)
    with pytest.raises(Interrupted):
        drift(harness, p, tmp_path, stop_after=13, monkeypatch=monkeypatch)
    monkeypatch.undo()
    other = policy(opt_out_lists=(OptOutListSpec("big", "exact", LISTED[:-1]),))
    harness.sandbox.calls.clear()
    drift(harness, other, tmp_path)
    assert pages_read(harness) == 25


def test_a_refused_saved_token_reads_the_list_again_from_the_first_page(tmp_path: Path) -> None:
    harness = Harness()
    p = build(harness)
    reference = drift(harness, p, None)
    engine = Engine(p, SandboxSessionFactory(harness.sandbox), rate_scale=0, command="drift")
    area = engine.new_area(opt_outs_module.OptOutsArea)
    arn = harness.client().describe_opt_out_lists(OptOutListNames=["big"])["OptOutLists"][0]["OptOutListArn"]
    spec = p.desired["prod"].opt_out_lists[0]
    store = Checkpoints(tmp_path, secret="the plan key")
    store.save(area._scope(spec, arn), ReadState(next_token="expired-token", pages=20, entries=2000, present={"+12065550000"}))
    harness.sandbox.calls.clear()
    again = drift(harness, p, tmp_path)
    assert pages_read(harness) == 1 + 25  # the refused token, then every page
    assert [c.to_json() for c in again.changes] == [c.to_json() for c in reference.changes]


def test_a_checkpoint_needs_the_plan_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_PLAN_KEY", raising=False)
    with pytest.raises(UserError) as excinfo:
        Checkpoints(tmp_path)
    assert "RECONCILER_PLAN_KEY" in excinfo.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_made_with_another_key_is_ignored(tmp_path: Path) -> None:
    Checkpoints(tmp_path, secret="one").save("scope", ReadState(next_token="t", pages=3))
    assert Checkpoints(tmp_path, secret="another").load("scope") is None
    assert Checkpoints(tmp_path, secret="one").load("scope") == ReadState(next_token="t", pages=3)


def test_a_checkpoint_older_than_the_limit_is_discarded_with_a_notice(tmp_path: Path) -> None:
    """A CI cache restored by key prefix can hand back a weeks-old checkpoint: its pages are stale."""
    now = [1_000_000.0]
    store = Checkpoints(tmp_path, secret="one", max_age=3600, clock=lambda: now[0])
    store.save("scope", ReadState(next_token="t", pages=3))
    now[0] += 3000
    assert store.load("scope") == ReadState(next_token="t", pages=3)  # young enough: resumed
    now[0] += 3000
    with structlog.testing.capture_logs() as logs:
        assert store.load("scope") is None
    assert [entry["event"] for entry in logs] == ["checkpoint.expired"]
    assert logs[0]["age_hours"] == 1.7 and "first page" in logs[0]["note"]
    assert list(tmp_path.glob("*.ckpt")) == []  # removed, not tried again


def test_a_checkpoint_without_an_age_is_discarded(tmp_path: Path) -> None:
    """Checkpoints written before they carried their age cannot prove they are fresh."""
    import json
    import zlib

    store = Checkpoints(tmp_path, secret="one")
    payload = {"scope": "scope", "next_token": "t", "pages": 3, "entries": 0, "present": [], "end_user": []}
    store._path("scope").write_bytes(store._fernet.encrypt(zlib.compress(json.dumps(payload).encode())))
    assert store.load("scope") is None
