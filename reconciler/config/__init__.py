"""Policy loading: YAML files -> documents with source positions -> validated Policy.

Public interface::

    policy, diagnostics = load_policy("config")   # policy is None when any diagnostic is an error
    print(format_text(diagnostics))                # or format_github / format_json
"""

from typing import Any

from reconciler.config.diagnostics import (
    Diagnostic,
    format_github,
    format_json,
    format_text,
    has_errors,
)
from reconciler.config.loader import load_policy

__all__ = ["CODES", "Diagnostic", "all_codes", "format_github", "format_json", "format_text", "has_errors", "load_policy"]


def all_codes() -> dict[str, str]:
    """Every diagnostic code: the generic loader's and every area's, with its title."""
    from reconciler.config.diagnostics import CODES as GENERIC
    from reconciler.config.semantic import policy_sections

    codes = dict(GENERIC)
    for section in policy_sections():
        codes.update(section.codes)
    return codes


def __getattr__(name: str) -> Any:  # ``CODES`` is computed from the registered areas on first use
    if name == "CODES":
        return all_codes()
    raise AttributeError(name)
