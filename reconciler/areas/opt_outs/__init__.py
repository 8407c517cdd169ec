"""The opt_outs area: opt-out lists and their opted-out numbers, and the carry of end users' own
opt-outs when an identity moves to another list. See docs/architecture.md for the area contract."""

# The area's public names, as the former module ``reconciler/areas/opt_outs.py`` offered them.
from reconciler.areas.opt_outs.area import *  # noqa: F403
