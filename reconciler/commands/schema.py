"""``reconciler schema [NAME]``: print the JSON Schemas of the policy files (for editors and tools)."""

from __future__ import annotations

import argparse
import json

from reconciler.cli import UserError
from reconciler.config.schema import SCHEMA_NAMES, load_schema, schema_path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schemas of the policy files",
        description=(
            "Print the JSON Schema (draft 2020-12) NAME, or with no NAME every schema as one JSON "
            f"object keyed by name. Names: {', '.join(SCHEMA_NAMES)}."
        ),
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help=f"one of: {', '.join(SCHEMA_NAMES)}")
    parser.add_argument("--path", action="store_true", help="print the schema file's path instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else list(SCHEMA_NAMES)
    for name in names:
        if name not in SCHEMA_NAMES:
            raise UserError(f"unknown schema {name!r}", hint=f"use one of: {', '.join(SCHEMA_NAMES)}")
    if args.path:
        for name in names:
            print(schema_path(name))
        return 0
    document = load_schema(names[0]) if args.name else {name: load_schema(name) for name in names}
    print(json.dumps(document, indent=2))
    return 0
