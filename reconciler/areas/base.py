"""The contract every policy area implements, and the registry the engine iterates over."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.config.model import Desired
from reconciler.plan import Change


@dataclass(frozen=True)
class ApiOperation:
    """One AWS call an area may make: drives client calls, rate limits and the IAM policy."""

    service: str  # boto3 service name: "pinpoint-sms-voice-v2" | "ram" | "sts"
    name: str  # API operation name, e.g. "DescribeOptedOutNumbers"
    iam_action: str  # e.g. "sms-voice:DescribeOptedOutNumbers"
    rate_per_second: float  # AWS default quota
    mode: str  # "read" (plan/drift) or "write" (apply only)


class Area(ABC):
    """A policy area: desired extraction, live read, pure diff, apply of its own changes."""

    name: ClassVar[str]
    # Lower phases are read and applied first; the protect area is the block phase.
    operations: ClassVar[tuple[ApiOperation, ...]]

    @abstractmethod
    def read(self, api: Any, desired: Desired) -> Any:
        """Read the live state this area needs to diff ``desired`` (cost-aware, paginated)."""

    @abstractmethod
    def diff(self, desired: Desired, live: Any) -> list[Change]:
        """Pure: the changes that make ``live`` match ``desired``. Empty right after an apply."""

    @abstractmethod
    def apply(self, api: Any, change: Change) -> None:
        """Perform one change idempotently (safe to repeat after a crash)."""


_REGISTRY: dict[str, type[Area]] = {}


def register(cls: type[Area]) -> type[Area]:
    _REGISTRY[cls.name] = cls
    return cls


def registry() -> dict[str, type[Area]]:
    import importlib
    import pkgutil

    import reconciler.areas as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "base":
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))
