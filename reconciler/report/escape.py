"""Escaping of untrusted text for each output channel: the one place that decides what is safe.

Names, tags, reasons and error messages come from AWS or from files that anyone who can open a
pull request (or write a tag in the account) controls. Each channel gets them escaped for what
it interprets, and masked (:func:`reconciler.report.mask.mask_text`) on the way:

=====================  ============================================================================
channel                escaping
=====================  ============================================================================
terminal / CI log      :func:`terminal` for one-line fields: control characters (C0, C1, DEL, ESC
                       sequences, CR, newlines, Unicode line separators and bidi overrides) become
                       visible escapes, so a field can neither move the cursor nor start a new line;
                       :func:`log_text` for whole outputs: also neutralises a GitHub workflow
                       command (``::error …::``, ``##[…]``) at the start of any line, because the
                       workflows ``tee`` plans and logs to the job log, which the runner parses
JSON                   :func:`json_text`: ``json.dumps`` escapes C0; C1, line separators and bidi
                       overrides are escaped too, so printing the document to a terminal is safe
Markdown / HTML        :func:`markdown_text` and :func:`markdown_code`: one line, bounded, HTML
                       special characters and Markdown inline syntax escaped, ``@`` defused (no
                       mentions); :func:`markdown_document` neutralises workflow commands per line
                       (a comment or job summary may be printed to a log too)
=====================  ============================================================================
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from reconciler.report.mask import mask_text

# C0 controls (incl. ESC, CR, LF, TAB), DEL, C1 controls (incl. the 8-bit CSI U+009B), the Unicode
# line/paragraph separators, and the bidirectional overrides and isolates ("Trojan Source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# What json.dumps(ensure_ascii=False) leaves raw inside strings (it escapes C0 itself; the
# newlines and spaces of its indentation must stay).
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A line the Actions runner would read as a command: it trims leading whitespace, then looks for
# "::name …::" (current syntax) or "##[name …]" (the older one).
_WORKFLOW_COMMAND = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)
# Characters that change meaning inline in Markdown (emphasis, code, links, tables, strikethrough).
# Block-level markers ("#", "-", "1.") cannot start a line: values are always rendered after a prefix.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
CELL_CHARS = 160


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def control(text: str) -> str:
    """``text`` with every control character shown as a visible escape (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(_visible, text)


def neutralise_commands(text: str) -> str:
    """Prefix a backslash to any line the Actions runner would execute as a workflow command."""
    return _WORKFLOW_COMMAND.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


# -- terminal and log lines ----------------------------------------------------------------------


def terminal(value: Any) -> str:
    """A one-line field for a terminal or a CI log: masked, controls escaped, no line breaks."""
    return neutralise_commands(control(mask_text(value if isinstance(value, str) else str(value))))


def log_text(text: str) -> str:
    """Multi-line text the product composed (a report, an error with its context) for a terminal
    or log: masked, controls other than the line breaks escaped, no line a workflow command."""
    return "\n".join(neutralise_commands(control(mask_text(line))) for line in text.split("\n"))


# -- JSON ------------------------------------------------------------------------------------------


def json_text(document: Any, indent: int | None = 2) -> str:
    """``json.dumps`` (sorted keys, UTF-8) with the controls it leaves raw escaped as ``\\uXXXX``."""
    text = json.dumps(document, indent=indent, sort_keys=True, ensure_ascii=False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def masked(value: Any) -> Any:
    """``value`` with every string at any depth masked (free text read from AWS, for JSON)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


# -- Markdown / HTML -----------------------------------------------------------------------------


def plain(value: Any) -> str:
    """A JSON value as short readable text: ``name: x, enabled: on`` rather than raw JSON."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    if value is None:
        return "none"
    return str(value)


def _one_line(text: str, limit: int) -> str:
    text = mask_text(" ".join(control(" ".join(text.split())).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_text(value: Any, limit: int = CELL_CHARS) -> str:
    """Safe inline Markdown: masked, one line, bounded, HTML- and Markdown-escaped, no @mentions."""
    text = _one_line(plain(value), limit)
    # "<" and "&" are enough to stop HTML; ">" stays readable ("a -> b") in e-mail notifications.
    text = html.escape(text, quote=False).replace("&gt;", ">").replace("@", "&#64;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def markdown_code(value: Any, limit: int = CELL_CHARS) -> str:
    """An identifier as inline code when that is safe, else as escaped text."""
    text = _one_line(value if isinstance(value, str) else str(value), limit)
    if not text or any(c in text for c in "`|<&"):  # a code span never mentions anyone
        return markdown_text(text, limit)
    return f"`{text}`"


def markdown_pre(text: str) -> str:
    """Multi-line text for a ``<pre>`` block: masked, controls escaped, HTML-escaped, no mentions."""
    return html.escape(log_text(text), quote=False).replace("@", "&#64;")


def markdown_document(text: str) -> str:
    """A whole Markdown document: no line of it a workflow command when a step prints it."""
    return neutralise_commands(text)
