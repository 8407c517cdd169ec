"""The shares area: AWS RAM resource shares of sms-voice resources (principals, resources,
permissions). See docs/architecture.md for the area contract."""

# The area's public names, as the former module ``reconciler/areas/shares.py`` offered them.
from reconciler.areas.shares.area import *  # noqa: F403
