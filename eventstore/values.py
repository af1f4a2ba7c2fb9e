"""Turn state values into JSON-safe data and back, exactly, without ever naming code.

JSON covers strings, finite floats, 64-bit ints, booleans, null, lists and dicts
with string keys. Everything else the log accepts (tuples, sets, bytes, dates,
UUIDs, decimals, enums, attrs classes, dataclasses, big ints, non-finite floats,
strings with lone surrogates, dicts with other keys, and types the user
registers) is written as a small tagged object ``{"__lg__": tag, ...}``.

A tag names a *registered* type by a plain string; decoding looks the name up
in a dictionary and never imports or calls anything the payload names. Values
of any other type are rejected before anything is written, with an error that
names the type and where it sits inside the value.

Datetimes and times keep their ``fold`` and, for ``zoneinfo.ZoneInfo`` zones, the
zone's key; any other ``tzinfo`` comes back as the fixed UTC offset it had.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import math
import os
import re
import threading
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import attrs

from eventstore.errors import CorruptLogError, SerializationError

TAG = "__lg__"
MAX_DEPTH = 200
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1
_DECIMAL_BITS = 10_000  # ints wider than this are stored in hex: str() refuses over 4300 digits

T = TypeVar("T")


@attrs.frozen
class _Custom:
    """A user-registered type: how to turn it into encodable data and back."""

    cls: type[Any]
    name: str
    to_data: Callable[[Any], Any]
    from_data: Callable[[Any], Any]


class _Registry:
    """Names for the classes a payload may mention; the only way a name becomes a class."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_name: dict[str, type[Any]] = {}
        self.by_class: dict[type[Any], str] = {}
        self.custom_by_class: dict[type[Any], _Custom] = {}
        self.custom_by_name: dict[str, _Custom] = {}

    def name_of(self, cls: type[Any]) -> str:
        """Register an attrs class, dataclass or enum under its qualified name on first sight."""
        name = self.by_class.get(cls)
        if name is None:
            name = f"{cls.__module__}.{cls.__qualname__}"
            self.add(cls, name)
        return name

    def add(self, cls: type[Any], name: str) -> None:
        with self._lock:
            old = self.by_name.get(name)
            if old is not None and old is not cls:
                self.by_class.pop(old, None)
            self.by_name[name] = cls
            self.by_class[cls] = name

    def add_custom(self, custom: _Custom) -> None:
        with self._lock:
            self.custom_by_class[custom.cls] = custom
            self.custom_by_name[custom.name] = custom


_registry = _Registry()


def register_class(cls: type[Any], name: str | None = None) -> None:
    """Make an attrs class, dataclass or enum decodable under ``name`` in this process.

    Such classes are registered automatically when first encoded and when a graph's
    state schema mentions them; register explicitly to decode values in a process
    that has not seen the class yet, or to keep a stable name across a rename.
    """
    if not (_is_record_class(cls) or (isinstance(cls, type) and issubclass(cls, enum.Enum))):
        raise SerializationError(
            f"{cls!r} is not an attrs class, dataclass, pydantic model or enum; use register_type() with "
            "to_data/from_data functions for other types"
        )
    _registry.add(cls, name or f"{cls.__module__}.{cls.__qualname__}")


def register_type(
    cls: type[T],
    *,
    to_data: Callable[[T], Any],
    from_data: Callable[[Any], T],
    name: str | None = None,
) -> None:
    """Accept values of ``cls`` in payloads, stored as ``to_data(value)`` and read back with ``from_data``."""
    _registry.add_custom(
        _Custom(cls=cls, name=name or f"{cls.__module__}.{cls.__qualname__}", to_data=to_data, from_data=from_data)
    )


def _is_record_class(cls: Any) -> bool:
    return isinstance(cls, type) and (attrs.has(cls) or dataclasses.is_dataclass(cls) or is_pydantic_model(cls))


def is_pydantic_model(cls: Any) -> bool:
    """A pydantic (v2) model class, recognised without importing pydantic."""
    return (
        isinstance(cls, type)
        and isinstance(getattr(cls, "model_fields", None), dict)
        and hasattr(cls, "model_construct")
    )


class _PathError(Exception):
    """Internal: an unencodable value, and its place, found as the stack unwinds.

    ``at`` is the value whose encoding failed at the level the error has reached;
    the container around it looks ``at`` up among its children to add its place.
    """

    def __init__(self, message: str, at: Any):
        self.message = message
        self.path: list[str] = []
        self.at = at


def encode_value(value: Any, where: str = "value") -> Any:
    """Return JSON-safe data for ``value``; raise ``SerializationError`` naming the type and place."""
    try:
        return _encode(value, 0)
    except _FAILURES as exc:
        err = _failed_in(value, iter(()), exc)
        location = where + "".join(reversed(err.path))
        raise SerializationError(f"{err.message} at {location}") from None


def _encode(v: Any, depth: int) -> Any:  # noqa: C901 - one dispatch on type, kept flat for speed
    t = type(v)
    if t is str:
        if v.isascii() or _is_utf8(v):
            return v
        # Lone surrogates. UTF-8 keeps a high+low pair as the two code points it is; UTF-16 would join them.
        raw = v.encode("utf-8", "surrogatepass")
        return {TAG: "str", "utf8": base64.b64encode(raw).decode("ascii")}
    if t is int:
        if _INT64_MIN <= v <= _UINT64_MAX:
            return v
        if v.bit_length() > _DECIMAL_BITS:
            return {TAG: "int", "hex": hex(v)}
        return {TAG: "int", "v": str(v)}
    if v is None or t is bool:
        return v
    if t is float:
        if math.isfinite(v):
            return v
        return {TAG: "float", "v": repr(v)}
    if depth >= MAX_DEPTH:
        raise _PathError(f"value is nested more than {MAX_DEPTH} levels deep", v)
    depth += 1
    # Children are encoded without noting their places (a string per item was most of the cost
    # of a large list): a failure is placed as it passes back through (``_failed_in``). An ASCII
    # string, the commonest item, is taken as it is, without a call.
    if t is list:
        try:
            return [i if type(i) is str and i.isascii() else _encode(i, depth) for i in v]
        except _FAILURES as exc:
            raise _failed_in(v, _indexed(v), exc) from None
    if t is dict:
        plain = _plain_dict(v, depth) if TAG not in v else None
        if plain is not None:
            return plain
        try:
            return {TAG: "dict", "items": [[_encode(k, depth), _encode(i, depth)] for k, i in v.items()]}
        except _FAILURES as exc:
            raise _failed_in(v, _keys_and_values(v), exc) from None
    if t is tuple:
        try:
            return {TAG: "tuple", "items": [_encode(i, depth) for i in v]}
        except _FAILURES as exc:
            raise _failed_in(v, _indexed(v), exc) from None
    if t is set or t is frozenset:
        try:
            items = [_encode(i, depth) for i in v]
        except _FAILURES as exc:
            raise _failed_in(v, (("<set item>", i) for i in v), exc) from None
        from eventstore.jsonio import dumps

        items.sort(key=dumps)
        return {TAG: "set" if t is set else "frozenset", "items": items}
    if t is bytes:
        return {TAG: "bytes", "b64": base64.b64encode(v).decode("ascii")}
    if t is bytearray:
        return {TAG: "bytearray", "b64": base64.b64encode(bytes(v)).decode("ascii")}
    if t is dt.datetime or t is dt.time:
        return _encode_clock(v, "datetime" if t is dt.datetime else "time")
    if t is dt.date:
        return {TAG: "date", "v": v.isoformat()}
    if t is dt.timedelta:
        return {TAG: "timedelta", "v": [v.days, v.seconds, v.microseconds]}
    if t is uuid.UUID:
        return {TAG: "uuid", "v": str(v)}
    if t is decimal.Decimal:
        return {TAG: "decimal", "v": str(v)}
    custom = _registry.custom_by_class.get(t)
    if custom is not None:
        data = custom.to_data(v)
        try:
            return {TAG: "custom", "type": custom.name, "v": _encode(data, depth)}
        except _FAILURES as exc:
            raise _failed_in(v, iter(((f"<{custom.name}>", data),)), exc) from None
    if isinstance(v, enum.Enum):
        try:
            return {TAG: "enum", "type": _registry.name_of(t), "v": _encode(v.value, depth)}
        except _FAILURES as exc:
            raise _failed_in(v, iter(((".value", v.value),)), exc) from None
    fields = _record_fields.get(t)
    if fields is None:
        fields = _fields_of_record(t)
    if fields is not None:
        try:
            encoded = {arg: _encode(getattr(v, name), depth) for name, arg in fields}
        except _FAILURES as exc:
            raise _failed_in(v, ((f".{name}", getattr(v, name)) for name, _ in fields), exc) from None
        return {TAG: "obj", "type": _registry.name_of(t), "fields": encoded}
    raise _PathError(
        f"cannot store a value of type {t.__module__}.{t.__qualname__}: the log accepts JSON values, "
        "tuples, sets, bytes, dates and times, UUIDs, decimals, enums, attrs classes, dataclasses, pydantic models "
        "and types registered with eventstore.register_type()",
        v,
    )


_FAILURES = (_PathError, RecursionError)


def _plain_dict(v: dict[Any, Any], depth: int) -> dict[str, Any] | None:
    """``v`` with its values encoded, if JSON can hold every key as it is; None at the first key it cannot.

    One loop checks each key and encodes its value (a check of every key first,
    then a comprehension, took twice as long for a small dict).
    """
    encoded: dict[str, Any] = {}
    try:
        for k, i in v.items():
            if type(k) is not str or not (k.isascii() or _is_utf8(k)):
                return None
            encoded[k] = i if type(i) is str and i.isascii() else _encode(i, depth)
    except _FAILURES as exc:
        raise _failed_in(v, ((f"[{k!r}]", i) for k, i in v.items()), exc) from None
    return encoded


def _failed_in(container: Any, places: Iterator[tuple[str, Any]], exc: BaseException) -> _PathError:
    """A failure inside ``container``: the place of the child that failed added to its path.

    The child is found by identity among ``places`` (each child with its place, in
    encoding order: the first occurrence of an object is the one that failed). A
    ``RecursionError`` is placed at the container where the stack ran out.
    """
    if not isinstance(exc, _PathError):
        return _PathError("value is nested too deeply", container)
    for step, child in places:
        if child is exc.at:
            exc.path.append(step)
            break
    exc.at = container
    return exc


def _indexed(items: list[Any] | tuple[Any, ...]) -> Iterator[tuple[str, Any]]:
    return ((f"[{n}]", item) for n, item in enumerate(items))


def _keys_and_values(v: dict[Any, Any]) -> Iterator[tuple[str, Any]]:
    """A tagged dict's children in the order they are encoded, each with its place."""
    for n, (k, i) in enumerate(v.items()):
        yield f"<key {n}>", k
        yield f"[{k!r}]", i


def _is_utf8(s: str) -> bool:
    """Whether JSON can hold ``s`` as it is (it has no lone surrogates)."""
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _encode_clock(v: dt.datetime | dt.time, tag: str) -> dict[str, Any]:
    """A datetime or time as ISO text, plus its IANA zone and ``fold`` where the text alone would lose them."""
    data: dict[str, Any] = {TAG: tag, "v": v.isoformat()}
    if type(v.tzinfo) is zoneinfo.ZoneInfo and v.tzinfo.key:
        data["tz"] = v.tzinfo.key
    if v.fold:
        data["fold"] = 1
    return data


def _decode_clock(d: dict[str, Any], parse: Callable[[str], T]) -> T:
    value: Any = parse(d["v"])
    if "tz" in d:
        value = value.replace(tzinfo=_zone(d["tz"]))
    if "fold" in d:
        value = value.replace(fold=d["fold"])
    return cast(T, value)


_ZONE_KEY = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")


def _zone(key: Any) -> zoneinfo.ZoneInfo:
    """The IANA zone a payload names: a plain ``Area/City`` key, never a path or a dotted name."""
    if type(key) is not str or not _ZONE_KEY.fullmatch(key) or key.startswith(("_", "-", "+")):
        raise ValueError(f"{key!r} is not a time zone key")
    if not any(os.path.isfile(os.path.join(root, key)) for root in zoneinfo.TZPATH):
        raise ValueError(f"time zone {key!r} is not in this system's zone database")
    return zoneinfo.ZoneInfo(key)


_record_fields: dict[type[Any], list[tuple[str, str]]] = {}
"""``_init_fields`` of each record class encoded so far: a class's fields never change (bounded below)."""


def _fields_of_record(cls: type[Any]) -> list[tuple[str, str]] | None:
    """``_init_fields`` of a record class (remembered), or None for a class that is no record."""
    if not _is_record_class(cls):
        return None
    fields = _init_fields(cls)
    if len(_record_fields) < 10_000:
        _record_fields[cls] = fields
    return fields


def _init_fields(cls: type[Any]) -> list[tuple[str, str]]:
    """(attribute name, constructor argument name) of the fields a constructor accepts."""
    if attrs.has(cls):
        return [(f.name, f.alias or f.name) for f in attrs.fields(cls) if f.init]
    if is_pydantic_model(cls):
        return [(name, name) for name in cls.model_fields]
    return [(f.name, f.name) for f in dataclasses.fields(cls) if f.init]


def decode_value(data: Any) -> Any:
    """Rebuild the value ``encode_value`` produced; unknown tags or type names are errors."""
    try:
        return _decode(data)
    except RecursionError:
        raise CorruptLogError("stored value is nested too deeply to decode") from None


_NESTED = (list, dict)


def _decode(d: Any) -> Any:  # noqa: C901 - one dispatch on tag
    t = type(d)
    # Only lists and dicts hold anything to decode: other items are taken as they are, without a call.
    if t is list:
        return [_decode(i) if type(i) in _NESTED else i for i in d]
    if t is not dict:
        return d
    tag = d.get(TAG)
    if tag is None:
        return {k: _decode(i) if type(i) in _NESTED else i for k, i in d.items()}
    try:
        if tag == "tuple":
            return tuple(_decode(item) for item in d["items"])
        if tag == "dict":
            return {_decode(k): _decode(item) for k, item in d["items"]}
        if tag == "set":
            return {_decode(item) for item in d["items"]}
        if tag == "frozenset":
            return frozenset(_decode(item) for item in d["items"])
        if tag == "str":
            return base64.b64decode(d["utf8"], validate=True).decode("utf-8", "surrogatepass")
        if tag == "int":
            return int(_checked_str(d["hex"], None), 16) if "hex" in d else int(d["v"])
        if tag == "float":
            return float(_checked_str(d["v"], ("nan", "inf", "-inf")))
        if tag == "bytes":
            return base64.b64decode(d["b64"], validate=True)
        if tag == "bytearray":
            return bytearray(base64.b64decode(d["b64"], validate=True))
        if tag == "datetime":
            return _decode_clock(d, dt.datetime.fromisoformat)
        if tag == "date":
            return dt.date.fromisoformat(d["v"])
        if tag == "time":
            return _decode_clock(d, dt.time.fromisoformat)
        if tag == "timedelta":
            days, seconds, micros = d["v"]
            return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
        if tag == "uuid":
            return uuid.UUID(d["v"])
        if tag == "decimal":
            return decimal.Decimal(d["v"])
        if tag == "enum":
            return _lookup_class(d["type"])(_decode(d["v"]))
        if tag == "obj":
            cls = _lookup_class(d["type"])
            fields = d["fields"]
            if type(fields) is not dict:
                raise CorruptLogError(f"stored {d['type']} has fields that are not an object")
            decoded = {k: _decode(item) for k, item in fields.items()}
            if is_pydantic_model(cls):  # rebuilt as stored, by field name, not re-validated
                return cls.model_construct(**decoded)
            return cls(**decoded)
        if tag == "custom":
            custom = _registry.custom_by_name.get(d["type"])
            if custom is None:
                raise SerializationError(_unregistered(d["type"]))
            return custom.from_data(_decode(d["v"]))
    except (SerializationError, CorruptLogError):
        raise
    except RecursionError:
        raise
    except Exception as exc:  # any malformed tagged object is a corrupt payload, never a crash
        raise CorruptLogError(f"stored value tagged {tag!r} cannot be decoded: {exc!r}") from None
    raise CorruptLogError(f"stored value has an unknown tag {tag!r}")


def _checked_str(v: Any, allowed: tuple[str, ...] | None) -> str:
    """``v`` if it is a string (and one of ``allowed``, when given); a malformed payload otherwise."""
    if type(v) is not str or (allowed is not None and v not in allowed):
        raise ValueError(f"{v!r} is not {'a string' if allowed is None else f'one of {allowed}'}")
    return v


def _lookup_class(name: Any) -> type[Any]:
    cls = _registry.by_name.get(name) if type(name) is str else None
    if cls is None:
        raise SerializationError(_unregistered(name))
    return cls


def _unregistered(name: Any) -> str:
    return (
        f"stored value has type {name!r}, which is not registered in this process; "
        "register the class (eventstore.register_class or register_type), or compile the graph "
        "whose state schema uses it, before reading"
    )


def register_schema_types(annotation: Any) -> None:
    """Register every attrs class, dataclass and enum reachable from a type annotation."""
    _walk_annotation(annotation, set())


def _walk_annotation(tp: Any, seen: set[int]) -> None:
    if id(tp) in seen:
        return
    seen.add(id(tp))
    import typing

    for arg in typing.get_args(tp):
        if not callable(arg) or isinstance(arg, type):
            _walk_annotation(arg, seen)
    if not isinstance(tp, type):
        return
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        _registry.name_of(tp)
    elif _is_record_class(tp):
        _registry.name_of(tp)
        try:
            hints = typing.get_type_hints(tp, include_extras=True)
        except Exception:  # unresolvable forward references: fields are registered when encoded
            hints = {}
        for hint in hints.values():
            _walk_annotation(hint, seen)
