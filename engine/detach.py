"""Copies of state values at the engine's edge, so code outside it cannot change a thread behind its log.

The engine keeps a thread's state in frames it caches between calls and writes
to snapshots. A value that code outside the engine can still reach (the input
a caller passed, a node's return value, what ``invoke`` returned, the state a
node received) would otherwise be the very object in those frames: changing it
in place later would change the thread's live state, and its next snapshot,
while its log still says otherwise. So values are copied where they cross that
edge, in both directions, and the state a thread has is always the fold of
what its log records (what a fresh process reads back).

Immutable leaves are shared, not copied: a step copies the containers around
them, the whole state for a node's input and only the change for its writes.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import fractions
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar, cast

T = TypeVar("T")
K = TypeVar("K")

_SHARED: frozenset[type[Any]] = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        complex,
        range,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        decimal.Decimal,
        fractions.Fraction,
        uuid.UUID,
    }
)
"""Types whose values cannot change in place: handed over as they are."""


def detached(value: T) -> T:
    """A copy of ``value`` that shares no mutable part with it (immutable parts are shared).

    Lists, dicts, tuples and sets are rebuilt here; any other object is left to
    ``copy.deepcopy``, and so is a value that refers to itself. A value nested
    too deeply to copy at all is returned as it is: the log cannot hold it
    either, and refuses it with an error that says where, before any write.
    """
    try:
        return cast(T, _copied(value))
    except RecursionError:
        pass
    try:
        return copy.deepcopy(value)
    except RecursionError:
        return value


def detached_values(values: Mapping[K, Any]) -> dict[K, Any]:
    """``{key: detached(value)}`` over a mapping, its immutable values shared without a call.

    Every step copies a node's input state and its update this way.
    """
    return {key: item if type(item) in _SHARED else detached(item) for key, item in values.items()}


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind in _SHARED:
        return value
    if kind is dict:
        return {key: item if type(item) in _SHARED else _copied(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _SHARED else _copied(item) for item in value]
    if kind is tuple:
        items = [item if type(item) in _SHARED else _copied(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else tuple(items)
    if kind is set:
        return {item if type(item) in _SHARED else _copied(item) for item in value}
    if kind is frozenset and all(type(item) in _SHARED for item in value):
        return value
    if isinstance(value, enum.Enum):
        return value
    return copy.deepcopy(value)
