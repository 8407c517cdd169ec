"""Operation registry: the one place that maps (service, operation) to a handler.

Handler modules (``reconciler.sandbox.handlers.*``) decorate functions with ``@operation``;
the wire adapters (in-process ``before-send`` and the HTTP server) parse the request with
botocore's model, build a :class:`Call`, dispatch here and serialise the returned dict.
Handlers receive and return *botocore-shaped* Python values (the same dicts boto3 users see,
timestamps as ``datetime``), never wire bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.errors import ApiError

if TYPE_CHECKING:
    from reconciler.sandbox.state import RegionState, World

SMS_VOICE = "pinpoint-sms-voice-v2"
RAM = "ram"
STS = "sts"
CLOUDTRAIL = "cloudtrail"


@dataclass
class Call:
    """One API request, already parsed and validated against the service model."""

    service: str
    operation: str
    params: dict[str, Any]
    account: str
    region: str
    world: World
    request_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> RegionState:
        return self.world.region(self.account, self.region)

    def now(self) -> float:
        return self.world.clock.now()


Handler = Callable[[Call], dict[str, Any]]

_HANDLERS: dict[tuple[str, str], Handler] = {}


def operation(service: str, name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        key = (service, name)
        if key in _HANDLERS:
            raise RuntimeError(f"duplicate sandbox handler for {service}.{name}")
        _HANDLERS[key] = func
        return func

    return register


def load_handlers() -> None:
    """Import every handler module so their decorators register."""
    import importlib
    import pkgutil

    from reconciler.sandbox import handlers

    for info in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{info.name}")


def dispatch(call: Call) -> dict[str, Any]:
    load_handlers()
    handler = _HANDLERS.get((call.service, call.operation))
    if handler is None:
        # Strictest plausible behaviour: an operation the sandbox does not emulate is refused the
        # way AWS refuses an unknown action, rather than answered with something made up.
        raise ApiError(
            "UnknownOperationException" if call.service != RAM else "UnknownOperation",
            f"The sandbox does not emulate {call.service}.{call.operation}",
            status=400,
        )
    from reconciler.sandbox.access import check_cross_account

    check_cross_account(call)
    return handler(call)


def emulated_operations() -> list[tuple[str, str]]:
    load_handlers()
    return sorted(_HANDLERS)
