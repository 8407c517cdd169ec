"""A faithful, stateful emulator of the pinpoint-sms-voice-v2, RAM and STS APIs.

Attach it to a boto3 session in-process (``Sandbox.attach``) or serve it over HTTP
(``reconciler sandbox serve``). See docs/sandbox.md.
"""
