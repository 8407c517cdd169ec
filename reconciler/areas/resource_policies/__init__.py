"""The resource_policies area: resource-based policies of sms-voice resources (PutResourcePolicy),
the second way to share them beside RAM shares. See docs/architecture.md for the area contract."""

from reconciler.areas.resource_policies.area import *  # noqa: F403
