"""Hypothesis strategies shared by the whole test suite, one section per layer.

Import from here rather than defining strategies in test modules, so that every
layer's tests draw from the same vocabulary. Sections:

- event store: thread ids, event types, JSON payloads, ``NewEvent`` batches
- codec values: every kind of value the log accepts, plus the sample classes they use
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
from typing import Any

import attrs
import orjson
from hypothesis import strategies as st

from eventstore import NewEvent, register_type

# ---------------------------------------------------------------------------------------------
# event store
# ---------------------------------------------------------------------------------------------

thread_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/ é", min_size=1, max_size=12)
event_types = st.sampled_from(["TaskWritten", "StepCommitted", "Interrupted", "Resumed", "StateUpdated"])

_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_objects: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        _json_leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)
"""A JSON object, the shape of every stored event payload."""


def new_events(types: st.SearchStrategy[str] = event_types) -> st.SearchStrategy[NewEvent]:
    """An event ready to append, with a JSON-object payload."""
    return st.builds(
        NewEvent,
        type=types,
        payload=json_objects.map(orjson.dumps),
        schema_version=st.integers(min_value=1, max_value=3),
    )


event_batches = st.lists(new_events(), min_size=1, max_size=4)
"""The events of one append (one superstep)."""

# ---------------------------------------------------------------------------------------------
# codec values
# ---------------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = ("blue", 3)


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    DRAFT = "draft"
    FINAL = "final"


@attrs.frozen
class Point:
    """A hashable attrs record (usable in sets and as a dict key)."""

    x: int
    y: int


@attrs.define
class Pair:
    """A mutable attrs record holding any values, with a private attribute (init alias ``note``)."""

    left: Any
    right: Any
    _note: str = ""
    derived: int = attrs.field(init=False, default=7)


@dataclasses.dataclass
class Box:
    """A dataclass holding any value, with a field computed after ``__init__``."""

    value: Any
    label: str = "box"
    size: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        self.size = len(self.label)


@dataclasses.dataclass(frozen=True)
class Tag:
    """A hashable dataclass."""

    name: str


class Money:
    """A plain class the log accepts only because it is registered with ``register_type``."""

    def __init__(self, amount: decimal.Decimal, currency: str) -> None:
        self.amount = amount
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.amount, self.currency) == (other.amount, other.currency)

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money({self.amount!r}, {self.currency!r})"


register_type(
    Money,
    to_data=lambda m: (m.amount, m.currency),
    from_data=lambda data: Money(*data),
    name="tests.strategies.Money",
)

# Leaves ---------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
"""Values JSON holds as they are."""

big_ints = st.integers(min_value=2**64) | st.integers(max_value=-(2**63) - 1)
non_finite_floats = st.sampled_from([math.nan, -math.nan, math.inf, -math.inf])
awkward_strings = st.text(st.characters(categories=["Cs"]) | st.characters() | st.just("\x00"), min_size=1)
"""Strings with lone surrogates and NUL characters."""

# Whole-second offsets: CPython 3.11's fromisoformat misreads "+00:00:00.000001" (sub-second offsets, which
# no real zone has, are the one tzinfo the codec does not round-trip exactly).
fixed_offsets = st.builds(
    dt.timezone, st.integers(min_value=-86_399, max_value=86_399).map(lambda s: dt.timedelta(seconds=s))
)
any_timezone = fixed_offsets | st.timezones() | st.just(dt.UTC)
datetimes = st.datetimes() | st.datetimes(timezones=any_timezone)
times = st.times() | st.times(timezones=fixed_offsets | st.timezones())
decimals = st.decimals(allow_nan=True, allow_infinity=True)
money = st.builds(Money, st.decimals(allow_nan=False, allow_infinity=False), st.sampled_from(["EUR", "USD"]))

hashable_values = st.recursive(
    json_scalars
    | big_ints
    | non_finite_floats
    | awkward_strings
    | st.binary(max_size=8)
    | st.dates()
    | times
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.sampled_from(Color)
    | st.sampled_from(Priority)
    | st.sampled_from(Mode)
    | st.builds(Point, st.integers(), st.integers())
    | st.builds(Tag, st.text(max_size=5))
    | money,
    lambda inner: st.lists(inner, max_size=3).map(tuple) | st.frozensets(inner, max_size=3),
    max_leaves=5,
)
"""Values usable as set members and dict keys."""

leaf_values = (
    hashable_values
    | st.floats()
    | datetimes
    | decimals
    | st.binary(max_size=16).map(bytearray)
    | st.just({"__lg__": "not a tag, just a key"})
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        | st.dictionaries(hashable_values, inner, max_size=3)
        | st.dictionaries(st.just("__lg__") | st.text(max_size=3), inner, min_size=1, max_size=2)
        | st.sets(hashable_values, max_size=3)
        | st.frozensets(hashable_values, max_size=3)
        | st.builds(Pair, inner, inner, st.text(max_size=4))
        | st.builds(Box, inner, st.text(max_size=4))
    )


values = st.recursive(leaf_values, _containers, max_leaves=12)
"""Any value the codec accepts, nested in any of its containers."""
