"""A lock file per target in a local directory: for the sandbox and single-machine use.

Creation is atomic and exclusive: the lock's JSON is written to a private temporary file and
``os.link``-ed to the lock path, which fails with EEXIST if a lock exists (the same guarantee as
``open(O_CREAT | O_EXCL)``, with the difference that nobody can read a half-written lock).
Every removal or renewal happens under ``flock`` on a sidecar guard file and re-checks the lock's
version first (its id and the nonce each write draws), so two runs that both find the same stale
lock cannot delete each other's fresh one, and a run that read a lock while it was expired cannot
delete it once its holder renewed it.
The kernel drops a ``flock`` when its process dies, so the guard itself never goes stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from reconciler.locking.backend import LockBackend, Token
from reconciler.locking.model import LockInfo


class LocalFileLockBackend(LockBackend):
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path(self, target: str) -> Path:
        account, _, region = target.partition("/")
        return self.directory / f"{account}_{region}.lock"

    def location(self, target: str) -> str:
        return str(self.path(target))

    @contextlib.contextmanager
    def _guard(self, target: str) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path(target)}.guard", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    def _write_temp(self, info: LockInfo) -> Path:
        temp = self.path(info.target).with_name(f".{self.path(info.target).name}.{info.id}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            os.write(fd, info.to_json())
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp

    def create(self, info: LockInfo) -> Token | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self._write_temp(info)
        try:
            os.link(temp, self.path(info.target))
        except FileExistsError:
            return None
        finally:
            temp.unlink(missing_ok=True)
        return info.version

    def _read_unguarded(self, target: str) -> tuple[LockInfo | None, Token] | None:
        try:
            data = self.path(target).read_bytes()
        except FileNotFoundError:
            return None
        try:
            info = LockInfo.from_json(data)
        except (ValueError, TypeError, UnicodeDecodeError):
            # Unreadable content is identified by its bytes so a conditional delete still applies.
            return None, "unreadable:" + hashlib.sha256(data).hexdigest()
        return info, info.version

    def read(self, target: str) -> tuple[LockInfo | None, Token] | None:
        return self._read_unguarded(target)

    def delete_if_unchanged(self, target: str, token: Token) -> bool:
        with self._guard(target):
            current = self._read_unguarded(target)
            if current is None or current[1] != token:
                return False
            self.path(target).unlink()
            return True

    def replace_if_unchanged(self, info: LockInfo, token: Token) -> Token | None:
        with self._guard(info.target):
            current = self._read_unguarded(info.target)
            if current is None or current[1] != token:
                return None
            os.replace(self._write_temp(info), self.path(info.target))
            return info.version
