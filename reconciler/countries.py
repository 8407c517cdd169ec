"""ISO 3166-1 alpha-2 countries that AWS End User Messaging SMS protect rules accept.

The single list used by policy validation, the sandbox's country rule sets and reports.
Country names come from pycountry (ISO's own data) rather than a hand-kept table.
"""

from __future__ import annotations

from functools import cache

import pycountry

# Assumption (documented in docs/sandbox.md): AWS's country rule set covers every ISO 3166-1
# country except uninhabited territories with no telephone network. Listing them would let a
# policy "block" a country AWS does not know, so they are rejected instead.
_UNSUPPORTED = frozenset({"AQ", "BV", "HM", "TF", "UM", "GS", "PN"})

SUPPORTED: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries if c.alpha_2 not in _UNSUPPORTED)


@cache
def name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def is_supported(code: str) -> bool:
    return code in SUPPORTED
