"""Import of the opt_outs area: every opt-out list, ``additive`` (the safe mode: a later plan never
removes a number), its numbers in a numbers file of its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from reconciler.areas.importing import AreaImporter, ImportContext, ImportedArea
from reconciler.areas.opt_outs.area import LiveOptOuts, OptOutsArea
from reconciler.aws import Api
from reconciler.config.model import Target


def read(api: Api, target: Target) -> LiveOptOuts:
    return OptOutsArea(command="import").read_everything(api)


def _numbers_file(target: Target, name: str, numbers: Iterable[str]) -> str:
    head = f"# Opt-out list {name} of {target.account_id} {target.region}, imported {_today()}\n"
    return head + "".join(f"{number}\n" for number in sorted(numbers))


def _today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


def render(live: LiveOptOuts, context: ImportContext) -> ImportedArea:
    lists = []
    files = {}
    for name, entries in sorted(live.read.items()):
        doc: dict[str, Any] = {"name": name, "mode": "additive"}
        if entries.present:
            path = context.numbers_path(name)
            doc["numbers_file"] = path
            files[path] = _numbers_file(context.target, name, entries.present)
        lists.append(doc)
    return ImportedArea({"opt_out_lists": lists}, files=files)


# Every entry of every list takes most of the time (1 page of 100 a second); the other areas use
# other operations' quotas, so they are read meanwhile.
IMPORTER = AreaImporter("opt_out_lists.yaml", ("opt_out_lists",), read, render, alone=True)
