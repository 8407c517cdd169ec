"""Locks as S3 objects, with S3 conditional writes as Terraform's S3 backend (``use_lockfile``) uses.

- acquire: ``PutObject`` with ``If-None-Match: *`` creates the lock object only if no object exists
  under that key (S3 answers 412 PreconditionFailed otherwise, or 409 ConditionalRequestConflict
  when two conditional writes race; either means "someone else got it").
- renew: ``PutObject`` with ``If-Match: <etag>``, so a lock that was force-unlocked and taken by
  another run is never overwritten.
- release / break a stale lock: ``DeleteObject`` with ``If-Match: <etag>``, so only the exact
  version observed is deleted (never a fresh lock another run just created).

The bucket should not be shared with unrelated writers; versioning may be on (a conditional
delete then leaves a delete marker, which reads as "unlocked").
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from reconciler.locking.backend import LockBackend, Token
from reconciler.locking.model import LockInfo

_CONTENDED = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3LockBackend(LockBackend):
    def __init__(self, client: Any, bucket: str, prefix: str = "reconciler/locks/") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def key(self, target: str) -> str:
        return f"{self.prefix}{target}.lock"

    def location(self, target: str) -> str:
        return f"s3://{self.bucket}/{self.key(target)}"

    def create(self, info: LockInfo) -> Token | None:
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(info.target),
                Body=info.to_json(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as error:
            if _code(error) in _CONTENDED:
                return None
            raise
        return str(response["ETag"])

    def read(self, target: str) -> tuple[LockInfo | None, Token] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(target))
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise
        etag = str(response["ETag"])
        try:
            return LockInfo.from_json(response["Body"].read()), etag
        except (ValueError, TypeError, UnicodeDecodeError):
            return None, etag

    def delete_if_unchanged(self, target: str, token: Token) -> bool:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(target), IfMatch=token)
        except ClientError as error:
            if _code(error) in _CONTENDED | _MISSING:
                return False
            raise
        return True

    def replace_if_unchanged(self, info: LockInfo, token: Token) -> Token | None:
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(info.target),
                Body=info.to_json(),
                ContentType="application/json",
                IfMatch=token,
            )
        except ClientError as error:
            if _code(error) in _CONTENDED | _MISSING:
                return None
            raise
        return str(response["ETag"])
