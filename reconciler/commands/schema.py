"""``reconciler schema [NAME]``: print the JSON Schemas of the policy files (for editors and tools).

``reconciler schema --write`` regenerates ``schemas/*.schema.json`` from the areas' fragments
(reconciler/config/schema_build.py); a test fails while the committed files are not current.
"""

from __future__ import annotations

import argparse
import json

from reconciler.cli import UserError
from reconciler.config.schema import load_schema, schema_dir, schema_names, schema_path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    names = ", ".join(schema_names())
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schemas of the policy files",
        description=(
            "Print the JSON Schema (draft 2020-12) NAME, or with no NAME every schema as one JSON "
            f"object keyed by name. Names: {names}."
        ),
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help=f"one of: {names}")
    parser.add_argument("--path", action="store_true", help="print the schema file's path instead")
    parser.add_argument(
        "--write", action="store_true", help="regenerate schemas/*.schema.json from the policy areas' fragments"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "write", False):
        from reconciler.config.schema_build import write

        for path in write(schema_dir()):
            print(f"wrote {path}")
        return 0
    known = schema_names()
    names = [args.name] if args.name else list(known)
    for name in names:
        if name not in known:
            raise UserError(f"unknown schema {name!r}", hint=f"use one of: {', '.join(known)}")
    if args.path:
        for name in names:
            print(schema_path(name))
        return 0
    document = load_schema(names[0]) if args.name else {name: load_schema(name) for name in names}
    print(json.dumps(document, indent=2))
    return 0
