"""Resumable long reads: ``reconciler drift --checkpoint DIR``.

Reading every entry of a million-number opt-out list takes 10,000 calls at 1 request/s: close to
three hours, long enough for a CI job to be cancelled or to time out. With a checkpoint directory,
a whole-list read saves where it is every ``SAVE_EVERY`` pages (the ``NextToken`` of the next page
and what the pages read so far showed), and the next run with the same directory continues from
there instead of from the first page. A finished list removes its checkpoint.

The saved state holds opted-out phone numbers (personal data) and a pagination token, so it is
encrypted and authenticated (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived from
``RECONCILER_PLAN_KEY``, the secret the plan and drift jobs already hold; without that secret no
checkpoint is written. Files are created with mode 0600. A checkpoint is used only for the same
target, list ARN, policy numbers and read mode it was made for; anything else (or a file that does
not decrypt) is ignored and the list is read from its first page. If AWS refuses the saved token
(expired), the list is read again from its first page too. A checkpoint older than
``MAX_AGE_SECONDS`` (a CI cache restored by key prefix can be weeks old) is discarded with a
notice: its pages may have changed since, and AWS's pagination tokens do not last that long.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from cryptography.fernet import Fernet, InvalidToken

from reconciler.cli import UserError
from reconciler.fingerprint import PLAN_KEY_ENV

log = structlog.get_logger("reconciler.checkpoint")

SAVE_EVERY = 200  # pages between saves: about 200 s of reading at AWS's 1 request/s
# A nightly drift cut off mid-read resumes the next night; anything older is stale.
MAX_AGE_SECONDS = 48 * 3600


@dataclass
class ReadState:
    """Where a whole-list read is, and what its pages showed so far."""

    next_token: str | None = None
    pages: int = 0
    entries: int = 0
    present: set[str] = field(default_factory=set)
    end_user: set[str] = field(default_factory=set)


class Checkpoints:
    def __init__(
        self,
        directory: str | Path,
        secret: str | None = None,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_age = max_age
        self.clock = clock
        secret = secret if secret is not None else os.environ.get(PLAN_KEY_ENV, "")
        if not secret:
            raise UserError(
                f"--checkpoint needs {PLAN_KEY_ENV}: a checkpoint holds opted-out numbers and is encrypted with it",
                hint=f"set {PLAN_KEY_ENV} (the secret the plan job uses), or drop --checkpoint",
            )
        digest = hashlib.sha256(b"reconciler/checkpoint\0" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise UserError(f"--checkpoint {directory}: cannot create the directory ({error.strerror})") from None

    def _path(self, scope: str) -> Path:
        # The file name reveals nothing: a digest of the scope (target, list, ARN, policy, mode).
        return self.directory / (hashlib.sha256(scope.encode()).hexdigest()[:32] + ".ckpt")

    def load(self, scope: str) -> ReadState | None:
        path = self._path(scope)
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(zlib.decompress(self._fernet.decrypt(sealed)))
            if data.get("scope") != scope:
                return None
            saved = data.get("saved")
            age = self.clock() - float(saved) if isinstance(saved, int | float) else None
            if age is None or age > self.max_age or age < -300:
                # No age (written before checkpoints carried one), too old, or from the future.
                log.warning("checkpoint.expired", file=str(path), age_hours=None if age is None else round(age / 3600, 1),
                            max_age_hours=round(self.max_age / 3600, 1),
                            note="discarded: the list is read from its first page")
                path.unlink(missing_ok=True)
                return None
            state = ReadState(data["next_token"], int(data["pages"]), int(data["entries"]),
                              set(data["present"]), set(data["end_user"]))
        except (InvalidToken, zlib.error, ValueError, KeyError, TypeError):
            log.warning("checkpoint.unreadable", file=str(path))
            return None
        log.info("checkpoint.resume", file=str(path), pages=state.pages, entries=state.entries)
        return state

    def save(self, scope: str, state: ReadState) -> None:
        payload = {
            "scope": scope, "saved": self.clock(), "next_token": state.next_token, "pages": state.pages, "entries": state.entries,
            "present": sorted(state.present), "end_user": sorted(state.end_user),
        }
        sealed = self._fernet.encrypt(zlib.compress(json.dumps(payload, separators=(",", ":")).encode()))
        path = self._path(scope)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(sealed)
        os.replace(temporary, path)  # a crash mid-save leaves the previous checkpoint intact
        log.info("checkpoint.saved", file=str(path), pages=state.pages, entries=state.entries)

    def clear(self, scope: str) -> None:
        self._path(scope).unlink(missing_ok=True)

    # Sealed documents of other kinds (the drift baseline, reconciler/drift_feed/baseline.py) ----

    def save_document(self, scope: str, payload: bytes) -> None:
        """Encrypt and authenticate ``payload`` under ``scope`` (atomically, mode 0600)."""
        sealed = self._fernet.encrypt(zlib.compress(scope.encode() + b"\0" + payload, 1))
        path = self._path(scope)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(sealed)
        os.replace(temporary, path)

    def load_document(self, scope: str) -> bytes | None:
        """The payload saved under ``scope``; None if absent, not ours (another key) or damaged."""
        try:
            sealed = self._path(scope).read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = zlib.decompress(self._fernet.decrypt(sealed))
        except (InvalidToken, zlib.error):
            log.warning("checkpoint.unreadable", file=str(self._path(scope)))
            return None
        stored, _, payload = data.partition(b"\0")
        return payload if stored == scope.encode() else None


__all__ = ["MAX_AGE_SECONDS", "SAVE_EVERY", "Checkpoints", "ReadState"]
