"""The opt_outs area's policy section: opt-out lists (inline numbers and numbers files), their
checks and schema fragment (``schema.json``)."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.config.model import Desired
from reconciler.config.numbers import E164_HINT, MAX_NUMBERS_FILE_BYTES, mask, read_numbers
from reconciler.config.schema_build import fragment
from reconciler.config.section import ListSection, PolicySection
from reconciler.config.semantic import Item, PolicyBuilder, resolve_inside
from reconciler.config.yaml_loader import Mark, YamlSeq

# AWS quota: opt-out lists per account, the Default list included.
MAX_OPT_OUT_LISTS = 25
DEFAULT_OPT_OUT_LIST = "Default"
_MAX_FILE_ISSUES = 50


def opt_out_list(b: PolicyBuilder, item: Item) -> OptOutListSpec:
    data = item.data
    numbers: set[str] = set()
    inline = data.get("numbers")
    first_line: dict[str, int] = {}
    if isinstance(inline, YamlSeq):
        for index, number in enumerate(inline):
            mark = inline.item_marks[index]
            if not b.phone(item, mark, number, personal=True):
                continue
            if number in numbers:
                b.ctx.at(
                    item,
                    mark,
                    "opt-out-duplicate-number",
                    f"{mask(number)} is listed twice (first at line {first_line[number]})",
                    "remove the repeated number",
                    "warning",
                )
                continue
            numbers.add(number)
            first_line[number] = mark.line
    numbers_file = data.get("numbers_file")
    if numbers_file is not None:
        from_file = _numbers_file(b, item, str(numbers_file), numbers)
        numbers = from_file | numbers if numbers else from_file
    return OptOutListSpec(
        name=str(data["name"]),
        mode=data.get("mode", "additive"),
        numbers=tuple(sorted(numbers)),
        numbers_file=None if numbers_file is None else str(numbers_file),
        source=item.source,
    )


def _numbers_file(b: PolicyBuilder, item: Item, relative: str, inline: set[str]) -> set[str]:
    mark = item.mark("numbers_file")
    path, problem = resolve_inside(b.ctx.config_dir, relative)
    if problem is not None or path is None:
        b.ctx.at(
            item,
            mark,
            "numbers-file-escape" if problem != "missing" else "numbers-file-missing",
            f"numbers_file {relative!r} "
            + (
                "does not exist or is not a regular file"
                if problem == "missing"
                else problem or "is invalid"
            ),
            "give a path relative to the configuration directory, to a file inside it"
            if problem != "missing"
            else "create the file, or fix the path (it is relative to the configuration directory)",
        )
        return set()
    display = os.path.normpath(os.path.join(b.ctx.display_dir, relative))
    if path.stat().st_size > MAX_NUMBERS_FILE_BYTES:
        b.ctx.at(
            item,
            mark,
            "file-too-large",
            f"numbers_file {relative!r} is larger than {MAX_NUMBERS_FILE_BYTES // (1024 * 1024)} MiB",
            "split the list into several opt-out lists",
        )
        return set()
    try:
        parsed = read_numbers(path, max_issues=_MAX_FILE_ISSUES)
    except UnicodeDecodeError as error:
        raw = path.read_bytes()[: error.start]
        line = raw.count(b"\n") + 1
        column = len(raw) - (raw.rfind(b"\n") + 1) + 1
        b.ctx.report(
            display,
            Mark(line, column),
            "file-not-utf8",
            "the numbers file is not valid UTF-8",
            "save the file as UTF-8",
        )
        return set()
    except OSError as error:
        b.ctx.at(
            item, mark, "file-unreadable", f"numbers_file {relative!r} cannot be read: {error.strerror}"
        )
        return set()
    for issue in parsed.issues:
        where = Mark(issue.line, issue.column)
        if issue.kind == "invalid":
            b.ctx.report(
                display,
                where,
                "invalid-phone-number",
                f"phone number {issue.text} {issue.detail}",
                E164_HINT,
            )
        else:
            b.ctx.report(
                display,
                where,
                "opt-out-duplicate-number",
                f"{issue.text} is listed twice",
                "remove the repeated line",
                "warning",
            )
    hidden_invalid = parsed.invalid_count - sum(1 for i in parsed.issues if i.kind == "invalid")
    hidden_duplicates = parsed.duplicate_count - sum(1 for i in parsed.issues if i.kind == "duplicate")
    if hidden_invalid > 0:
        b.ctx.at(
            item,
            mark,
            "invalid-phone-number",
            f"{relative} has {hidden_invalid} more invalid numbers than listed "
            f"({parsed.invalid_count} in total)",
            E164_HINT,
        )
    if hidden_duplicates > 0:
        b.ctx.at(
            item,
            mark,
            "opt-out-duplicate-number",
            f"{relative} repeats {hidden_duplicates} more numbers than listed ({parsed.duplicate_count} in total)",
            "remove the repeated lines",
            "warning",
        )
    overlap = len(inline.intersection(parsed.numbers)) if inline else 0
    if overlap:
        b.ctx.at(
            item,
            mark,
            "opt-out-duplicate-number",
            f"{overlap} numbers are both inline and in {relative}",
            "keep each number in one place",
            "warning",
        )
    return parsed.numbers


def list_limit(b: PolicyBuilder, desired: Desired) -> None:
    """The account's opt-out list quota holds the target's lists (the Default list included)."""
    target = desired.target.name
    opt_outs = b.declared("opt_out_lists", target)
    total = len(opt_outs) + (0 if DEFAULT_OPT_OUT_LIST in opt_outs else 1)
    if total > MAX_OPT_OUT_LISTS:
        extra = sorted(opt_outs.values(), key=lambda i: (i.doc.file, i.data.mark))[-1]
        b.ctx.at(
            extra,
            extra.mark("name"),
            "opt-out-list-limit",
            f"target {target} would have {total} opt-out lists (the Default list included); "
            f"an account may have {MAX_OPT_OUT_LISTS}",
            "merge lists, or request a quota increase and keep this many only after it is granted",
        )


SECTION = PolicySection(
    area="opt_outs",
    lists=(ListSection("opt_out_lists", "opt-out list", opt_out_list),),
    schema=fragment(Path(__file__).with_name("schema.json")),
    codes={
        "numbers-file-escape": "a numbers_file path leaves the configuration directory",
        "numbers-file-missing": "a numbers_file does not exist or is not a regular file",
        "opt-out-duplicate-number": "an opt-out list names the same number twice",
        "opt-out-list-limit": "more opt-out lists than an account may have",
    },
    item_codes=frozenset({"opt-out-duplicate-number", "numbers-file-escape", "numbers-file-missing"}),
    check_target=list_limit,
)
