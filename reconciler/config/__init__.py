"""Policy loading: YAML files -> documents with source positions -> validated Policy.

Public interface::

    policy, diagnostics = load_policy("config")   # policy is None when any diagnostic is an error
    print(format_text(diagnostics))                # or format_github / format_json
"""

from reconciler.config.diagnostics import (
    CODES,
    Diagnostic,
    format_github,
    format_json,
    format_text,
    has_errors,
)
from reconciler.config.loader import load_policy

__all__ = ["CODES", "Diagnostic", "format_github", "format_json", "format_text", "has_errors", "load_policy"]
