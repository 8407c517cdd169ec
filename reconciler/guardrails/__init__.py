"""Guardrails as code: rules over a plan's effects with a verdict (deny, warn, needs-approval).

``config/guardrails.yaml`` (schema ``schemas/guardrails.schema.json``) is loaded and checked by
:mod:`.loader`, evaluated over plans by :mod:`.evaluate`, rendered by :mod:`.render`, and
checked against pull-request reviews on GitHub by :mod:`.approvals` (docs/guardrails.md).
"""
