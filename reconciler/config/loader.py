"""``load_policy``: a configuration directory -> a validated :class:`Policy`, or diagnostics.

Layers, each collecting every problem it finds:
1. files: readable, within the size limit, UTF-8;
2. YAML: syntax, tabs, duplicate keys, bounded aliases, plain-scalar traps (see yaml_loader);
3. schema: structure against ``schemas/*.schema.json``;
4. meaning: references, countries, numbers, shares (see semantic) - only when 1-3 found no error,
   because references into a file that failed to load would all look unresolved.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.config.diagnostics import Diagnostic, has_errors, sorted_diagnostics
from reconciler.config.model import Policy
from reconciler.config.schema import schema_name_for, validate_document
from reconciler.config.semantic import Document, PolicyBuilder, policy_sections
from reconciler.config.yaml_loader import MAX_YAML_BYTES, YamlMap, parse_bytes

POLICY_SUFFIXES = (".yaml", ".yml")
# Files of the directory that are not policy: the guardrails judge plans (reconciler.guardrails).
NOT_POLICY = frozenset({"guardrails.yaml", "guardrails.yml"})


def policy_files(config_dir: Path) -> list[Path]:
    """The policy files of a directory: ``*.yaml``/``*.yml``, not hidden, not the guardrails, sorted by name."""
    return sorted(
        p
        for p in config_dir.iterdir()
        if p.suffix in POLICY_SUFFIXES and not p.name.startswith(".") and p.name not in NOT_POLICY and p.is_file()
    )


def _display(config_dir: str | Path, name: str) -> str:
    return os.path.normpath(os.path.join(str(config_dir), name))


def load_document(config_dir: str | Path, path: Path) -> tuple[Document | None, list[Diagnostic]]:
    """Layers 1-3 for one file."""
    file = _display(config_dir, path.name)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            return None, [
                Diagnostic(
                    file,
                    1,
                    1,
                    "file-too-large",
                    "error",
                    f"the file is {size} bytes; policy files may be at most {MAX_YAML_BYTES} bytes",
                    "move long number lists into a numbers_file, or split the policy into several files",
                )
            ]
        raw = path.read_bytes()
    except OSError as error:
        return None, [
            Diagnostic(
                file, 1, 1, "file-unreadable", "error", f"cannot read the file: {error.strerror}", None
            )
        ]
    loaded, problems = parse_bytes(file, raw)
    if loaded is None:
        return None, problems
    data = loaded.data
    if data is None:  # an empty file (or only comments) declares nothing
        return None, []
    kind = schema_name_for(path.name)
    schema_problems = validate_document(file, data, kind)
    if schema_problems or not isinstance(data, YamlMap):
        return None, schema_problems
    return Document(file=file, kind=kind, data=data), []


# Semantic findings about one item alone, true whatever another file holds (see load_policy):
# the generic ones, and those each area declares (PolicySection.item_codes).
GENERIC_FINDINGS_OF_ONE_ITEM = frozenset({"unknown-country", "unknown-region", "invalid-phone-number"})


def findings_of_one_item() -> frozenset[str]:
    codes = set(GENERIC_FINDINGS_OF_ONE_ITEM)
    for section in policy_sections():
        codes |= section.item_codes
    return frozenset(codes)


def load_policy(config_dir: str | Path) -> tuple[Policy | None, list[Diagnostic]]:
    """Load and validate every policy file of ``config_dir``.

    Never raises for user mistakes: returns ``(None, diagnostics)`` when any error was found, else
    ``(policy, warnings)``. Diagnostics are sorted by file, line and column.
    """
    directory = Path(config_dir)
    shown = os.path.normpath(str(config_dir))
    if directory.is_file():
        # A file is refused rather than read with its siblings: that would load policy files
        # the user did not name. The hint names the directory to pass instead.
        parent = os.path.dirname(shown) or "."
        return None, [
            Diagnostic(
                shown,
                1,
                1,
                "config-dir",
                "error",
                "--config names the policy directory, but this is a file",
                f"pass its directory: --config {parent}",
            )
        ]
    if not directory.is_dir():
        return None, [
            Diagnostic(
                shown,
                1,
                1,
                "config-dir",
                "error",
                "the configuration directory does not exist",
                "pass --config DIR",
            )
        ]
    try:
        files = policy_files(directory)
    except OSError as error:
        return None, [
            Diagnostic(
                shown, 1, 1, "config-dir", "error", f"cannot list the directory: {error.strerror}", None
            )
        ]
    if not files:
        return None, [
            Diagnostic(
                shown,
                1,
                1,
                "config-dir",
                "error",
                "the directory holds no *.yaml policy files",
                "pass --config DIR",
            )
        ]
    documents: list[Document] = []
    diagnostics: list[Diagnostic] = []
    for path in files:
        document, problems = load_document(config_dir, path)
        diagnostics.extend(problems)
        if document is not None:
            documents.append(document)
    if has_errors(diagnostics):
        # Meaning errors of the files whose format is right come in the same run (a country
        # typo beside a schema error elsewhere); only those about an item itself, since a
        # finding across files (a reference, a share's members) may only echo the broken file.
        _, semantic = PolicyBuilder(directory, shown, documents).build()
        diagnostics.extend(d for d in semantic if d.code in findings_of_one_item())
        return None, sorted_diagnostics(diagnostics)
    policy, semantic = PolicyBuilder(directory, shown, documents).build()
    diagnostics.extend(semantic)
    return (None if has_errors(diagnostics) else policy), sorted_diagnostics(diagnostics)
