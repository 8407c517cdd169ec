"""AWS-style pagination: opaque ``NextToken`` values and O(log n + page) pages of sorted collections.

A token carries the key of the last item returned, the scope it was issued for (operation and
collection) and a checksum. A forged, truncated or foreign token (another operation's, another
list's, another account's) is refused with ``ValidationException`` reason ``INVALID_NEXT_TOKEN``,
the reason the model declares for it. Tokens are keyed by position, not by offset, so items added
or removed between pages never make a page repeat or skip an item that existed throughout.

Default page size: AWS does not document how many items a Describe/List call returns when
``MaxResults`` is absent. The sandbox returns ``DEFAULT_PAGE_SIZE`` (100, the model's maximum),
so a caller that omits ``MaxResults`` still has to follow ``NextToken`` past 100 items.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, TypeVar

from sortedcontainers import SortedDict, SortedList

from reconciler.sandbox.errors import validation_error

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100

# Tokens are not secrets: the key only makes a hand-made or altered token detectable. A fixed key
# keeps tokens valid across a sandbox restart from a saved snapshot, as AWS's survive deploys.
_KEY = b"reconciler-sandbox-next-token-v1"

V = TypeVar("V")


def _digest(payload: bytes) -> str:
    return hmac.new(_KEY, payload, hashlib.sha256).hexdigest()[:20]


def encode_token(scope: str, key: Any) -> str:
    payload = json.dumps([scope, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _digest(payload)


def invalid_token() -> Exception:
    return validation_error(
        "The NextToken is not valid for this request.",
        "INVALID_NEXT_TOKEN",
        [{"Name": "NextToken", "Message": "The token is expired, malformed or from another request."}],
    )


def decode_token(token: str, scope: str) -> Any:
    """The last key of the previous page; ``INVALID_NEXT_TOKEN`` unless ``token`` was issued for ``scope``."""
    body, _, checksum = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise invalid_token() from None
    if not checksum or not hmac.compare_digest(checksum, _digest(payload)):
        raise invalid_token()
    try:
        token_scope, key = json.loads(payload)
    except (ValueError, TypeError):
        raise invalid_token() from None
    if token_scope != scope:
        raise invalid_token()
    return key


def page_size(params: Mapping[str, Any]) -> int:
    size = params.get("MaxResults")
    if size is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        # The wire validator rejects this first; kept so direct callers cannot ask for huge pages.
        raise validation_error(
            f"MaxResults must be between 1 and {MAX_PAGE_SIZE}.",
            "FIELD_VALIDATION_FAILED",
            [{"Name": "MaxResults", "Message": f"Value {size} is outside 1-{MAX_PAGE_SIZE}."}],
        )
    return int(size)


def _take(
    entries: Iterator[tuple[Any, V]],
    size: int,
    scope: str,
    predicate: Callable[[Any, V], bool] | None,
) -> tuple[list[tuple[Any, V]], str | None]:
    if predicate is not None:
        entries = ((k, v) for k, v in entries if predicate(k, v))
    page = list(islice(entries, size + 1))
    if len(page) > size:
        page = page[:size]
        return page, encode_token(scope, page[-1][0])
    return page, None


def page_sorted(
    items: SortedDict,
    params: Mapping[str, Any],
    scope: str,
    predicate: Callable[[Any, Any], bool] | None = None,
) -> tuple[list[tuple[Any, Any]], str | None]:
    """One page of a ``SortedDict`` in key order: O(log n + page) without a filter.

    With a ``predicate`` the cost is the number of entries examined until the page is full, as for
    any server-side filter.
    """
    size = page_size(params)
    keys = _keys_after(items, params, scope)
    return _take(((k, items[k]) for k in keys), size, scope, predicate)


def _keys_after(keys: SortedDict | SortedList, params: Mapping[str, Any], scope: str) -> Iterable[Any]:
    """The sorted keys after the one ``NextToken`` names (all of them without a token)."""
    token = params.get("NextToken")
    if token is None:
        return keys.irange()
    last = decode_token(token, scope)
    try:
        return keys.irange(minimum=last, inclusive=(False, True))
    except TypeError:
        raise invalid_token() from None


def page_index(
    keys: SortedList,
    lookup: Callable[[Any], V],
    params: Mapping[str, Any],
    scope: str,
) -> tuple[list[tuple[Any, V]], str | None]:
    """One page of a sorted secondary index (keys of the matching records): O(log n + page).

    For a filter a large collection keeps an index for, so the page costs the same however few
    records match. Tokens are keyed like :func:`page_sorted`'s, by the last key returned.
    """
    size = page_size(params)
    return _take(((k, lookup(k)) for k in _keys_after(keys, params, scope)), size, scope, None)


def page_mapping(
    items: Mapping[Any, V],
    params: Mapping[str, Any],
    scope: str,
    predicate: Callable[[Any, V], bool] | None = None,
) -> tuple[list[tuple[Any, V]], str | None]:
    """One page of a plain mapping in key order.

    For collections bounded by AWS's account quotas (phone numbers, pools, protect configurations,
    configuration sets): sorting a few thousand keys per page is cheaper than keeping an index.
    Unbounded collections (opt-out list entries) are ``SortedDict``s and use :func:`page_sorted`.
    """
    return page_sorted(SortedDict(items) if not isinstance(items, SortedDict) else items, params, scope, predicate)


def page_list(
    items: Iterable[tuple[Any, V]],
    params: Mapping[str, Any],
    scope: str,
    predicate: Callable[[Any, V], bool] | None = None,
) -> tuple[list[tuple[Any, V]], str | None]:
    """One page of ``(key, value)`` pairs with unique keys (for example shared resources by ARN)."""
    return page_sorted(SortedDict(items), params, scope, predicate)


BOOLEAN_VALUES = ("true", "false")


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, list | tuple | set | frozenset):
        return [s for item in value for s in _as_strings(item)]
    return [str(value)]


def filter_predicate(
    filters: list[dict[str, Any]] | None,
    getters: Mapping[str, Callable[[Any], Any]],
    allowed_values: Mapping[str, Iterable[str]] | None = None,
) -> Callable[[Any, Any], bool] | None:
    """A ``(key, record) -> bool`` test for a Describe call's ``Filters`` (all filters must match).

    A filter matches when the record's value (or any of its values, for lists such as number
    capabilities) equals any of the filter's values. ``getters`` maps each documented filter name
    to the record attribute it reads; a name outside it is refused, and so is a value outside
    ``allowed_values`` (``INVALID_FILTER_VALUES``), since AWS rejects what it cannot filter on.
    """
    if not filters:
        return None
    checks: list[tuple[Callable[[Any], Any], frozenset[str]]] = []
    for index, item in enumerate(filters):
        name = item.get("Name")
        getter = getters.get(name) if isinstance(name, str) else None
        if getter is None:
            raise validation_error(
                f"Unknown filter name {name!r}; valid names: {', '.join(sorted(getters))}.",
                "FIELD_VALIDATION_FAILED",
                [{"Name": f"Filters[{index}].Name", "Message": "Unknown filter name."}],
            )
        values = frozenset(item.get("Values") or [])
        allowed = (allowed_values or {}).get(str(name))
        if allowed is not None:
            bad = sorted(values - frozenset(allowed))
            if bad:
                raise validation_error(
                    f"Invalid values for filter {name}: {', '.join(bad)}.",
                    "INVALID_FILTER_VALUES",
                    [{"Name": f"Filters[{index}].Values", "Message": f"Allowed: {', '.join(sorted(allowed))}."}],
                )
        checks.append((getter, values))

    def matches(_key: Any, record: Any) -> bool:
        return all(not values.isdisjoint(_as_strings(getter(record))) for getter, values in checks)

    return matches
