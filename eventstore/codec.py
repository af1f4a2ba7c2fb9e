"""The one cattrs converter of ledgergraph, and the registry of event types.

Other packages never configure a converter of their own: they declare frozen
attrs event classes and call ``register_event``; fields that hold user values
are typed ``Value`` and go through ``eventstore.values``. Payloads written by an
older schema version are upgraded on read by small pure functions registered
with ``register_upcaster``.
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar, cast, get_origin

import attrs
import cattrs
import cattrs.gen
import orjson

from eventstore import jsonio
from eventstore.errors import CorruptLogError, SerializationError
from eventstore.record_hooks import fills_slots, slot_structure_hook
from eventstore.records import NewEvent, StoredEvent, encoded_event
from eventstore.values import decode_value, encode_value


class _ValueMarker:
    """Marks ``Annotated[Any, ...]`` fields whose contents go through ``eventstore.values``."""


Value = Annotated[Any, _ValueMarker]
"""Annotate event fields that hold user state values with this type (it is ``Any`` to a type checker)."""


def _is_value(annotation: Any) -> bool:
    return get_origin(annotation) is Annotated and _ValueMarker in getattr(annotation, "__metadata__", ())


E = TypeVar("E")
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_PLAIN = frozenset({str, int, float, bool, type(None)})
"""JSON scalars: ``encode_value`` stores these as themselves, so they decode to themselves."""


def _structure_value(data: Any, _: Any) -> Any:
    return data if type(data) in _PLAIN else decode_value(data)


def _structure_optional_int(data: Any, _: Any) -> int | None:
    """``int | None`` checked, not converted (a number given as text or a float means the row was altered)."""
    if data is None or type(data) is int:
        return data
    raise CorruptLogError(f"expected an integer or null, found {type(data).__name__}")


converter = cattrs.Converter(detailed_validation=False, omit_if_default=True)
converter.register_unstructure_hook_func(_is_value, encode_value)
converter.register_structure_hook_func(_is_value, _structure_value)
converter.register_structure_hook(int | None, _structure_optional_int)


def _structure_str_or_int(data: Any, _: Any) -> str | int:
    if type(data) in (str, int):
        return typing.cast(str | int, data)
    raise CorruptLogError(f"expected a string or an integer, found {type(data).__name__}")


converter.register_structure_hook(str | int, _structure_str_or_int)


def _is_variadic_tuple(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis


def _variadic_tuple_hook(annotation: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
    """``tuple[X, ...]`` from a JSON list, with X's hook looked up once (not per value, as cattrs does).

    Scalar items (``str``, ``int``) are checked, not converted: a number where text
    belongs means the row was altered.
    """
    item_type = typing.get_args(annotation)[0]
    if item_type in (str, int):

        def scalars(data: Any, _: Any) -> tuple[Any, ...]:
            if type(data) is not list:
                raise CorruptLogError(f"expected a list of {item_type.__name__}, found {data!r:.80}")
            for item in data:
                if type(item) is not item_type:
                    raise CorruptLogError(f"expected a list of {item_type.__name__}, found {data!r:.80}")
            return tuple(data)

        return scalars
    item_hook = converter.get_structure_hook(item_type)

    def items(data: Any, _: Any) -> tuple[Any, ...]:
        if type(data) is not list:
            raise CorruptLogError(f"expected a list, found {data!r:.80}")
        if len(data) == 1:  # a step's one write, say: no comprehension to call
            return (item_hook(data[0], item_type),)
        return tuple([item_hook(item, item_type) for item in data])

    return items


converter.register_structure_hook_factory(_is_variadic_tuple, _variadic_tuple_hook)


def _variadic_tuple_unstructure_hook(annotation: Any) -> Callable[[Any], list[Any]]:
    """``tuple[X, ...]`` as a JSON list: ``list`` itself for scalar items, else X's hook looked up once.

    cattrs' own hook goes through a generator and a dispatch per call; every step
    encodes a checkpoint's ``applied`` and ``next`` and a task's writes this way.
    """
    item_type = typing.get_args(annotation)[0]
    if item_type in (str, int):
        return list
    item_hook = converter.get_unstructure_hook(item_type)

    def items(value: tuple[Any, ...]) -> list[Any]:
        return [item_hook(item) for item in value]

    return items


def _as_is(value: Any) -> Any:
    return value


converter.register_unstructure_hook_factory(_is_variadic_tuple, _variadic_tuple_unstructure_hook)
converter.register_unstructure_hook(int | None, _as_is)  # JSON holds an int or null as it is


@attrs.frozen
class _EventType:
    cls: type[Any]
    name: str
    version: int
    keys: Mapping[str, str]
    """Payload keys of fields whose key is not their name."""


_lock = threading.Lock()
_by_name: dict[str, _EventType] = {}
_by_class: dict[type[Any], _EventType] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}


def register_event(
    cls: type[E], name: str | None = None, version: int = 1, *, keys: Mapping[str, str] | None = None
) -> type[E]:
    """Declare an attrs event class under a stable type name and its current schema version.

    ``keys`` gives some fields a payload key other than their name: a short one
    for an event every step writes, say, where the record keeps the name its
    sibling events use.
    """
    if not attrs.has(cls):
        raise TypeError(f"{cls!r} is not an attrs class")
    keys = dict(keys or {})
    unknown = set(keys) - {field.name for field in attrs.fields(cls)}
    if unknown:
        raise ValueError(f"keys names fields {sorted(unknown)} that {cls.__qualname__} does not have")
    taken = [keys.get(field.name, field.name) for field in attrs.fields(cls)]
    if len(set(taken)) != len(taken):
        raise ValueError(f"keys gives two fields of {cls.__qualname__} the same payload key: {taken}")
    entry = _EventType(cls=cls, name=name or cls.__name__, version=version, keys=keys)
    with _lock:
        existing = _by_name.get(entry.name)
        if existing is not None and existing.cls is not cls:
            raise ValueError(f"event type name {entry.name!r} is already registered for {existing.cls!r}")
        _by_name[entry.name] = entry
        _by_class[cls] = entry
        _hooks.pop(entry.name, None)
        _unstructure_hooks.pop(cls, None)
        _hook_records(cls, keys)
    return cast(type[E], cls)


def register_array_record(cls: type[E]) -> type[E]:
    """Store a small record as a JSON array of its fields in field order, not an object.

    For a record every step writes several of (a write: ``["items", [...]]``
    instead of ``{"key": "items", "value": [...]}``). Every field is written,
    defaults included, and a payload must hold exactly one item per field.
    """
    if not fills_slots(cls):
        raise TypeError(f"register_array_record needs a slotted attrs class that only stores its fields: {cls!r}")
    for field in attrs.fields(attrs.resolve_types(cast(type[Any], cls))):
        for inner in _attrs_classes_in(field.type):
            _hook_records(inner, {})
    with _lock:
        _slot_hooked.add(cls)
        hook = slot_structure_hook(cls, converter.get_structure_hook, array=True)
        converter.register_structure_hook_func(lambda annotation: annotation is cls, hook)
        converter.register_unstructure_hook_factory(
            lambda annotation: annotation is cls, lambda _: _array_unstructure_hook(cls)
        )
    return cls


def _array_unstructure_hook(cls: type[Any]) -> Callable[[Any], list[Any]]:
    getters = [(field.name, converter.get_unstructure_hook(field.type)) for field in attrs.fields(cls)]
    if len(getters) == 2:  # a write's key and value: no loop
        (first, first_hook), (second, second_hook) = getters

        def pair(record: Any) -> list[Any]:
            return [first_hook(getattr(record, first)), second_hook(getattr(record, second))]

        return pair

    def items(record: Any) -> list[Any]:
        return [hook(getattr(record, name)) for name, hook in getters]

    return items


_slot_hooked: set[type[Any]] = set()


def _hook_records(cls: type[Any], keys: Mapping[str, str]) -> None:
    """Give ``cls``, and the attrs classes its fields hold, structure hooks that fill slots (innermost first).

    Only for classes whose ``__init__`` would add nothing (``fills_slots``); the
    hook is registered for the class itself, never its subclasses. A class
    with ``keys`` whose ``__init__`` does more gets cattrs' hook, renamed.
    """
    if cls in _slot_hooked:
        return
    if not fills_slots(cls):
        if keys:
            renamed = cattrs.gen.make_dict_structure_fn(cls, converter, **_renames(keys))
            converter.register_structure_hook_func(lambda annotation: annotation is cls, renamed)
        return
    _slot_hooked.add(cls)
    attrs.resolve_types(cls)
    for field in attrs.fields(cls):
        for inner in _attrs_classes_in(field.type):
            _hook_records(inner, {})
    hook = slot_structure_hook(cls, converter.get_structure_hook, keys)
    converter.register_structure_hook_func(lambda annotation: annotation is cls, hook)


def _renames(keys: Mapping[str, str]) -> dict[str, Any]:
    return {name: cattrs.gen.override(rename=key) for name, key in keys.items()}


def _attrs_classes_in(annotation: Any) -> list[type[Any]]:
    """The attrs classes an annotation names: itself, or inside ``tuple[X, ...]``, ``X | None`` and the like."""
    if isinstance(annotation, type) and attrs.has(annotation):
        return [annotation]
    return [inner for arg in typing.get_args(annotation) for inner in _attrs_classes_in(arg)]


def register_upcaster(name: str, from_version: int, upcast: Upcaster) -> None:
    """Register a pure function turning a version-``from_version`` payload into the next version."""
    _upcasters[(name, from_version)] = upcast


def encode_event(event: Any) -> NewEvent:
    """Turn a registered event into a payload ready to append (raises before any write)."""
    entry = _by_class.get(type(event))
    if entry is None:
        raise SerializationError(f"{type(event).__qualname__} is not a registered event type")
    hook = _unstructure_hooks.get(entry.cls) or _unstructure_hook(entry)
    try:
        data = hook(event)
    except SerializationError as exc:
        raise SerializationError(f"{entry.name}: {exc}") from None
    return encoded_event(entry.name, jsonio.dumps(data), entry.version)


_unstructure_hooks: dict[type[Any], Callable[[Any], Any]] = {}
"""The converter's unstructure hook for each event class, looked up once (every step encodes its events).

Like the structure hooks in ``_hooks``, it is made on first use: hooks for the
types inside events are registered on the converter before any event is encoded.
"""


def _unstructure_hook(entry: _EventType) -> Callable[[Any], Any]:
    if entry.keys:
        hook = cattrs.gen.make_dict_unstructure_fn(
            entry.cls, converter, _cattrs_omit_if_default=True, **_renames(entry.keys)
        )
    else:
        hook = converter.get_unstructure_hook(entry.cls)
    _unstructure_hooks[entry.cls] = hook
    return hook


_hooks: dict[str, Callable[[Any, Any], Any]] = {}
"""The converter's hook for each event type name, looked up once (decoding is on every read path)."""


def _structure_hook(entry: _EventType) -> Callable[[Any, Any], Any]:
    hook = _hooks.get(entry.name)
    if hook is None:
        hook = _hooks[entry.name] = converter.get_structure_hook(entry.cls)
    return hook


def decode_event(record: StoredEvent) -> Any:
    """Rebuild the typed event of a stored record, upgrading old schema versions first."""
    kind = record.type
    entry = _by_name.get(kind)
    if entry is None:
        raise CorruptLogError(f"event {record.thread_id}#{record.seq} has unknown type {kind!r}")
    try:
        data = orjson.loads(record.payload)  # jsonio.loads, inlined: one call less per event read
    except orjson.JSONDecodeError as exc:
        raise CorruptLogError(f"event {record.thread_id}#{record.seq}: payload is not valid JSON: {exc}") from None
    if type(data) is not dict:
        raise CorruptLogError(f"event {record.thread_id}#{record.seq} payload is not a JSON object")
    version = record.schema_version
    if version > entry.version:
        raise CorruptLogError(
            f"event {record.thread_id}#{record.seq} has schema version {version}, newer than this "
            f"code's {entry.version} for {record.type!r}"
        )
    while version < entry.version:
        upcast = _upcasters.get((record.type, version))
        if upcast is None:
            raise CorruptLogError(f"no upcaster for {record.type!r} from schema version {version}")
        try:
            data = upcast(data)
        except Exception as exc:  # a payload the upcaster cannot read is a corrupt one, never a crash
            raise CorruptLogError(
                f"event {record.thread_id}#{record.seq} ({record.type}) cannot be upgraded from schema "
                f"version {version}: {exc!r}"
            ) from None
        if type(data) is not dict:
            raise CorruptLogError(f"the upcaster of {record.type!r} from version {version} did not return a dict")
        version += 1
    try:
        return (_hooks.get(kind) or _structure_hook(entry))(data, entry.cls)
    except SerializationError:
        raise
    except CorruptLogError as exc:
        raise CorruptLogError(f"event {record.thread_id}#{record.seq}: {exc}") from None
    except Exception as exc:
        raise CorruptLogError(
            f"event {record.thread_id}#{record.seq} ({record.type}) cannot be decoded: {exc}"
        ) from None
