"""The protect area: protect configurations (country rules, number overrides, associations with
configuration sets, the account default) and emergency blocks. Its BLOCK changes form the apply's
first phase. See docs/architecture.md for the area contract."""

# The area's public names, as the former module ``reconciler/areas/protect.py`` offered them.
from reconciler.areas.protect.area import *  # noqa: F403
