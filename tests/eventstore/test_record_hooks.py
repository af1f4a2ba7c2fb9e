"""Slot-filling structure hooks decode exactly what cattrs' own hooks decode, and only where that is safe."""

from __future__ import annotations

import typing
from typing import Any

import attrs
import cattrs.gen
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import EVENT_TYPES, PAYLOAD_KEYS, SCHEMA_VERSIONS, Routing, SendPacket, TaskRef, Write
from eventstore import CorruptLogError, EventRecord, Value, decode_event, encode_event, register_event
from eventstore.codec import converter
from eventstore.record_hooks import fills_slots
from eventstore.records import stored_record

HOOKED = [*EVENT_TYPES.values(), TaskRef, Write, Routing, SendPacket]
OBJECTS = [cls for cls in HOOKED if cls is not Write]
"""Records stored as JSON objects; a ``Write`` is a ``[key, value]`` array (``register_array_record``)."""
KEYS = {EVENT_TYPES[name]: keys for name, keys in PAYLOAD_KEYS.items()}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def reference_hook(cls: type[Any]) -> Any:
    """The hook cattrs itself generates for ``cls``, over the same converter's hooks for the field types."""
    renamed = {name: cattrs.gen.override(rename=key) for name, key in KEYS.get(cls, {}).items()}
    return cattrs.gen.make_dict_structure_fn(cls, converter, **renamed)


def well_typed(annotation: Any) -> st.SearchStrategy[Any]:
    """JSON for a field of this type, as the converter would have written it."""
    if annotation is Write:
        return st.tuples(st.text(max_size=8), json_values).map(list)
    if annotation in HOOKED:
        return payloads(annotation)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple:
        return st.lists(well_typed(args[0]), max_size=2)
    if args and typing.get_origin(annotation) is not typing.Annotated:  # a union
        return st.one_of([well_typed(arg) for arg in args])
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=8),
        int: st.integers(),
        float: st.floats(allow_nan=False),
        bool: st.booleans(),
        type(None): st.none(),
    }
    return scalars.get(annotation, json_values)  # a ``Value``: any JSON


@st.composite
def payloads(draw: st.DrawFn, cls: type[Any]) -> Any:
    """Payloads for ``cls``: mostly well typed, with a field now and then dropped or replaced; rarely anything."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    payload: dict[str, Any] = {}
    for field in attrs.fields(cls):
        choice = draw(st.integers(0, 19))
        if choice == 0:
            continue  # dropped: a default applies, or decoding fails
        key = KEYS.get(cls, {}).get(field.name, field.name)
        payload[key] = draw(json_values if choice == 1 else well_typed(field.type))
    return payload


def decoded(hook: Any, cls: type[Any], payload: Any) -> tuple[str, Any]:
    try:
        return "ok", hook(payload, cls)
    except Exception:
        return "error", None


@pytest.mark.parametrize("cls", HOOKED, ids=lambda cls: cls.__name__)
def test_the_engines_records_get_slot_filling_hooks(cls: type[Any]) -> None:
    assert fills_slots(cls)
    assert converter.get_structure_hook(cls).__code__.co_filename.startswith("<ledgergraph structure hook")


@pytest.mark.parametrize("cls", OBJECTS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_a_slot_filling_hook_decodes_what_cattrs_decodes_and_refuses_what_it_refuses(
    cls: type[Any], data: st.DataObject
) -> None:
    """Except that it also refuses a record that is not a JSON object (cattrs' hook reads a list as all defaults)."""
    payload = data.draw(payloads(cls))
    ours = decoded(converter.get_structure_hook(cls), cls, payload)
    if type(payload) is not dict:
        assert ours == ("error", None)
    else:
        assert ours == decoded(reference_hook(cls), cls, payload)


@given(payload=json_values | st.lists(json_values, max_size=4))
def test_an_array_record_decodes_its_fields_in_order_as_cattrs_decodes_them_by_name(payload: Any) -> None:
    """And refuses anything but an array of exactly one item per field."""
    ours = decoded(converter.get_structure_hook(Write), Write, payload)
    if type(payload) is list and len(payload) == 2:
        assert ours == decoded(reference_hook(Write), Write, {"key": payload[0], "value": payload[1]})
    else:
        assert ours == ("error", None)


def test_an_array_record_is_encoded_as_its_fields_in_order() -> None:
    assert converter.unstructure(Write(key="items", value=[1, "a"])) == ["items", [1, "a"]]


def test_a_default_made_from_the_record_sees_the_fields_before_it() -> None:
    ref = converter.structure({"id": "i", "name": "grow"}, TaskRef)
    assert ref == TaskRef(id="i", name="grow")
    assert ref.path == ("__pregel_pull", "grow")


def test_a_factory_default_is_made_afresh_for_each_record() -> None:
    first, second = (
        converter.structure({"id": "c", "step": 0, "parent_seq": None}, EVENT_TYPES["Checkpoint"]) for _ in range(2)
    )
    assert first.metadata == second.metadata == {}
    assert first.metadata is not second.metadata


def stored(type_name: str, payload: bytes) -> EventRecord:
    """Event 4 of thread ``t``, as the store reads it back (at the type's current schema version)."""
    return stored_record("t", 4, 4, type_name, SCHEMA_VERSIONS.get(type_name, 1), payload, "0" * 64, 0)


@pytest.mark.parametrize(
    ("type_name", "payload", "says"),
    [
        ("TaskCompleted", b'{"node": "n", "writes": [], "routing": {}, "ms": 1}', "from"),
        ("TaskCompleted", b'{"from": 1, "node": "n", "writes": [], "routing": [1], "ms": 1}', "Routing"),
        (
            "TaskFailed",
            b'{"checkpoint_seq": 1, "task": [1], "error_type": "E", "error_message": "", "duration_ms": 1}',
            "TaskRef",
        ),
    ],
)
def test_a_payload_missing_a_field_or_of_the_wrong_shape_is_a_corrupt_event_that_says_so(
    type_name: str, payload: bytes, says: str
) -> None:
    with pytest.raises(CorruptLogError, match=rf"t#4.*{says}"):
        decode_event(stored(type_name, payload))


@attrs.frozen(kw_only=True)
class Checked:
    """A validator and a converter: ``__init__`` does more than store, so cattrs' hook must be kept."""

    count: int = attrs.field(validator=attrs.validators.ge(0))
    label: str = attrs.field(converter=str.strip)


@attrs.frozen(kw_only=True)
class Audited:
    note: str

    def __attrs_post_init__(self) -> None:
        if not self.note:
            raise ValueError("an audited event needs a note")


@attrs.frozen(kw_only=True, slots=False)
class Plain:
    text: Value


@attrs.frozen(kw_only=True, cache_hash=True)
class Hashed:
    """Its ``__init__`` also clears a hidden slot for the cached hash."""

    key: str


register_event(Checked, "tests.record_hooks.Checked")
register_event(Audited, "tests.record_hooks.Audited")
register_event(Plain, "tests.record_hooks.Plain")
register_event(Hashed, "tests.record_hooks.Hashed")


@pytest.mark.parametrize("cls", [Checked, Audited, Plain, Hashed], ids=lambda cls: cls.__name__)
def test_a_class_whose_init_does_more_than_store_keeps_cattrs_hook(cls: type[Any]) -> None:
    assert not fills_slots(cls)
    assert not converter.get_structure_hook(cls).__code__.co_filename.startswith("<ledgergraph")


def test_its_validators_converters_and_post_init_still_run_on_decode() -> None:
    assert decode_event(stored("tests.record_hooks.Checked", b'{"count": 2, "label": " x "}')).label == "x"
    with pytest.raises(CorruptLogError, match="count"):
        decode_event(stored("tests.record_hooks.Checked", b'{"count": -1, "label": "x"}'))
    with pytest.raises(CorruptLogError, match="needs a note"):
        decode_event(stored("tests.record_hooks.Audited", b'{"note": ""}'))
    assert decode_event(stored("tests.record_hooks.Plain", orjson.dumps({"text": [1, 2]}))) == Plain(text=[1, 2])
    assert hash(decode_event(stored("tests.record_hooks.Hashed", b'{"key": "k"}'))) == hash(Hashed(key="k"))


@attrs.frozen(kw_only=True)
class Base:
    name: str


@attrs.frozen(kw_only=True)
class Derived(Base):
    extra: int


register_event(Base, "tests.record_hooks.Base")
register_event(Derived, "tests.record_hooks.Derived")


def test_a_subclass_of_a_hooked_record_decodes_with_its_own_fields() -> None:
    assert fills_slots(Base) and fills_slots(Derived)
    derived = Derived(name="n", extra=3)
    assert decode_event(stored("tests.record_hooks.Derived", encode_event(derived).payload)) == derived
    assert type(decode_event(stored("tests.record_hooks.Base", b'{"name": "n"}'))) is Base
