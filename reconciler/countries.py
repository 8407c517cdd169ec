"""Country facts of AWS End User Messaging SMS: the one reader of ``reconciler/data/countries.json``.

The data file holds the rows of AWS's supported-countries tables (which table, where and when it
was read, per row) and, separately, the assumptions made where a table could not be read whole.
Policy validation, the plan, reports and the sandbox's country rule sets and international sending
all use this module, so the product and the sandbox cannot disagree about a country.
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
ROWS: dict[str, dict[str, Any]] = DATA["rows"]  # by the code AWS prints (ISO 3166-1 alpha-2 but KV, AN)
SOURCES: dict[str, dict[str, Any]] = DATA["sources"]

# Protect rule-set countries, and the codes a policy may name: every row of AWS's tables.
SUPPORTED: frozenset[str] = frozenset(ROWS)

# libphonenumber's region of a number -> AWS's code for it, where they differ (XK -> KV, ...).
_NUMBER_REGIONS: dict[str, str] = {k: v for k, v in DATA["number_regions"].items() if not k.startswith("_")}

# Where a US toll-free number sends without international sending (the TFN registration page).
US_TOLL_FREE_DOMESTIC: frozenset[str] = frozenset(DATA["us_toll_free_domestic"]["countries"])

# Where AWS says it cannot send SMS or MMS at all ("SMS and MMS country capabilities and
# limitations": "... including Cuba, Iran, North Korea, Syria, and Sudan"); none is a row.
UNREACHABLE: frozenset[str] = frozenset(DATA["unreachable"]["countries"])


@cache
def name(code: str) -> str:
    """ISO's short name where the code is ISO's (the tables' spellings vary), else AWS's."""
    country = pycountry.countries.get(alpha_2=code)
    if country is not None:
        return str(getattr(country, "common_name", None) or country.name)
    row = ROWS.get(code)
    return str(row["name"]) if row is not None else code


def of_number_region(region: str) -> str:
    """The table's code for a number libphonenumber places in ``region`` (Kosovo's XK is KV)."""
    return _NUMBER_REGIONS.get(region, region)


def is_supported(code: str) -> bool:
    return code in SUPPORTED


def source_of(code: str) -> dict[str, Any]:
    """The source the row's values were read from (title, url or repository path, date read)."""
    return SOURCES[ROWS[code]["source"]]


def international_sending_reaches(code: str) -> bool:
    """Whether a US toll-free number with international sending enabled may send to ``code``:
    not where AWS's table says "No" (Aruba, the Bahamas, China, ...); rows read without the
    column (the 2023 table predates the feature) are assumed "Yes" (see the data file)."""
    row = ROWS.get(code)
    return row is not None and row.get("international_sending", True) is True


def us_toll_free_reaches(code: str, international_sending: bool) -> bool:
    """A US toll-free number's reach: the US and its territories always; any other country
    (Canada included, strictest reading) only with international sending, where AWS supports it."""
    if code in US_TOLL_FREE_DOMESTIC:
        return True
    return international_sending and international_sending_reaches(code)
