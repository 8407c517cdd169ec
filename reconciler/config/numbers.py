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


_HIDDEN_DIGITS = 4
_MAX_DIGITS = 15  # E.164's longest number
_MAX_SHOWN = 32  # longer text is not one number written oddly but something else: show a stub


def mask(number: str) -> str:
    """Opted-out numbers are personal data: hide the last four digits (``+1206555****``).

    Also safe on malformed input, which is just as personal: the last four *digits* are hidden
    wherever they are (``+1 (206) 555-****``); text with more digits than one number may hold could
    be several numbers, so only its first three digits are kept; text with four digits or fewer is
    hidden whole; overlong text (a garbled line, maybe megabytes) becomes a bounded stub.
    """
    if len(number) > _MAX_SHOWN:
        return f"{mask(number[:8])}… ({len(number):,} characters)"
    positions = [index for index, char in enumerate(number) if char.isdigit()]
    if len(positions) <= _HIDDEN_DIGITS:
        return "****"
    hidden = positions[3:] if len(positions) > _MAX_DIGITS else positions[-_HIDDEN_DIGITS:]
    chars = list(number)
    for index in hidden:
        chars[index] = "*"
    return "".join(chars)


# Something that reads as a phone number inside free text: digits with the separators people type
# (spaces, dots, dashes, parentheses), optionally after "+", not glued to a word, an id
# (``pool-…``, ``…/role``) or an earlier mask.
_PHONE_LIKE = re.compile(r"(?<![\w*+/-])\+?\(?\d(?:[\d().\- ]*\d)?(?![\w*]|[ .()-]*\*)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_if_phone_like(match: re.Match[str]) -> str:
    token = match.group(0)
    digits = sum(char.isdigit() for char in token)
    plus = token.startswith("+")
    if plus and digits >= 7:
        return mask(token)
    # Without "+": 9+ digits reads as a (national or international) number, except a 12-digit
    # run, which is an AWS account id, and a date.
    if plus or digits < 9 or _DATE.match(token) or (digits == 12 and token.isdigit()):
        return token
    return mask(token)


def mask_phone_like(text: str) -> str:
    """Mask everything in ``text`` that looks like a phone number, well-formed or not.

    The safety net for messages that echo what a user wrote: a mistyped opted-out number
    (``"+1 206 555 0142"``, ``12065550143``) is personal data however it is written.
    """
    return _PHONE_LIKE.sub(_mask_if_phone_like, text) if any(c.isdigit() for c in text) else text


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


MAX_LINE_CHARS = 1024  # a number and its comment; anything longer is not a numbers-file line
_OVERLONG = f"is not one number: a numbers file holds one E.164 number per line, at most {MAX_LINE_CHARS:,} characters"


def _overlong_line(raw: bytes) -> tuple[int, bytes, int] | None:
    """(line, first bytes, length) of the first overlong line, when lines are overlong on average.

    Catches a file that is one huge line (or a few) without splitting it into strings: counting
    newlines is cheap. Ordinary files return None at once; a rare long line among them is caught
    while reading lines.
    """
    newlines, returns = raw.count(b"\n"), raw.count(b"\r")
    if len(raw) <= MAX_LINE_CHARS * (max(newlines, returns) + 1):
        return None
    separator = b"\n" if newlines >= returns else b"\r"  # lines may end in CR alone (old Mac files)
    start, line = 0, 1
    while start <= len(raw):
        end = raw.find(separator, start)
        stop = len(raw) if end < 0 else end
        if stop - start > MAX_LINE_CHARS:
            return line, raw[start : start + 8], stop - start
        start, line = stop + 1, line + 1
    return None


@dataclass
class NumberIssue:
    line: int
    column: int
    kind: str  # "invalid" | "duplicate"
    text: str  # masked
    detail: str


@dataclass
class NumbersFile:
    numbers: set[str] = field(default_factory=set)  # the valid numbers, each once
    issues: list[NumberIssue] = field(default_factory=list)
    invalid_count: int = 0
    duplicate_count: int = 0


def read_numbers(path: Path, max_issues: int = 50) -> NumbersFile:
    """Parse a numbers file: one E.164 number per line, blank lines and ``#`` comments ignored.

    Raises OSError/UnicodeDecodeError for unreadable files (the caller reports them). At most
    ``max_issues`` problems are kept with positions (the first ones by line); the counts cover all.

    Built for million-line files: bare numbers (the bulk of any real file) are checked with
    comprehension-level operations, the phone-number library is consulted once per
    (prefix, length) shape rather than per line, and only unusual lines are looked at one by one.
    """
    data = path.read_bytes()
    overlong = _overlong_line(data)
    if overlong is not None:  # not a list of numbers at all: say so at once, without splitting it
        line, head, length = overlong
        stub = mask(head.decode("utf-8", errors="replace")) + f"… ({length:,} bytes)"
        return NumbersFile(issues=[NumberIssue(line, 1, "invalid", stub, _OVERLONG)], invalid_count=1)
    text = data.decode("utf-8-sig")
    del data  # the file may be tens of MiB: keep one copy at a time
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    del text
    matches = list(map(E164_SYNTAX.fullmatch, lines))
    bare = [line for line, match in zip(lines, matches, strict=True) if match]
    verdicts = {shape: _shape_ok(shape) for shape in {(n[:5], len(n)) for n in bare}}
    doubtful = {shape for shape, ok in verdicts.items() if ok is not True}
    # Lines to look at one by one: anything but a bare number, and bare numbers of a doubtful shape.
    special = [index for index, match in enumerate(matches) if not match]
    if doubtful:
        special += [i for i, m in enumerate(matches) if m and (lines[i][:5], len(lines[i])) in doubtful]
    kept = set(bare)
    has_duplicates = len(kept) != len(bare)

    result = NumbersFile()
    issues: list[NumberIssue] = []
    extra: list[str] = []
    for index in sorted(special):
        raw = lines[index]
        if len(raw) > MAX_LINE_CHARS:  # a stray huge line among numbers: report it without copying it
            result.invalid_count += 1
            issues.append(NumberIssue(index + 1, 1, "invalid", mask(raw), _OVERLONG))
            continue
        number = raw.split("#", 1)[0].strip() if "#" in raw else raw.strip()
        if not number:
            continue
        ok = verdicts.get((number[:5], len(number))) if E164_SYNTAX.fullmatch(number) else False
        problem = None if ok is True else e164_problem(number)
        if problem is None:
            if number != raw:  # written with spaces or a comment
                extra.append(number)
            continue
        kept.discard(number)  # a bare invalid number must not reach the list
        result.invalid_count += 1
        issues.append(NumberIssue(index + 1, raw.index(number) + 1, "invalid", mask(number), problem))
    if extra or has_duplicates:
        seen: set[str] = set()
        extra_set = set(extra)
        for index, raw in enumerate(lines):
            number = raw if matches[index] else (raw.split("#", 1)[0].strip() if "#" in raw else raw.strip())
            if number not in kept and number not in extra_set:
                continue
            if number in seen:
                result.duplicate_count += 1
                issues.append(NumberIssue(index + 1, raw.index(number) + 1, "duplicate", mask(number), ""))
            seen.add(number)
        kept |= extra_set
    issues.sort(key=lambda issue: issue.line)
    result.issues = issues[:max_issues]
    result.numbers = kept
    return result


def _shape_ok(shape: tuple[str, int]) -> bool | None:
    """True/False for every number of this (first five characters, length) shape, or None when
    the answer depends on the whole number (a national number with a leading 0)."""
    head, length = shape
    digits = head[1:]
    for size in (1, 2, 3):
        if int(digits[:size]) in _COUNTRY_CODES:
            if digits[size : size + 1] == "0":
                return None
            national_length = length - 1 - size
            return national_length > 0 and _length_verdict(int(digits[:size]), national_length) is None
    return False
