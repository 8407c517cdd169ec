"""Stable digests of live state and keyed digests of secrets.

``canonical`` turns what areas read into canonical JSON bytes (sorted keys, sets sorted,
datetimes in ISO 8601 UTC) so the same live state always gives the same digest, the empty
state included. A saved plan stores, per area, ``fingerprint(live)``; apply re-reads and
refuses the plan when a digest differs.

Secrets (raw opted-out numbers) never enter a plan file. Instead the plan stores
``secret_digest(area_key, secret)``: an HMAC keyed with a key derived from the *live state*
itself (:func:`secret_key`), which is not in the plan file, and from ``RECONCILER_PLAN_KEY``
when set. Apply re-reads the live state, derives the same key and checks that the secrets of
its freshly computed changes are the ones that were reviewed. The live state (ids, timestamps,
opted-out entries) is usually unknown to a reader of the plan file; when it could be guessed
(e.g. an empty account), only ``RECONCILER_PLAN_KEY`` — a secret shared by the plan and apply
jobs — keeps the masked last four digits from being brute-forced, so CI should set it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

PREFIX = "sha256:"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def canonical(value: Any) -> bytes:
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(value: Any) -> str:
    return PREFIX + hashlib.sha256(canonical(value)).hexdigest()


def combine(parts: Mapping[str, str]) -> str:
    """One digest over per-area digests (areas sorted)."""
    return fingerprint(dict(sorted(parts.items())))


PLAN_KEY_ENV = "RECONCILER_PLAN_KEY"
DIGEST_PREFIX = "hmac-sha256:"
KEYED_DIGEST_PREFIX = "hmac-sha256+plan-key:"


def _plan_key() -> bytes:
    return os.environ.get(PLAN_KEY_ENV, "").encode()


def secret_key(live_canonical: bytes) -> bytes:
    return hashlib.sha256(b"reconciler/secret-key\0" + _plan_key() + b"\0" + live_canonical).digest()


def secret_digest(key: bytes, secret: str) -> str:
    """The digest names whether RECONCILER_PLAN_KEY took part, so apply can say what is missing."""
    prefix = KEYED_DIGEST_PREFIX if _plan_key() else DIGEST_PREFIX
    return prefix + hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def digest_bytes(data: bytes) -> str:
    """The fingerprint of already canonical bytes."""
    return PREFIX + hashlib.sha256(data).hexdigest()
