"""The import contract: how an area writes what is live as policy YAML (``reconciler import``).

Each area package may declare an :class:`AreaImporter` (by convention in ``<area>/importer.py``;
``Area.importer`` names it). The generic command (reconciler/commands/import_.py) reads every
area of a target — the areas marked ``alone`` in parallel with the others, which are read one
after the other — then renders them in read order into the area's policy file, so an area can use
references an earlier one published (``ImportContext.refs``: a share names a pool by the name the
phone_numbers area wrote for it). Rendering is pure: same live state, same files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.config.model import Target

if TYPE_CHECKING:
    from reconciler.aws import Api

NUMBERS_DIR = "numbers"


@dataclass
class ImportContext:
    target: Target
    several: bool  # more than one target is imported: items carry `targets:` and files are per target
    # ARN -> the reference the policy writes for that resource, published by the areas rendered earlier.
    refs: dict[str, str] = field(default_factory=dict)

    def numbers_path(self, name: str) -> str:
        """Where a list of numbers named ``name`` goes (a file of its own, beside the policy)."""
        return f"{NUMBERS_DIR}/{self.target.name}/{name}.txt" if self.several else f"{NUMBERS_DIR}/{name}.txt"


@dataclass
class ImportedArea:
    sections: dict[str, list[dict[str, Any]]]  # policy list -> items, in the order written
    files: dict[str, str] = field(default_factory=dict)  # further files (relative path -> content)


@dataclass(frozen=True)
class AreaImporter:
    file: str  # the policy file the area's sections go to, e.g. "protect.yaml"
    sections: tuple[str, ...]  # its lists, in the order written
    read: Callable[[Api, Target], Any]  # everything live, for the import
    render: Callable[[Any, ImportContext], ImportedArea]
    alone: bool = False  # long reads on quotas no other area uses: read in parallel with the others
    # What of the live state the policy cannot express, so the import leaves it out (stderr notes).
    notes: Callable[[Any], list[str]] | None = None


def importers() -> list[AreaImporter]:
    """Every area's importer (its package's ``importer.IMPORTER``), in the areas' read order."""
    import importlib
    import importlib.util

    from reconciler.areas.base import registry

    found = []
    for cls in sorted(registry().values(), key=lambda c: (c.read_order, c.name)):
        package = cls.__module__.rsplit(".", 1)[0]
        if importlib.util.find_spec(f"{package}.importer") is not None:
            found.append(importlib.import_module(f"{package}.importer").IMPORTER)
    return found
