"""The phone_numbers area: phone numbers, pools and sender IDs (their opt-out list, international
sending, deletion protection). See docs/architecture.md for the area contract."""
