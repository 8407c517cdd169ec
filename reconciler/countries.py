"""Country facts of AWS End User Messaging SMS: the one reader of ``reconciler/data/countries.json``.

The data file records what AWS's user guide says (the supported-countries table, with its source
URL and retrieval date) and, separately, the assumptions made where the table could not be read.
Policy validation, the plan, reports and the sandbox's country rule sets and international sending
all use this module, so the product and the sandbox cannot disagree about a country.
Country names come from pycountry (ISO's own data) rather than a hand-kept table.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import pycountry


def _load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("reconciler").joinpath("data/countries.json").read_text("utf-8"))
    return data


DATA: dict[str, Any] = _load()
ROWS: dict[str, dict[str, Any]] = DATA["rows"]  # the table rows read from AWS's page, by ISO code
_EXCLUDED = frozenset(DATA["assumptions"]["excluded"])

# Protect rule-set countries: every row read, plus (assumption, see the data file) every other
# ISO 3166-1 country but uninhabited territories.
SUPPORTED: frozenset[str] = frozenset(
    {c.alpha_2 for c in pycountry.countries if c.alpha_2 not in _EXCLUDED} | set(ROWS)
)

# Where a US toll-free number sends without international sending (the TFN registration page).
US_TOLL_FREE_DOMESTIC: frozenset[str] = frozenset(DATA["us_toll_free_domestic"]["countries"])


@cache
def name(code: str) -> str:
    row = ROWS.get(code)
    if row is not None:
        return str(row["name"])
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def is_supported(code: str) -> bool:
    return code in SUPPORTED


def international_sending_reaches(code: str) -> bool:
    """Whether a US toll-free number with international sending enabled may send to ``code``:
    not where AWS's table says "No" (Aruba, the Bahamas, ...); rows not read are assumed "Yes"."""
    if code not in SUPPORTED:
        return False
    row = ROWS.get(code)
    return True if row is None else bool(row["international_sending"])


def us_toll_free_reaches(code: str, international_sending: bool) -> bool:
    """A US toll-free number's reach: the US and its territories always; any other country
    (Canada included, strictest reading) only with international sending, where AWS supports it."""
    if code in US_TOLL_FREE_DOMESTIC:
        return True
    return international_sending and international_sending_reaches(code)
