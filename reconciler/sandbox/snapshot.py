"""Save and load the whole sandbox :class:`World` as one JSON document.

Format (``version`` 1)::

    {
      "format": "reconciler-sandbox-snapshot",
      "version": 1,
      "clock": {"simulated": false, "now": 1767225600.0},
      "organization": {"111122223333": "o-exampleorgid/ou-root-abcdefgh"},
      "settings": {"ram.association_delay": 0},
      "credentials": {"ASIA...": {"account": "...", "arn": "...", ...}},
      "regions": [
        {"account": "111122223333", "region": "us-east-1",
         "phone_numbers": {"phone-…": {<PhoneNumber fields>}},
         "opt_out_lists": {"Default": {"name": "Default", "arn": "…", "created": 1.7e9,
                                       "entries": [["+12065550100", 1767225600.0, true], …],
                                       "last_deleted": {}}},
         …}
      ]
    }

Every record is its dataclass's fields by name (see state.py), times are epoch seconds. Opt-out
entries are ``[number, opted_out_timestamp, end_user_opted_out]`` triples sorted by number, so a
million-number list stays compact. Fields missing from a snapshot take their defaults (older
snapshots stay loadable); unknown fields are an error, never silently dropped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import typing
from pathlib import Path
from typing import Any

from sortedcontainers import SortedDict

from reconciler.sandbox import state as state_module
from reconciler.sandbox.state import Clock, OptOutEntry, RegionState, World

FORMAT = "reconciler-sandbox-snapshot"
VERSION = 1


class SnapshotError(ValueError):
    """A snapshot file that cannot be loaded; the message names the file and the problem."""


def _encode(value: Any) -> Any:
    if isinstance(value, SortedDict):
        # Keys in order, entries by plain dict lookup: SortedDict.items() iterates through an
        # abstract view, several times slower on a million entries.
        entries = [dict.__getitem__(value, key) for key in value]
        return [[key, entry.opted_out_timestamp, entry.end_user_opted_out] for key, entry in zip(value, entries, strict=True)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def to_document(world: World) -> dict[str, Any]:
    regions = []
    for (account, region), region_state in sorted(world.regions.items()):
        body = _encode(region_state)
        body["account"], body["region"] = account, region
        regions.append(body)
    return {
        "format": FORMAT,
        "version": VERSION,
        "clock": {"simulated": world.clock.simulated, "now": world.clock.now()},
        "organization": dict(sorted(world.organization.items())),
        "settings": dict(sorted(world.settings.items())),
        "credentials": dict(sorted(world.credentials.items())),
        "regions": regions,
    }


def save(world: World, path: str | Path) -> None:
    """Write atomically (temporary file + rename) so a crash never leaves half a snapshot."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with world.lock:
        document = to_document(world)
    handle, temporary = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            # json.dumps (C encoder) rather than json.dump (pure Python when streaming): a
            # million-entry snapshot saves in about a second, e.g. when an apply is interrupted.
            stream.write(json.dumps(document, separators=(",", ":"), sort_keys=False))
            stream.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(state_module))


def _decode(hint: Any, value: Any, where: str) -> Any:
    if value is None:
        return None
    if hint is SortedDict:
        return SortedDict((number, OptOutEntry(float(ts), bool(end_user))) for number, ts, end_user in value)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        concrete = [a for a in args if a is not type(None)]
        return _decode(concrete[0], value, where) if len(concrete) == 1 else value
    if origin is dict:
        return {key: _decode(args[1], item, f"{where}.{key}") for key, item in value.items()}
    if origin is list:
        return [_decode(args[0], item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _record(hint, value, where)
    if hint is float and isinstance(value, int):
        return float(value)
    return value


def _record(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise SnapshotError(f"{where}: expected an object for {cls.__name__}")
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SnapshotError(f"{where}: unknown {cls.__name__} fields {', '.join(unknown)}")
    try:
        return cls(**{name: _decode(hints[name], item, f"{where}.{name}") for name, item in data.items()})
    except TypeError as error:
        raise SnapshotError(f"{where}: {error}") from None


def from_document(document: dict[str, Any], clock: Clock | None = None, source: str = "snapshot") -> World:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f'{source}: not a sandbox snapshot (missing "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise SnapshotError(
            f"{source}: snapshot version {document.get('version')!r} is not supported (expected {VERSION})"
        )
    saved_clock = document.get("clock", {})
    if clock is None:
        simulated = bool(saved_clock.get("simulated", False))
        clock = Clock(start=float(saved_clock["now"]) if simulated else None, simulated=simulated)
    world = World(clock)
    world.organization = dict(document.get("organization", {}))
    world.settings = dict(document.get("settings", {}))
    world.credentials = dict(document.get("credentials", {}))
    for index, region_doc in enumerate(document.get("regions", [])):
        region_doc = dict(region_doc)
        where = f"{source}: regions[{index}]"
        region_state = _record(RegionState, region_doc, where)
        world.regions[(region_state.account, region_state.region)] = region_state
    return world


def load(path: str | Path, clock: Clock | None = None) -> World:
    source = str(path)
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise SnapshotError(f"{source}: no such file") from None
    except OSError as error:
        raise SnapshotError(f"{source}: cannot read: {error.strerror or type(error).__name__}") from None
    except UnicodeDecodeError as error:
        raise SnapshotError(f"{source}: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise SnapshotError(f"{source}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})") from None
    return from_document(document, clock, source)
