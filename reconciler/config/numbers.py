"""Phone numbers: the E.164 check, masking, and reading a (possibly million-line) numbers_file.

"Valid E.164" here means: ``+``, a country calling code that exists, and a national number whose
length is possible for that country per libphonenumber's metadata (``phonenumbers``). The stricter
"number is assigned in the national plan" check is deliberately not used: libphonenumber's
allocation data lags real allocations, and refusing a real opted-out number would be a compliance
failure. Length possibility depends only on (country code, length), so the library is asked once
per pair and cached: a million numbers validate in about a second (see docs/policy.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumber, ValidationResult

E164_SYNTAX = re.compile(r"\+[1-9][0-9]{1,14}")
MAX_NUMBERS_FILE_BYTES = 64 * 1024 * 1024  # ~4 million numbers
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def mask(number: str) -> str:
    """Opted-out numbers are personal data: keep all but the last four digits (``+1206555****``)."""
    return number[:-4] + "****" if len(number) > 5 else "****"


@cache
def _length_verdict(country_code: int, length: int) -> str | None:
    """Whether a national number of ``length`` digits (no leading zero) is possible for
    ``country_code``: libphonenumber's possibility check reads only the length of the national
    significant number, so one answer holds for every digit string of that length."""
    number = PhoneNumber(country_code=country_code, national_number=int("1" * length))
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE:
        return None
    return {
        # Possible only when dialled inside its area: E.164 needs the full number.
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short (a local number without its area code)",
        ValidationResult.TOO_SHORT: "too short",
        ValidationResult.TOO_LONG: "too long",
        ValidationResult.INVALID_LENGTH: "of a length no number has",
        ValidationResult.INVALID_COUNTRY_CODE: "for an unknown country calling code",
    }.get(reason, "not a possible number")


def _leading_zero_problem(number: str, national: str) -> str | None:
    # Rare (Italian landlines keep their 0); elsewhere a leading 0 is a national trunk prefix that
    # E.164 omits. Let the full parser decide, and require it to keep every digit as written.
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "is not a possible number"
    if phonenumbers.national_significant_number(parsed) != national:
        return "includes a national trunk prefix 0; E.164 numbers leave it out"
    if not phonenumbers.is_possible_number(parsed):
        return "has a length no number of its country has"
    return None


def e164_problem(number: str) -> str | None:
    """Why ``number`` is not valid E.164, or None when it is."""
    if not E164_SYNTAX.fullmatch(number):
        return "is not in E.164 form (+, country code and digits, at most 15 digits)"
    digits = number[1:]
    for size in (1, 2, 3):
        if int(digits[:size]) in _COUNTRY_CODES:
            national = digits[size:]
            if not national:
                return "has no number after the country calling code"
            if national.startswith("0"):
                return _leading_zero_problem(number, national)
            problem = _length_verdict(int(digits[:size]), len(national))
            return None if problem is None else f"is {problem} for country calling code +{digits[:size]}"
    return "starts with no known country calling code"


E164_HINT = 'write the full international number, e.g. "+12065550100": +, country code, number'


@dataclass
class NumberIssue:
    line: int
    column: int
    kind: str  # "invalid" | "duplicate"
    text: str  # masked
    detail: str


@dataclass
class NumbersFile:
    numbers: list[str] = field(default_factory=list)  # in file order, duplicates removed
    issues: list[NumberIssue] = field(default_factory=list)
    invalid_count: int = 0
    duplicate_count: int = 0


def read_numbers(path: Path, max_issues: int = 50) -> NumbersFile:
    """Parse a numbers file: one E.164 number per line, blank lines and ``#`` comments ignored.

    Raises OSError/UnicodeDecodeError for unreadable files (the caller reports them). At most
    ``max_issues`` problems are kept with positions; the counts cover all of them.
    """
    result = NumbersFile()
    seen: set[str] = set()
    text = path.read_bytes().decode("utf-8-sig")
    fullmatch = E164_SYNTAX.fullmatch
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if "#" in line:
            line = line.split("#", 1)[0]
        number = line.strip()
        if not number:
            continue
        column = raw.index(number[0]) + 1
        problem = None if fullmatch(number) and _fast_ok(number) else e164_problem(number)
        if problem is not None:
            result.invalid_count += 1
            if len(result.issues) < max_issues:
                result.issues.append(NumberIssue(line_number, column, "invalid", mask(number), problem))
            continue
        if number in seen:
            result.duplicate_count += 1
            if len(result.issues) < max_issues:
                result.issues.append(NumberIssue(line_number, column, "duplicate", mask(number), ""))
            continue
        seen.add(number)
        result.numbers.append(number)
    return result


def _fast_ok(number: str) -> bool:
    # Inlined e164_problem for the hot loop (syntax already checked by the caller).
    digits = number[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in _COUNTRY_CODES:
            national = digits[size:]
            if not national:
                return False
            if national.startswith("0"):
                return _leading_zero_problem(number, national) is None
            return _length_verdict(code, len(national)) is None
    return False
