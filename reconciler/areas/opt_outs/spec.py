"""The opt_outs area's policy section as typed data: opt-out lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.config.model import Source


@dataclass(frozen=True)
class OptOutListSpec:
    name: str
    mode: Literal["additive", "exact"] = "additive"
    # Sorted, de-duplicated E.164 numbers (inline and from numbers_file together).
    numbers: tuple[str, ...] = ()
    numbers_file: str | None = None
    source: Source | None = None
