"""The protect area: protect configurations (country rules, number overrides, associations with
configuration sets, the account default) and emergency blocks. Its BLOCK changes form the apply's
first phase. See docs/architecture.md for the area contract."""
