"""Per-target locks: exclusion, waiting, stale locks, renewal, force-unlock, on both backends."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import soakmode
from lockutil import FakeClock
from moto import mock_aws

from reconciler.cli import main
from reconciler.config.model import Target
from reconciler.locking import (
    LocalFileLockBackend,
    LockBackend,
    LockHeldError,
    LockInfo,
    LockLostError,
    S3LockBackend,
    acquire,
    force_unlock,
    open_backend,
    target_lock,
)

TARGET = "123456789012/us-east-1"
OTHER = "210987654321/eu-west-2"


@pytest.fixture(params=["file", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LockBackend]:
    if request.param == "file":
        yield LocalFileLockBackend(tmp_path / "locks")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="locks")
        yield S3LockBackend(client, "locks", "reconciler/locks")


def test_second_run_is_refused_with_holder_operation_age_and_force_unlock(backend: LockBackend) -> None:
    clock = FakeClock()
    lease = acquire(TARGET, backend, operation="apply", ttl=3600, clock=clock, sleep=clock.sleep)
    clock.sleep(754)
    with pytest.raises(LockHeldError) as caught:
        acquire(TARGET, backend, operation="plan", timeout=30, clock=clock, sleep=clock.sleep)
    error = caught.value
    assert error.holder is not None and error.holder.id == lease.id
    assert f"target {TARGET} is locked by {lease.info.holder} (pid {os.getpid()}" in error.message
    assert "for apply since" in error.message and "(13m ago)" in error.message  # 754 s + the 30 s waited
    assert f"lock id {lease.id}" in error.message
    assert "waited 30s" in error.message
    assert error.hint is not None and f"reconciler force-unlock {TARGET} --lock-id {lease.id}" in error.hint
    assert lease.release() is True
    acquire(TARGET, backend, clock=clock, sleep=clock.sleep).release()


def test_targets_are_independent(backend: LockBackend) -> None:
    first = acquire(TARGET, backend)
    second = acquire(OTHER, backend)
    target = Target(name="prod", account_id="123456789012", region="eu-west-2")
    third = acquire(target, backend)
    assert third.info.target == "123456789012/eu-west-2"
    for lease in (first, second, third):
        assert lease.release()
    assert backend.read(TARGET) is None


def test_waits_for_the_holder_to_release(backend: LockBackend) -> None:
    clock = FakeClock()
    holder = acquire(TARGET, backend, clock=clock, sleep=clock.sleep)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)
        if len(sleeps) == 5:
            holder.release()

    waiter = acquire(TARGET, backend, timeout=60, clock=clock, sleep=sleep)
    assert len(sleeps) == 5 and sleeps == sorted(sleeps)  # polled with back-off, then won
    assert waiter.info.id != holder.info.id
    waiter.release()


def test_expired_lock_is_taken_over_and_its_old_holder_learns_it_lost(backend: LockBackend) -> None:
    clock = FakeClock()
    crashed = acquire(TARGET, backend, ttl=60, clock=clock, sleep=clock.sleep)
    # Pretend the holder lives on another machine, so only expiry can prove it is gone.
    foreign = LockInfo(**{**crashed.info.__dict__, "host": "ci-runner-7", "pid": 1})
    assert backend.replace_if_unchanged(foreign, crashed.token) is not None
    with pytest.raises(LockHeldError):
        acquire(TARGET, backend, timeout=0, clock=clock, sleep=clock.sleep)
    clock.sleep(61)
    successor = acquire(TARGET, backend, timeout=0, clock=clock, sleep=clock.sleep)
    crashed.renew()
    with pytest.raises(LockLostError, match="lost the lock on target"):
        crashed.ensure_held()
    assert crashed.release() is False  # must not delete the successor's lock
    current = backend.read(TARGET)
    assert current is not None and current[0] is not None and current[0].id == successor.id
    successor.ensure_held()
    assert successor.release() is True


def test_a_run_that_read_the_lock_while_expired_cannot_delete_it_once_renewed(backend: LockBackend) -> None:
    """A renewal changes the lock's token: before, an expired-then-renewed lock could be broken by
    a second run that read it while expired, and both then held it until the next renewal."""
    clock = FakeClock()
    holder = acquire(TARGET, backend, ttl=60, clock=clock, sleep=clock.sleep)
    first_token = holder.token
    clock.sleep(61)  # the heartbeat ran late: expired
    seen = backend.read(TARGET)  # a second run finds it stale…
    assert seen is not None and seen[0] is not None and seen[0].is_stale(clock())
    holder.renew()  # …then the holder renews it
    assert holder.token != first_token
    assert backend.delete_if_unchanged(TARGET, seen[1]) is False  # the stale version is gone
    holder.ensure_held()
    with pytest.raises(LockHeldError):
        acquire(TARGET, backend, timeout=0, clock=clock, sleep=clock.sleep)
    assert holder.release() is True


def test_a_run_that_lost_its_lock_stops_before_its_next_write(tmp_path: Path) -> None:
    """The executor asks the lease before every write; the write after the loss never happens."""
    from reconciler.executor import run_changes
    from reconciler.plan import Change
    from reconciler.progress import Progress

    clock = FakeClock()
    backend = LocalFileLockBackend(tmp_path / "locks")
    lease = acquire(TARGET, backend, ttl=60, clock=clock, sleep=clock.sleep)
    written: list[str] = []

    class Lanes:
        def apply_one(self, change: Change) -> None:
            written.append(change.key)
            if len(written) == 2:  # meanwhile: expired, broken and taken by another run
                clock.sleep(61)
                acquire(TARGET, backend, timeout=0, clock=clock, sleep=clock.sleep)
                lease.renew()

        def parallel(self, tasks: Any) -> list[None]:
            return [task() for task in tasks]

    changes = [Change("protect", "update", "country-rules", f"protect/p/{i}") for i in range(4)]
    outcome = run_changes(Lanes(), changes, Progress(TARGET, len(changes), io.StringIO(), tty=False), lease.ensure_held)
    assert written == ["protect/p/0", "protect/p/1"]
    assert not outcome.ok and outcome.error is not None and "lost the lock" in outcome.error


def test_renewal_keeps_a_long_run_alive(backend: LockBackend) -> None:
    clock = FakeClock()
    lease = acquire(TARGET, backend, ttl=60, clock=clock, sleep=clock.sleep)
    for _ in range(10):  # ten minutes of work, renewed every 20 s of it
        clock.sleep(20)
        lease.renew()
        lease.ensure_held()
    with pytest.raises(LockHeldError):
        acquire(TARGET, backend, timeout=0, clock=clock, sleep=clock.sleep)
    lease.release()


def test_unrenewed_lease_reports_expiry_before_anyone_takes_it(backend: LockBackend) -> None:
    clock = FakeClock()
    lease = acquire(TARGET, backend, ttl=60, clock=clock, sleep=clock.sleep)
    clock.sleep(61)
    with pytest.raises(LockLostError, match="expired"):
        lease.ensure_held()


def test_heartbeat_renews_in_the_background(backend: LockBackend) -> None:
    with target_lock(TARGET, backend, operation="apply", ttl=0.6) as lease:
        first_expiry = lease.info.expires
        time.sleep(0.9)  # longer than the TTL: only renewal keeps it
        lease.ensure_held()
        assert lease.info.expires > first_expiry
        with pytest.raises(LockHeldError):
            acquire(TARGET, backend, timeout=0)
    assert backend.read(TARGET) is None


def test_context_manager_releases_on_error(backend: LockBackend) -> None:
    with pytest.raises(RuntimeError), target_lock(TARGET, backend, heartbeat=False):
        raise RuntimeError("apply failed")
    assert backend.read(TARGET) is None


def test_force_unlock_needs_the_right_id(backend: LockBackend) -> None:
    lease = acquire(TARGET, backend)
    with pytest.raises(Exception, match="different id"):
        force_unlock(TARGET, backend, "not-the-id")
    removed = force_unlock(TARGET, backend, lease.id)
    assert removed is not None and removed.id == lease.id
    assert backend.read(TARGET) is None
    lease.renew()
    with pytest.raises(LockLostError, match="force-unlocked"):
        lease.ensure_held()
    with pytest.raises(Exception, match="is not locked"):
        force_unlock(TARGET, backend, lease.id)


def test_force_unlock_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = str(tmp_path / "locks")
    lease = acquire(TARGET, open_backend(url), operation="apply")
    assert main(["force-unlock", TARGET, "--lock-id", "wrong", "--lock-url", url]) == 1
    err = capsys.readouterr().err
    assert "error: target 123456789012/us-east-1 is locked with a different id" in err
    assert lease.id in err and "Traceback" not in err
    assert main(["force-unlock", TARGET, "--lock-id", lease.id, "--lock-url", url]) == 0
    assert f"removed the lock on {TARGET}, held by {lease.info.holder}" in capsys.readouterr().out
    assert main(["force-unlock", TARGET, "--lock-id", lease.id, "--lock-url", url]) == 1
    assert "is not locked" in capsys.readouterr().err
    assert main(["force-unlock", "12/us-east-1", "--lock-id", "x", "--lock-url", url]) == 1
    assert "invalid lock target" in capsys.readouterr().err


def test_unreadable_lock_is_replaced(backend: LockBackend, tmp_path: Path) -> None:
    if isinstance(backend, LocalFileLockBackend):
        backend.directory.mkdir(parents=True, exist_ok=True)
        backend.path(TARGET).write_bytes(b"\x00garbage")
    else:
        assert isinstance(backend, S3LockBackend)
        backend.client.put_object(Bucket=backend.bucket, Key=backend.key(TARGET), Body=b"{not json")
    lease = acquire(TARGET, backend, timeout=0)
    assert lease.release()


def test_s3_lock_object_is_written_conditionally() -> None:
    """The S3 backend relies on If-None-Match: * being honoured; prove the store refuses a second create."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="locks")
        backend = S3LockBackend(client, "locks")
        lease = acquire(TARGET, backend)
        body = client.get_object(Bucket="locks", Key="reconciler/locks/123456789012/us-east-1.lock")["Body"].read()
        assert LockInfo.from_json(body).id == lease.id
        with pytest.raises(client.exceptions.ClientError, match="PreconditionFailed"):
            client.put_object(Bucket="locks", Key=backend.key(TARGET), Body=b"x", IfNoneMatch="*")
        assert backend.create(LockInfo.new(TARGET, "apply", time.time(), 60)) is None
        assert lease.release()


_HOLD_AND_WAIT = textwrap.dedent(
    """
    import sys, time
    from reconciler.locking import LocalFileLockBackend, acquire
    lease = acquire(sys.argv[2], LocalFileLockBackend(sys.argv[1]), operation="apply", ttl=3600)
    print(lease.id, flush=True)
    time.sleep(60)
    """
)


def test_lock_of_a_killed_process_on_this_host_is_broken_at_once(tmp_path: Path) -> None:
    backend = LocalFileLockBackend(tmp_path / "locks")
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_AND_WAIT, str(backend.directory), TARGET],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None
        held_id = child.stdout.readline().strip()
        with pytest.raises(LockHeldError, match=held_id):
            acquire(TARGET, backend, timeout=0)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    lease = acquire(TARGET, backend, timeout=0)  # its ttl is an hour away: the dead pid proves it stale
    assert lease.id != held_id
    lease.release()


class OneRequestAtATime:
    """Makes each request to moto's S3 atomic, as each request to S3 is.

    moto's in-memory store is not thread-safe (an object overwritten while another thread reads
    it raises "I/O operation on closed file"); S3 is linearizable per object. Serialising single
    requests keeps every interleaving *between* the lock protocol's requests, which is what the
    race tests exercise.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._mutex = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._mutex:
                response = method(*args, **kwargs)
                if "Body" in response:
                    response["Body"] = io.BytesIO(response["Body"].read())
                return response

        return call


def _race(backend_factory: Any, contenders: int, rounds: int, stale_first: bool) -> list[int]:
    """Each round, ``contenders`` threads try at once; returns the winner count of every round."""
    winners_per_round: list[int] = []
    for _ in range(rounds):
        backend = backend_factory()
        if stale_first:
            clock = FakeClock(start=time.time() - 3600)
            stale = acquire(TARGET, backend, ttl=60, clock=clock, sleep=clock.sleep)
            assert backend.replace_if_unchanged(
                LockInfo(**{**stale.info.__dict__, "host": "gone-runner"}), stale.token
            )
        barrier = threading.Barrier(contenders)
        leases: list[Any] = []
        errors: list[BaseException] = []

        def contend(backend: Any, barrier: threading.Barrier, leases: list[Any], errors: list[BaseException]) -> None:
            barrier.wait()
            try:
                leases.append(acquire(TARGET, backend, timeout=0))
            except LockHeldError:
                pass
            except BaseException as error:  # anything else is a bug in the lock
                errors.append(error)

        threads = [
            threading.Thread(target=contend, args=(backend, barrier, leases, errors)) for _ in range(contenders)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        winners_per_round.append(len(leases))
        current = backend.read(TARGET)
        assert current is not None and current[0] is not None and [lease.id for lease in leases] == [current[0].id]
        leases[0].release()
    return winners_per_round


@pytest.mark.parametrize("stale_first", [False, True], ids=["free", "stale"])
def test_thread_race_on_file_lock_has_exactly_one_winner(tmp_path: Path, stale_first: bool) -> None:
    counter = iter(range(10_000))
    rounds = soakmode.scale(ci=25, soak=500)
    winners = _race(lambda: LocalFileLockBackend(tmp_path / f"r{next(counter)}"), 12, rounds, stale_first)
    assert winners == [1] * rounds
    soakmode.tally("lock races (12 threads, local file)", rounds)


@pytest.mark.parametrize("stale_first", [False, True], ids=["free", "stale"])
def test_thread_race_on_s3_lock_has_exactly_one_winner(stale_first: bool) -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        counter = iter(range(10_000))

        def fresh_bucket() -> S3LockBackend:
            name = f"locks-{next(counter)}"
            client.create_bucket(Bucket=name)
            return S3LockBackend(OneRequestAtATime(client), name)

        rounds = soakmode.scale(ci=12, soak=300)
        winners = _race(fresh_bucket, 12, rounds, stale_first)
    assert winners == [1] * rounds
    soakmode.tally("lock races (12 threads, S3 conditional writes)", rounds)


def _spawn() -> Any:
    import multiprocessing

    return multiprocessing.get_context("spawn")


@pytest.mark.parametrize("stale_first", [False, True], ids=["free", "stale"])
def test_process_race_on_file_lock_has_exactly_one_winner(tmp_path: Path, stale_first: bool) -> None:
    from lockworkers import race_rounds

    ctx = _spawn()
    workers, rounds = 6, soakmode.scale(ci=20, soak=300)
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=race_rounds, args=(w, rounds, str(tmp_path), stale_first, barrier, results))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in range(workers * rounds)]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    for round_no in range(rounds):
        this_round = [o for o in outcomes if o[0] == round_no]
        assert sum(won for _, _, won, _ in this_round) == 1, this_round
        assert all(mine for _, _, won, mine in this_round if won)
    soakmode.tally("lock races (6 processes, local file)", rounds)


def test_processes_waiting_for_the_lock_never_overlap(tmp_path: Path) -> None:
    from lockworkers import exclusive_sections

    ctx = _spawn()
    log = tmp_path / "sections.log"
    procs = [
        ctx.Process(target=exclusive_sections, args=(w, 15, str(tmp_path / "locks"), 7, str(log))) for w in range(4)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=90)
        assert proc.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 4 * 15 * 2
    soakmode.tally("lock hand-overs between waiting processes", 4 * 15)
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):
        assert enter.startswith("enter ") and leave == "exit " + enter.split()[1], (enter, leave)
