"""The storage contract a lock backend fulfils: one atomic exclusive create, and conditional
delete/replace so that nobody removes or overwrites a lock they did not observe."""

from __future__ import annotations

from abc import ABC, abstractmethod

from reconciler.locking.model import LockInfo

# What a backend hands back to identify the exact version of a lock it wrote or read
# (an S3 ETag, the lock id for a file): conditional deletes and renewals compare against it.
Token = str


class LockBackend(ABC):
    @abstractmethod
    def create(self, info: LockInfo) -> Token | None:
        """Atomically create the lock for ``info.target``; ``None`` if a lock already exists."""

    @abstractmethod
    def read(self, target: str) -> tuple[LockInfo | None, Token] | None:
        """The current lock (``None`` info if unreadable) and its token; ``None`` if unlocked."""

    @abstractmethod
    def delete_if_unchanged(self, target: str, token: Token) -> bool:
        """Delete the lock only if it is still the version ``token`` names."""

    @abstractmethod
    def replace_if_unchanged(self, info: LockInfo, token: Token) -> Token | None:
        """Overwrite the lock (a renewal) only if it is still ``token``; the new token, or ``None``."""

    @abstractmethod
    def location(self, target: str) -> str:
        """Where the lock for ``target`` lives, for messages."""
