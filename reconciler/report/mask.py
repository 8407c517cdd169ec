"""Masking of personal phone numbers: the one implementation used by reports, logs and plans.

``mask_number("+12065550123") == "+1206555****"``: every character but the last four digits
is kept, so a reviewer can still see the country and area code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "****"
# A raw E.164 number; one already masked ("+1206555****") is left alone.
_E164 = re.compile(r"\+[1-9][0-9]{5,18}(?![0-9*])")


def mask_number(number: str) -> str:
    """Mask the last four digits; short or non-numeric input is masked entirely."""
    if len(number) <= 4:
        return MASK
    return number[:-4] + MASK


def mask_text(text: str) -> str:
    """Mask every E.164 number inside free text (log messages, error messages from AWS)."""
    return _E164.sub(lambda match: mask_number(match.group(0)), text)


def unique_masks(numbers: Iterable[str]) -> dict[str, str]:
    """Masked labels that stay unique: numbers sharing a mask get ``#2``, ``#3``… in sorted order.

    The labels depend only on the set of numbers, so they are stable between runs.
    """
    labels: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number in sorted(set(numbers)):
        masked = mask_number(number)
        seen[masked] = seen.get(masked, 0) + 1
        labels[number] = masked if seen[masked] == 1 else f"{masked}#{seen[masked]}"
    return labels
