"""The shares area: AWS RAM resource shares of sms-voice resources (principals, resources,
permissions). See docs/architecture.md for the area contract."""
