"""AWS-style API errors raised by sandbox handlers and rendered by the wire adapters."""

from __future__ import annotations

from typing import Any

from reconciler.report.mask import mask_number


class ApiError(Exception):
    """An error AWS would return. ``fields`` are the error shape's extra members.

    Example: ``ApiError("ConflictException", "Conflict Occurred",
    Reason="DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
    ResourceType="protect-configuration", ResourceId=pc_id)``.
    The HTTP status comes from the service model's error shape when the adapter renders it;
    ``status`` overrides it for errors the model does not declare.
    """

    def __init__(self, code: str, message: str, status: int | None = None, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


def validation_error(message: str, reason: str = "UNKNOWN_OPERATION", fields: list[dict[str, str]] | None = None) -> ApiError:
    """pinpoint-sms-voice-v2 ValidationException with a ``Reason`` and optional ``Fields``."""
    extra: dict[str, Any] = {"Reason": reason}
    if fields:
        extra["Fields"] = fields
    return ApiError("ValidationException", message, **extra)


def not_found(resource_type: str, resource_id: str) -> ApiError:
    """pinpoint-sms-voice-v2 ResourceNotFoundException."""
    return ApiError(
        "ResourceNotFoundException",
        "Resource not found",
        ResourceType=resource_type,
        ResourceId=resource_id,
    )


def conflict(reason: str, resource_type: str, resource_id: str, message: str = "Conflict Occurred") -> ApiError:
    """pinpoint-sms-voice-v2 ConflictException.

    AWS puts the reason into the message text too, which is what the AWS CLI prints:
    ``Conflict Occurred - Reason="DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"
    ResourceType="protect-configuration" ResourceId="protect-…"`` (see the protect article).
    """
    # An opted-out number is personal data: the field carries it (as AWS does), the text never does.
    shown = mask_number(resource_id) if resource_id.startswith("+") else resource_id
    text = f'{message} - Reason="{reason}" ResourceType="{resource_type}" ResourceId="{shown}"'
    return ApiError("ConflictException", text, Reason=reason, ResourceType=resource_type, ResourceId=resource_id)
