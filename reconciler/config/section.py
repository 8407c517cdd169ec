"""What a policy area contributes to the policy language: its sections, checks and schema fragment.

Each area package declares one :class:`PolicySection` (``reconciler/areas/<area>/policy.py``) and
its :class:`~reconciler.areas.base.Area` names it (``Area.section``). The generic loader
(:mod:`reconciler.config.semantic`) collects the items of every declared list, resolves the
declared cross-references, calls the area's parsers and checks, and builds each target's
``Desired`` from the parsed specs; the schema generator (:mod:`reconciler.config.schema_build`)
merges the areas' schema fragments into ``schemas/*.schema.json``. Nothing here names an area.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.config.model import Desired
    from reconciler.config.semantic import Item, PolicyBuilder
    from reconciler.config.yaml_loader import YamlMap

# (builder, item) -> the item's spec; reports its problems through the builder.
Parse = Callable[["PolicyBuilder", "Item"], Any]
# Per target, the chosen (item, spec) pairs of every list section, by section name; may replace them.
Arrange = Callable[["PolicyBuilder", str, dict[str, list[tuple["Item", Any]]]], None]


@dataclass(frozen=True)
class ListSection:
    """One top-level list of the policy files, e.g. ``pools:``; also the ``Desired`` field."""

    name: str  # the YAML key and the Desired field, e.g. "pools"
    singular: str  # the item in messages, e.g. "sender ID"
    parse: Parse
    key_field: str | None = "name"  # the field naming an item; None: items have no name
    # The item's name when it is not one field (sender IDs: "SENDER/CC"); default: key_field's value.
    key: Callable[[YamlMap], str] | None = None
    unique: bool = True  # names are unique per target (reported as duplicate-name)

    def item_key(self, data: YamlMap) -> str:
        if self.key is not None:
            return self.key(data)
        return str(data[self.key_field or "name"])


@dataclass(frozen=True)
class Reference:
    """``section[].field`` names an item of the list ``to`` (for the same target): checked by the
    loader (unresolved-reference, with the closest name as a hint)."""

    section: str
    field: str
    to: str
    many: bool = False  # the field holds a list of names


@dataclass(frozen=True)
class PolicySection:
    """An area's part of the policy language."""

    area: str
    lists: tuple[ListSection, ...]
    # Schema fragments: {"properties": {...}, "$defs": {...}} merged into each file kind's schema
    # (kind "policy" for ordinary files); a kind only this area declares becomes its own file kind,
    # chosen by file stem (``file_stems``).
    schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    file_stems: Mapping[str, str] = field(default_factory=dict)  # file stem -> schema kind
    # Unknown-key hints for a key of another file kind: key -> hint.
    misplaced_keys: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, str] = field(default_factory=dict)  # diagnostic code -> one-line title
    # Codes about one item alone, true whatever another file holds: reported even when another
    # file failed to load (see reconciler/config/loader.py).
    item_codes: frozenset[str] = frozenset()
    references: tuple[Reference, ...] = ()
    arrange: Arrange | None = None  # per target, after parsing: fill in both sides of an association
    check_target: Callable[[PolicyBuilder, Desired], None] | None = None  # per target, on its Desired
    check_policy: Callable[[PolicyBuilder], None] | None = None  # once, across targets
