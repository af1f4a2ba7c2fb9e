"""The codec: accepted values round-trip exactly, others are refused, and hostile payloads never run code."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import math
import socket
import sys
import uuid
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore import (
    CorruptLogError,
    EventRecord,
    SerializationError,
    Value,
    decode_event,
    decode_value,
    encode_event,
    encode_value,
    jsonio,
    register_array_record,
    register_class,
    register_event,
    register_upcaster,
)
from tests.strategies import Box, Color, Mode, Money, Pair, Point, Priority, Tag, hashable_values, values

FIXTURES = Path(__file__).parent / "fixtures"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def canonical(v: Any) -> Any:
    """A strict, comparable form of a value: types count, NaN equals NaN, -0.0 differs from 0.0."""
    t = type(v)
    if t is float:
        return ("float", repr(v))
    if t is decimal.Decimal:
        return ("Decimal", str(v))
    if t is dt.datetime or t is dt.time:
        return (t.__name__, v.isoformat(), v.fold, _zone_of(v.tzinfo))
    if t is list or t is tuple:
        return (t.__name__, tuple(canonical(x) for x in v))
    if t is set or t is frozenset:
        return (t.__name__, tuple(sorted((canonical(x) for x in v), key=repr)))
    if t is dict:
        return ("dict", tuple((canonical(k), canonical(x)) for k, x in v.items()))
    if isinstance(v, enum.Enum):
        return (t.__qualname__, v.name)
    if attrs.has(t):
        return (t.__qualname__, tuple(canonical(getattr(v, f.name)) for f in attrs.fields(t)))
    if dataclasses.is_dataclass(v):
        return (t.__qualname__, tuple(canonical(getattr(v, f.name)) for f in dataclasses.fields(v)))
    if t is Money:
        return ("Money", canonical(v.amount), v.currency)
    return (t.__qualname__, v)


def _zone_of(tz: dt.tzinfo | None) -> Any:
    if isinstance(tz, zoneinfo.ZoneInfo):
        return ("zone", tz.key)
    return None if tz is None else ("offset", tz.utcoffset(None))


@dataclasses.dataclass
class Nothing:
    """A dataclass with no fields."""


@attrs.frozen
class Marker:
    """An attrs class with no fields."""


def round_trip(value: Any) -> Any:
    """Encode, write as JSON bytes, parse, decode: the path every stored value takes."""
    return decode_value(jsonio.loads(jsonio.dumps(encode_value(value))))


def json_safe(data: Any) -> Iterator[str]:
    """Yield a complaint for every part of ``data`` that is not plain JSON."""
    t = type(data)
    if t is dict:
        for k, item in data.items():
            if type(k) is not str or not _encodes_as_utf8(k):
                yield f"key that JSON cannot hold {k!r}"
            yield from json_safe(item)
    elif t is list:
        for item in data:
            yield from json_safe(item)
    elif t is float and not math.isfinite(data):
        yield f"non-finite float {data!r}"
    elif t is int and not -(2**63) <= data < 2**64:
        yield f"int beyond 64 bits {data!r}"
    elif t is str and not _encodes_as_utf8(data):
        yield f"string with lone surrogates {data!r}"
    elif data is not None and t not in (str, int, float, bool):
        yield f"{t.__qualname__} {data!r}"


def _encodes_as_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- round trips ------------------------------------------------------------------------------

EXAMPLES: dict[str, Any] = {
    "json values": {"s": "text", "i": -7, "f": 1.5, "b": True, "n": None, "l": [1, "two", [3.0]]},
    "unicode": "héllo wörld ✓ 𝄞",
    "empty containers": [[], {}, (), set(), frozenset(), b"", bytearray()],
    "64-bit edges": [-(2**63), 2**63 - 1, 2**64 - 1],
    "big ints": [2**64, -(2**63) - 1, 10**40, -(10**40)],
    "ints beyond str()'s digit limit": [10**5000 + 1, -(2**40000)],
    "non-finite floats": [math.inf, -math.inf, math.nan],
    "negative zero": -0.0,
    "lone surrogates": ["\ud800", "a\udfffb", "\udc00\ud800", "\ud800\udc00 is not \U00010000"],
    "NUL characters": ["\x00", "a\x00b"],
    "bytes": bytes(range(256)),
    "bytearray": bytearray(b"\x00\xff mutable"),
    "tuples": (1, ("nested", (2.5,)), ()),
    "sets": {1, "a", (2, 3), frozenset({4})},
    "frozensets": frozenset({b"x", Point(1, 2)}),
    "dict with non-str keys": {1: "int", (1, 2): "tuple", None: "none", 2.5: "float", Color.RED: "enum"},
    "dict with the tag key": {"__lg__": "tuple", "items": [1, 2]},
    "dict with lone surrogates in its keys": {"\udc80": 1, "plain": 2},
    "naive datetime": dt.datetime(2026, 3, 1, 12, 30, 45, 123456),
    "aware datetime (UTC)": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
    "aware datetime (fixed offset)": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3.5))),
    "aware datetime (IANA zone)": dt.datetime(2026, 7, 1, 9, 0, tzinfo=PARIS),
    "datetime in a repeated hour (fold=1)": dt.datetime(2021, 11, 7, 1, 30, tzinfo=NEW_YORK, fold=1),
    "datetime in a skipped hour": dt.datetime(2021, 3, 14, 2, 30, tzinfo=NEW_YORK),
    "date": dt.date(1969, 7, 20),
    "naive time": dt.time(23, 59, 59, 999999),
    "aware time": dt.time(8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "time in an IANA zone": dt.time(8, 0, tzinfo=PARIS),
    "timedeltas": [dt.timedelta(days=-3, seconds=5, microseconds=7), dt.timedelta.max, dt.timedelta.min],
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimals": [decimal.Decimal("1.10"), decimal.Decimal("-0"), decimal.Decimal("1E+400"), decimal.Decimal("NaN")],
    "decimal signalling NaN and infinity": [decimal.Decimal("sNaN"), decimal.Decimal("-Infinity")],
    "enums": [Color.RED, Color.BLUE, Priority.HIGH, Mode.FINAL],
    "attrs class": Pair(left=Point(1, 2), right=[Tag("t")], note="private alias"),
    "dataclass": Box(value={"deep": (1, {2})}, label="lbl"),
    "registered type": Money(decimal.Decimal("9.99"), "EUR"),
    "records without fields": [Nothing(), Marker(), Nothing()],
    "nested mixture": {
        "state": [Box(Pair({1: (b"x", None)}, frozenset({Color.GREEN}))), {"__lg__": {dt.date(2000, 1, 1): 2**70}}]
    },
}


@pytest.mark.parametrize("value", list(EXAMPLES.values()), ids=list(EXAMPLES))
def test_every_accepted_kind_of_value_round_trips_exactly(value: Any) -> None:
    assert canonical(round_trip(value)) == canonical(value)


@given(values)
def test_any_accepted_value_round_trips_exactly_through_json(value: Any) -> None:
    assert canonical(round_trip(value)) == canonical(value)


@given(values)
def test_encoded_values_are_plain_json(value: Any) -> None:
    assert list(json_safe(encode_value(value))) == []


@given(st.lists(hashable_values, max_size=6, unique=True))
def test_sets_encode_the_same_whatever_their_insertion_order(items: list[Any]) -> None:
    forward, backward = set(), set()
    for item in items:
        forward.add(item)
    for item in reversed(items):
        backward.add(item)
    assert jsonio.dumps(encode_value(forward)) == jsonio.dumps(encode_value(backward))


def test_datetimes_keep_their_iana_zone_and_fold() -> None:
    repeated = dt.datetime(2021, 11, 7, 1, 30, tzinfo=NEW_YORK, fold=1)
    decoded = round_trip(repeated)
    assert decoded.tzinfo is NEW_YORK
    assert decoded.fold == 1
    assert decoded == repeated
    assert decoded + dt.timedelta(days=180) == repeated + dt.timedelta(days=180)


def test_decoded_mutable_containers_are_fresh_objects() -> None:
    original = {"items": [bytearray(b"a")]}
    decoded = round_trip(original)
    decoded["items"][0].extend(b"b")
    assert original == {"items": [bytearray(b"a")]}


def test_registered_class_decodes_under_its_stable_name() -> None:
    @attrs.frozen
    class Renamed:
        value: int

    register_class(Renamed, "tests.codec.StableName")
    encoded = encode_value(Renamed(3))
    assert encoded["type"] == "tests.codec.StableName"
    assert round_trip(Renamed(3)) == Renamed(3)


def test_register_class_refuses_what_is_not_a_record_or_enum() -> None:
    with pytest.raises(SerializationError, match="register_type"):
        register_class(Money)


# -- refusals ---------------------------------------------------------------------------------


class Unregistered:
    """A plain class nobody registered."""


class MyList(list[int]):
    """A list subclass: not a list, so not silently stored as one."""


def _generator() -> Iterator[int]:
    yield 1


UNSUPPORTED: dict[str, tuple[Any, str]] = {
    "object()": (object(), "builtins.object"),
    "lambda": (lambda: 1, "function"),
    "custom class": (Unregistered(), "Unregistered"),
    "list subclass": (MyList([1]), "MyList"),
    "generator": (_generator(), "generator"),
    "complex": (1j, "complex"),
    "module": (sys, "module"),
}


@pytest.mark.parametrize(("value", "type_name"), list(UNSUPPORTED.values()), ids=list(UNSUPPORTED))
def test_unsupported_values_are_refused_with_their_type_and_path(value: Any, type_name: str) -> None:
    with pytest.raises(SerializationError) as info:
        encode_value({"a": [1, value]}, "state")
    assert type_name in str(info.value)
    assert "state['a'][1]" in str(info.value)


def test_a_socket_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(SerializationError, match=r"socket\.socket.*value\[0\]"):
        encode_value([sock])


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (Pair(left=1, right=object()), "value.right"),
        (Box(value=[object()]), "value.value[0]"),
        ({object(): 1}, "value<key 0>"),
        ({1: {"k": object()}}, "value[1]['k']"),
        ((1, 2, (3, object())), "value[2][1]"),
        ({"a": {(1, object())}}, "value['a']<set item>[1]"),
        (Money(decimal.Decimal(1), object()), "value<tests.strategies.Money>[1]"),  # type: ignore[arg-type]
    ],
)
def test_the_error_path_points_at_the_refused_value(value: Any, path: str) -> None:
    with pytest.raises(SerializationError) as info:
        encode_value(value)
    assert str(info.value).endswith(f"at {path}")


class _Refused:
    """A value the log cannot store."""


@st.composite
def values_with_one_refused(draw: st.DrawFn) -> tuple[Any, str]:
    """A value with one unencodable object somewhere inside, and its place as ``encode_value`` names it.

    Siblings after it may hold the same object again: the place named is the first.
    """
    refused = _Refused()
    value: Any = refused
    path = ""
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        before = draw(st.lists(values, max_size=2))
        after = draw(st.lists(values | st.just(refused), max_size=2))
        kind = draw(st.sampled_from(["list", "tuple", "dict", "record"]))
        if kind == "record":
            value, path = Box(value=value), ".value" + path
        elif kind == "dict":
            keys = draw(st.lists(st.text(max_size=4), min_size=len(before) + 1 + len(after), unique=True))
            inner = dict(zip(keys, [*before, value, *after], strict=False))
            value, path = inner, f"[{keys[len(before)]!r}]" + path
        else:
            items = [*before, value, *after]
            value, path = (items if kind == "list" else tuple(items)), f"[{len(before)}]" + path
    return value, path


@given(values_with_one_refused())
def test_the_error_path_names_where_the_refused_value_sits(case: tuple[Any, str]) -> None:
    value, path = case
    with pytest.raises(SerializationError, match="_Refused") as info:
        encode_value(value, "state")
    assert str(info.value).endswith(f" at state{path}")


def test_the_error_path_names_the_first_refused_item_of_a_long_list() -> None:
    refused = _Refused()
    with pytest.raises(SerializationError) as info:
        encode_value({"log": ["fine", 1, {"k": "v"}] * 2000 + [refused, "fine", refused]})
    assert str(info.value).endswith("at value['log'][6000]")


def test_a_value_shared_at_two_depths_is_refused_where_it_is_too_deep() -> None:
    deep: list[Any] = []
    innermost = deep
    for _ in range(190):  # 191 lists: storable on their own
        innermost.append([])
        innermost = innermost[0]
    wrapped: list[Any] = [deep]
    for _ in range(9):
        wrapped = [wrapped]
    with pytest.raises(SerializationError, match="nested more than 200 levels") as info:
        encode_value([deep, wrapped])
    assert " at value[1][0][0]" in str(info.value)
    assert encode_value([deep]) is not None


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="nested"):
        encode_value(loop)


# -- hostile payloads -------------------------------------------------------------------------

HOSTILE: dict[str, Any] = {
    "unknown tag": {"__lg__": "pickle", "data": "gASVAAAAAAAAAAA="},
    "tag that is not a string": {"__lg__": ["obj"], "type": "os.system"},
    "obj naming os.system": {"__lg__": "obj", "type": "os.system", "fields": {"command": "echo pwned"}},
    "obj naming an unimported module": {"__lg__": "obj", "type": "antigravity.fly", "fields": {}},
    "enum naming builtins.eval": {"__lg__": "enum", "type": "builtins.eval", "v": "1+1"},
    "unknown registered name": {"__lg__": "custom", "type": "subprocess.Popen", "v": ["ls"]},
    "type name that is not a string": {"__lg__": "obj", "type": {"a": 1}, "fields": {}},
    "custom type name that is not a string": {"__lg__": "custom", "type": [1], "v": 1},
    "obj with fields that are a list": {"__lg__": "obj", "type": "tests.strategies.Point", "fields": [1, 2]},
    "obj with unknown fields": {"__lg__": "obj", "type": "tests.strategies.Point", "fields": {"z": 1}},
    "enum with unknown value": {"__lg__": "enum", "type": "tests.strategies.Color", "v": "purple"},
    "custom type with bad data": {"__lg__": "custom", "type": "tests.strategies.Money", "v": 5},
    "tuple without items": {"__lg__": "tuple"},
    "dict whose items are not pairs": {"__lg__": "dict", "items": [[1, 2, 3]]},
    "dict with an unhashable key": {"__lg__": "dict", "items": [[[1], 2]]},
    "set with an unhashable item": {"__lg__": "set", "items": [{"a": 1}]},
    "bytes that are not base64": {"__lg__": "bytes", "b64": "not base64!"},
    "bytes given as a number": {"__lg__": "bytes", "b64": 12},
    "string that is not UTF-8": {"__lg__": "str", "utf8": "/w=="},
    "int that is not a number": {"__lg__": "int", "v": "twelve"},
    "int with too many digits": {"__lg__": "int", "v": "9" * 5000},
    "hex int that is not hex": {"__lg__": "int", "hex": "0xzz"},
    "float that is finite text": {"__lg__": "float", "v": "1e308"},
    "float given as a list": {"__lg__": "float", "v": ["nan"]},
    "datetime that is garbage": {"__lg__": "datetime", "v": "yesterday"},
    "datetime with an unknown zone": {"__lg__": "datetime", "v": "2020-01-01T00:00:00", "tz": "Mars/Olympus"},
    "datetime with a zone that is a path": {"__lg__": "datetime", "v": "2020-01-01T00:00:00", "tz": "/etc/passwd"},
    "datetime with an impossible fold": {"__lg__": "datetime", "v": "2020-01-01T00:00:00", "fold": 7},
    "time that is a number": {"__lg__": "time", "v": 1200},
    "timedelta of the wrong shape": {"__lg__": "timedelta", "v": [1, 2]},
    "uuid that is garbage": {"__lg__": "uuid", "v": "not-a-uuid"},
    "decimal that is garbage": {"__lg__": "decimal", "v": "1.2.3"},
    "hostile value nested in plain data": [{"ok": 1}, {"x": {"__lg__": "obj", "type": "os.system", "fields": {}}}],
}


@pytest.mark.parametrize("data", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_payloads_raise_corrupt_log_or_serialization_errors_only(data: Any) -> None:
    modules_before = set(sys.modules)
    with pytest.raises((CorruptLogError, SerializationError)):
        decode_value(data)
    assert set(sys.modules) - modules_before == set()


def test_a_payload_naming_a_module_never_imports_it() -> None:
    assert "antigravity" not in sys.modules
    with pytest.raises(SerializationError, match="not registered"):
        decode_value({"__lg__": "obj", "type": "antigravity.fly", "fields": {}})
    assert "antigravity" not in sys.modules


_KNOWN_TAGS = ("tuple", "dict", "set", "frozenset", "str", "int", "float", "bytes", "bytearray", "datetime")
_MORE_TAGS = ("date", "time", "timedelta", "uuid", "decimal", "enum", "obj", "custom", "os.system", "")
_tags = st.sampled_from(_KNOWN_TAGS + _MORE_TAGS)
_fields = st.sampled_from(["items", "v", "b64", "utf8", "type", "fields", "hex", "tz", "fold"])
_names = st.sampled_from(["tests.strategies.Point", "tests.strategies.Color", "tests.strategies.Money", "os.system"])
_hostile_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | _names
hostile_data = st.recursive(
    _hostile_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=2)
        | st.builds(lambda tag, fields: {"__lg__": tag, **fields}, _tags, st.dictionaries(_fields, inner, max_size=3))
    ),
    max_leaves=8,
)


@given(hostile_data)
def test_decoding_arbitrary_json_returns_a_value_or_raises_a_log_error(data: Any) -> None:
    with contextlib.suppress(CorruptLogError, SerializationError):
        decode_value(data)


def test_absurdly_deep_payloads_are_corrupt_not_a_crash() -> None:
    data: Any = 0
    for _ in range(100_000):
        data = [data]
    with pytest.raises(CorruptLogError, match="nested too deeply"):
        decode_value(data)


# -- events -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NoteTaken:
    """An event with a plain field and a user value."""

    author: str
    body: Value


register_event(NoteTaken, "tests.eventstore.NoteTaken")


@attrs.frozen(kw_only=True)
class Greeted:
    """Schema version 3; version 1 had only ``who``, version 2 had no ``punctuation``."""

    name: str
    greeting: str
    extras: Value
    punctuation: str


def _greeted_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": data["who"], "greeting": "hello", "extras": None}


def _greeted_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "punctuation": "!"}


register_event(Greeted, "tests.eventstore.Greeted", version=3)
register_upcaster("tests.eventstore.Greeted", 1, _greeted_v1_to_v2)
register_upcaster("tests.eventstore.Greeted", 2, _greeted_v2_to_v3)


def stored(type_name: str, payload: bytes, schema_version: int = 1) -> EventRecord:
    """A record as a store would return it."""
    return EventRecord(
        thread_id="t",
        seq=1,
        position=1,
        type=type_name,
        schema_version=schema_version,
        payload=payload,
        hash="0" * 64,
        recorded_at_us=1_767_225_600_000_000,  # 2026-01-01T00:00:00+00:00
    )


@given(st.text(), values)
def test_events_round_trip_through_their_payload(author: str, body: Any) -> None:
    new = encode_event(NoteTaken(author=author, body=body))
    assert new.type == "tests.eventstore.NoteTaken"
    assert new.schema_version == 1
    decoded = decode_event(stored(new.type, new.payload, new.schema_version))
    assert type(decoded) is NoteTaken
    assert decoded.author == author
    assert canonical(decoded.body) == canonical(body)


def test_events_carry_their_current_schema_version() -> None:
    new = encode_event(Greeted(name="Ada", greeting="hi", extras=None, punctuation="."))
    assert new.schema_version == 3


def test_an_old_payload_is_upgraded_by_its_registered_upcasters() -> None:
    v1 = (FIXTURES / "greeted_v1.json").read_bytes()
    assert decode_event(stored("tests.eventstore.Greeted", v1, schema_version=1)) == Greeted(
        name="Ada Lovelace", greeting="hello", extras=None, punctuation="!"
    )


def test_a_version_2_payload_runs_only_the_later_upcaster() -> None:
    v2 = (FIXTURES / "greeted_v2.json").read_bytes()
    assert decode_event(stored("tests.eventstore.Greeted", v2, schema_version=2)) == Greeted(
        name="Ada Lovelace", greeting="hello", extras=("analytical", 1843), punctuation="!"
    )


def test_upcasters_do_not_modify_the_payload_they_are_given() -> None:
    data = jsonio.loads((FIXTURES / "greeted_v2.json").read_bytes())
    snapshot = jsonio.dumps(data)
    _greeted_v2_to_v3(data)
    assert jsonio.dumps(data) == snapshot


def test_an_upcaster_that_cannot_read_an_old_payload_reports_a_corrupt_log() -> None:
    with pytest.raises(CorruptLogError, match="cannot be upgraded from schema version 1"):
        decode_event(stored("tests.eventstore.Greeted", b'{"name": "no who field"}', schema_version=1))


def test_a_payload_from_a_newer_schema_version_is_refused() -> None:
    with pytest.raises(CorruptLogError, match="newer"):
        decode_event(stored("tests.eventstore.NoteTaken", b'{"author": "a", "body": 1}', schema_version=2))


def test_an_old_version_without_an_upcaster_is_refused() -> None:
    with pytest.raises(CorruptLogError, match="no upcaster"):
        decode_event(stored("tests.eventstore.Greeted", b"{}", schema_version=0))


# -- payload keys other than the field names, and records stored as arrays ------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Entry:
    """Stored as ``[label, amount]``."""

    label: str
    amount: Value


register_array_record(Entry)


@attrs.frozen(kw_only=True, slots=True)
class Posted:
    ledger_seq: int
    entries: tuple[Entry, ...]
    note: str = ""


@attrs.frozen(kw_only=True)
class Counted:
    """Its ``__init__`` validates, so it keeps cattrs' own hook: renamed all the same."""

    count_so_far: int = attrs.field(validator=attrs.validators.ge(0))


register_event(Posted, "tests.eventstore.Posted", keys={"ledger_seq": "at"})
register_event(Counted, "tests.eventstore.Counted", keys={"count_so_far": "n"})


@given(
    seq=st.integers(0, 2**40),
    entries=st.lists(st.tuples(st.text(max_size=5), st.integers(-(2**40), 2**40) | st.text(max_size=5)), max_size=3),
    note=st.text(max_size=5),
)
def test_a_field_with_a_payload_key_is_stored_under_it_and_read_back(
    seq: int, entries: list[tuple[str, Any]], note: str
) -> None:
    event = Posted(ledger_seq=seq, entries=tuple(Entry(label=k, amount=v) for k, v in entries), note=note)
    new = encode_event(event)
    expected: dict[str, Any] = {"at": seq, "entries": [[k, v] for k, v in entries]}
    if note:
        expected["note"] = note  # a default is left out, under any key
    assert jsonio.loads(new.payload) == expected
    assert decode_event(stored(new.type, new.payload)) == event


def test_a_class_with_a_validating_init_is_renamed_and_still_validated() -> None:
    new = encode_event(Counted(count_so_far=3))
    assert jsonio.loads(new.payload) == {"n": 3}
    assert decode_event(stored(new.type, new.payload)) == Counted(count_so_far=3)
    with pytest.raises(CorruptLogError, match="count_so_far"):
        decode_event(stored(new.type, b'{"n": -1}'))
    with pytest.raises(CorruptLogError, match="t#1"):
        decode_event(stored(new.type, b'{"count_so_far": 3}'))  # the field's name is not its key


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ({"ledger": "at"}, r"names fields \['ledger'\] that Posted does not have"),
        ({"ledger_seq": "note"}, "gives two fields of Posted the same payload key"),
    ],
)
def test_payload_keys_that_name_no_field_or_collide_are_refused_at_registration(
    keys: dict[str, str], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        register_event(Posted, "tests.eventstore.Posted.again", keys=keys)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"at": 1, "entries": [["a"]]}',
        b'{"at": 1, "entries": [["a", 1, 2]]}',
        b'{"at": 1, "entries": [{"label": "a", "amount": 1}]}',
    ],
    ids=["too short", "too long", "an object"],
)
def test_an_array_record_of_the_wrong_length_or_shape_is_a_corrupt_event(payload: bytes) -> None:
    with pytest.raises(CorruptLogError, match=r"t#1.*Entry must be a JSON array of 2 items"):
        decode_event(stored("tests.eventstore.Posted", payload))


def test_only_a_record_that_only_stores_its_fields_can_be_an_array() -> None:
    with pytest.raises(TypeError, match="slotted attrs class"):
        register_array_record(Counted)


@pytest.mark.parametrize(
    ("type_name", "payload"),
    [
        ("no.such.Event", b'{"author": "a", "body": 1}'),
        ("tests.eventstore.NoteTaken", b"not json"),
        ("tests.eventstore.NoteTaken", b"\xff\xfe"),
        ("tests.eventstore.NoteTaken", b"[1, 2]"),
        ("tests.eventstore.NoteTaken", b'{"author": "a"}'),
        ("tests.eventstore.NoteTaken", b'{"author": "a", "body": {"__lg__": "nope"}}'),
    ],
    ids=["unknown type", "not JSON", "not UTF-8", "not an object", "missing field", "bad value"],
)
def test_undecodable_events_raise_corrupt_log_error(type_name: str, payload: bytes) -> None:
    with pytest.raises(CorruptLogError):
        decode_event(stored(type_name, payload))


def test_an_event_naming_an_unregistered_class_raises_serialization_error() -> None:
    payload = b'{"author": "a", "body": {"__lg__": "obj", "type": "os.system", "fields": {}}}'
    with pytest.raises(SerializationError, match="not registered"):
        decode_event(stored("tests.eventstore.NoteTaken", payload))


def test_an_unencodable_value_names_the_event_type_and_the_value_type() -> None:
    with pytest.raises(SerializationError, match=r"tests\.eventstore\.NoteTaken.*builtins\.object"):
        encode_event(NoteTaken(author="a", body={"k": object()}))


def test_an_unregistered_event_class_is_refused() -> None:
    @attrs.frozen
    class Stray:
        x: int

    with pytest.raises(SerializationError, match="not a registered event type"):
        encode_event(Stray(1))


def test_an_event_type_name_belongs_to_one_class() -> None:
    @attrs.frozen
    class Impostor:
        author: str

    with pytest.raises(ValueError, match="already registered"):
        register_event(Impostor, "tests.eventstore.NoteTaken")


def test_only_attrs_classes_can_be_events() -> None:
    with pytest.raises(TypeError, match="not an attrs class"):
        register_event(Money)
