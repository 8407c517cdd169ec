"""Per-target locks (account + region), so two runs never change one target at once.

Backends: :class:`S3LockBackend` (conditional writes, for CI) and :class:`LocalFileLockBackend`
(for the sandbox and one machine). :func:`open_backend` picks one from a URL.
"""

from __future__ import annotations

import os
from typing import Any

from reconciler.cli import UserError
from reconciler.locking.acquire import Lease, acquire, force_unlock, target_lock
from reconciler.locking.backend import LockBackend
from reconciler.locking.local import LocalFileLockBackend
from reconciler.locking.model import DEFAULT_TTL_SECONDS, LockHeldError, LockInfo, LockLostError, lock_key
from reconciler.locking.s3 import S3LockBackend

# Where locks live unless --lock-url or RECONCILER_LOCK_URL says otherwise.
DEFAULT_LOCK_DIR = ".reconciler/locks"
LOCK_URL_ENV = "RECONCILER_LOCK_URL"

__all__ = [
    "DEFAULT_LOCK_DIR",
    "DEFAULT_TTL_SECONDS",
    "LOCK_URL_ENV",
    "Lease",
    "LocalFileLockBackend",
    "LockBackend",
    "LockHeldError",
    "LockInfo",
    "LockLostError",
    "S3LockBackend",
    "acquire",
    "force_unlock",
    "lock_key",
    "open_backend",
    "target_lock",
]


def open_backend(url: str | None = None, session: Any = None) -> LockBackend:
    """``s3://bucket/prefix`` or ``file:///dir`` / a directory path; default from the environment."""
    url = url or os.environ.get(LOCK_URL_ENV) or DEFAULT_LOCK_DIR
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise UserError(f"lock URL {url!r} names no bucket", hint="use s3://BUCKET/PREFIX")
        if session is None:
            import boto3

            session = boto3.Session()
        return S3LockBackend(session.client("s3"), bucket, prefix or "reconciler/locks/")
    if "://" in url and not url.startswith("file://"):
        raise UserError(f"unsupported lock URL {url!r}", hint="use s3://BUCKET/PREFIX or a directory path")
    return LocalFileLockBackend(url.removeprefix("file://"))
