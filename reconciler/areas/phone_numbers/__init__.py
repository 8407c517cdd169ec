"""The phone_numbers area: phone numbers, pools and sender IDs (their opt-out list, international
sending, deletion protection). See docs/architecture.md for the area contract."""

# The area's public names, as the former module ``reconciler/areas/phone_numbers.py`` offered them.
from reconciler.areas.phone_numbers.area import *  # noqa: F403
