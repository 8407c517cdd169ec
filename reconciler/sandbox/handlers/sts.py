"""STS: GetCallerIdentity and AssumeRole, consistent with how the sandbox names accounts.

- Long-term keys: a 12-digit access key id *is* the account; any other key is ``123456789012``.
  The caller is ``arn:aws:iam::ACCOUNT:user/sandbox`` and ``UserId`` is the key id.
- ``AssumeRole`` issues session credentials (``ASIA…`` key id, secret, session token) recorded in
  ``World.credentials``; requests signed with them act as the role's account, and must carry the
  matching session token (else ``UnrecognizedClientException``) before they expire (else
  ``ExpiredTokenException``). ``GetCallerIdentity`` then answers the assumed-role ARN
  ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``.
- The role must be an IAM role ARN (``arn:aws:iam::<12 digits>:role/<path/name>``); the sandbox has
  no IAM, so every syntactically valid role may be assumed (trust policies are not emulated).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.registry import STS, Call, operation

_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})$")
_KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DEFAULT_DURATION = 3600


def _user_id(principal_arn: str) -> str:
    digest = hashlib.sha256(principal_arn.encode()).hexdigest().upper()
    return "AROA" + digest[:17]


@operation(STS, "GetCallerIdentity")
def get_caller_identity(call: Call) -> dict[str, Any]:
    arn = str(call.extra.get("principal_arn") or f"arn:aws:iam::{call.account}:user/sandbox")
    key = str(call.extra.get("access_key_id") or "")
    session = call.world.credentials.get(key)
    user_id = f"{session['role_id']}:{session['session_name']}" if session else (key or "AIDASANDBOX")
    return {"UserId": user_id, "Account": call.account, "Arn": arn}


@operation(STS, "AssumeRole")
def assume_role(call: Call) -> dict[str, Any]:
    role_arn = call.params["RoleArn"]
    session_name = call.params["RoleSessionName"]
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise ApiError("ValidationError", f"{role_arn} is invalid", status=400)
    duration = int(call.params.get("DurationSeconds") or DEFAULT_DURATION)
    if duration > DEFAULT_DURATION:
        # Roles default to a one-hour maximum session; the sandbox cannot know a larger one.
        raise ApiError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            status=400,
        )
    account, role_name = match["account"], match["name"]
    key_id = "ASIA" + "".join(secrets.choice(_KEY_CHARS) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    token = secrets.token_urlsafe(96)
    expires = call.now() + duration
    assumed_arn = f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"
    role_id = _user_id(role_arn)
    call.world.credentials[key_id] = {
        "account": account,
        "arn": assumed_arn,
        "session_token": token,
        "expires": expires,
        "role_id": role_id,
        "session_name": session_name,
    }
    return {
        "Credentials": {
            "AccessKeyId": key_id,
            "SecretAccessKey": secret,
            "SessionToken": token,
            "Expiration": datetime.fromtimestamp(expires, tz=UTC),
        },
        "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session_name}", "Arn": assumed_arn},
        "PackedPolicySize": 0,
    }
