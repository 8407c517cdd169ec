"""What a lock says about its holder, and the errors a caller sees.

A lock is per target (account + region): two runs against the same account and region must
never interleave their writes, while runs against different targets may run side by side.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.cli import UserError

# A holder renews its lock every TTL/3 (see acquire.py), so a lock older than its expiry
# belongs to a run that died without releasing it (a killed CI runner).
DEFAULT_TTL_SECONDS = 600.0


def lock_key(target: Any) -> str:
    """``"<account>/<region>"`` for a ``Target``, or the string itself if already in that form."""
    if isinstance(target, str):
        account, sep, region = target.partition("/")
        if not (sep and len(account) == 12 and account.isdigit() and region):
            raise UserError(
                f"invalid lock target {target!r}",
                hint="name a target as ACCOUNT/REGION, e.g. 123456789012/us-east-1, or by its policy name",
            )
        return target
    return f"{target.account_id}/{target.region}"


def ci_run_url(env: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """The CI run holding the lock, so a reviewer can see whether it is still alive."""
    env = os.environ if env is None else env
    if env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY", "")
        return f"{server}/{repo}/actions/runs/{env['GITHUB_RUN_ID']}"
    for name in ("CI_JOB_URL", "BUILD_URL", "CIRCLE_BUILD_URL"):
        if env.get(name):
            return env[name]
    return None


def process_start_time(pid: int) -> str | None:
    """Kernel start time of ``pid`` (Linux), so a recycled pid is not mistaken for the holder."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # Field 22 (starttime) counts from after the parenthesised command name, which may hold spaces.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class LockInfo:
    id: str
    target: str  # "<account>/<region>"
    operation: str  # "plan" | "apply" | ...
    holder: str  # user@host
    host: str
    pid: int
    created: float  # epoch seconds
    expires: float  # epoch seconds; renewed by the holder while it runs
    ci_run_url: str | None = None
    pid_start: str | None = None
    # New on every write (creation and each renewal), so each version of the lock has its own
    # token: a run that read the lock while it was expired cannot delete it once renewed.
    nonce: str = ""

    @classmethod
    def new(cls, target: str, operation: str, now: float, ttl: float) -> LockInfo:
        host = socket.gethostname()
        pid = os.getpid()
        return cls(
            id=str(uuid.uuid4()),
            target=target,
            operation=operation,
            holder=f"{_user()}@{host}",
            host=host,
            pid=pid,
            created=now,
            expires=now + ttl,
            ci_run_url=ci_run_url(),
            pid_start=process_start_time(pid),
            nonce=uuid.uuid4().hex,
        )

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LockInfo:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("lock file is not a JSON object")
        text: dict[str, str] = {}
        for name in ("id", "target", "operation", "holder", "host"):
            value = raw.get(name)
            if not isinstance(value, str):
                raise ValueError(f"lock file has no {name}")
            text[name] = value
        optional = {name: raw.get(name) for name in ("ci_run_url", "pid_start", "nonce")}
        return cls(
            **text,
            pid=int(raw.get("pid") or 0),
            created=float(raw.get("created") or 0),
            expires=float(raw.get("expires") or 0),
            ci_run_url=optional["ci_run_url"] if isinstance(optional["ci_run_url"], str) else None,
            pid_start=optional["pid_start"] if isinstance(optional["pid_start"], str) else None,
            nonce=optional["nonce"] if isinstance(optional["nonce"], str) else "",
        )

    def renewed(self, now: float, ttl: float) -> LockInfo:
        return LockInfo(**{**asdict(self), "expires": now + ttl, "nonce": uuid.uuid4().hex})

    @property
    def version(self) -> str:
        """Identifies this exact version of the lock (its id and the nonce of its last write)."""
        return f"{self.id}:{self.nonce}"

    def holder_is_dead(self) -> bool:
        """True only when we can prove it: same host, and that process is gone (or was recycled)."""
        if self.host != socket.gethostname() or self.pid <= 0:
            return False
        start = process_start_time(self.pid)
        if start is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
            # /proc unavailable (not Linux): the pid exists, so assume it is the holder.
            return False
        return self.pid_start is not None and start != self.pid_start

    def is_stale(self, now: float) -> bool:
        return now >= self.expires or self.holder_is_dead()

    def describe(self, now: float) -> str:
        age = _age(now - self.created)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
        where = f"pid {self.pid}" + (f", {self.ci_run_url}" if self.ci_run_url else "")
        return f"{self.holder} ({where}) for {self.operation} since {since} ({age} ago); lock id {self.id}"


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


class LockHeldError(UserError):
    """Another run holds the target's lock and did not release it within the timeout."""

    def __init__(self, target: str, holder: LockInfo | None, now: float, waited: float) -> None:
        who = holder.describe(now) if holder else "another run (its lock could not be read)"
        lock_id = holder.id if holder else "ID"
        super().__init__(
            f"target {target} is locked by {who}; waited {waited:.0f}s",
            hint=(
                "wait for that run to finish, or raise --lock-timeout. If that run is dead, release it with: "
                f"reconciler force-unlock {target} --lock-id {lock_id}"
            ),
        )
        self.target = target
        self.holder = holder


class LockLostError(UserError):
    """The lock was taken away (force-unlocked or expired) while this run still held it."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(
            f"lost the lock on target {target}: {reason}; stopped before making further changes",
            hint="another run may now be changing this target: run `reconciler plan` once it has finished",
        )
