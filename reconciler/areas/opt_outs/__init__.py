"""The opt_outs area: opt-out lists and their opted-out numbers, and the carry of end users' own
opt-outs when an identity moves to another list. See docs/architecture.md for the area contract."""
