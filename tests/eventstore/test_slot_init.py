"""``slot_init`` builds exactly the record attrs' own ``__init__`` builds, and refuses classes where it could not."""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine  # noqa: F401  # imports every module whose records are decorated
from eventstore import maker, slot_init
from eventstore.slot_init import ATTRS_INITS

DECORATED = sorted(ATTRS_INITS, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.just(()),
    lambda inner: st.lists(inner, max_size=3).map(tuple) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)


def built_by(init: Any, cls: type[Any], arguments: dict[str, Any]) -> tuple[str, Any]:
    """``cls`` built through ``init``, or the type of the error it raised."""
    record = object.__new__(cls)
    try:
        init(record, **arguments)
    except Exception as exc:
        return "raised", type(exc)
    return "built", record


@st.composite
def arguments(draw: st.DrawFn, cls: type[Any]) -> dict[str, Any]:
    """Keyword arguments for ``cls``: each field given or left to its default; now and then a required one left out."""
    given_: dict[str, Any] = {}
    for field in attrs.fields(cls):
        required = field.default is attrs.NOTHING
        if draw(st.integers(0, 9)) < (1 if required else 5):
            continue
        given_[field.name] = draw(anything)
    return given_


def test_the_engines_hot_records_are_decorated() -> None:
    names = {cls.__qualname__ for cls in DECORATED}
    assert {"Frame", "CheckpointRecord", "TaskCompleted", "CheckpointCommitted", "TaskRef", "Write"} <= names


@pytest.mark.parametrize("cls", DECORATED, ids=lambda cls: cls.__qualname__)
def test_the_new_init_has_the_signature_attrs_generated(cls: type[Any]) -> None:
    assert inspect.signature(cls.__init__) == inspect.signature(ATTRS_INITS[cls])
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


@given(data=st.data())
def test_the_new_init_builds_what_the_attrs_init_builds(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(DECORATED))
    given_ = data.draw(arguments(cls))
    ours, theirs = built_by(cls.__init__, cls, given_), built_by(ATTRS_INITS[cls], cls, given_)
    assert ours[0] == theirs[0]
    if ours[0] == "raised":
        assert ours[1] is theirs[1]
        return
    mine, reference = ours[1], theirs[1]
    assert mine == reference
    assert repr(mine) == repr(reference)
    assert attrs.asdict(mine, recurse=False) == attrs.asdict(reference, recurse=False)
    for field in attrs.fields(cls):  # the very objects given, and a plain default shared, as in attrs
        if field.name in given_ or not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            assert getattr(mine, field.name) is getattr(reference, field.name)


@pytest.mark.parametrize("cls", DECORATED, ids=lambda cls: cls.__qualname__)
def test_a_maker_has_the_parameters_of_the_class(cls: type[Any]) -> None:
    assert inspect.signature(maker(cls)).parameters == inspect.signature(cls).parameters


@given(data=st.data())
def test_a_maker_makes_what_calling_the_class_makes(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(DECORATED))
    given_ = data.draw(arguments(cls))
    outcomes = []
    for make in (cls, maker(cls)):
        try:
            outcomes.append(("built", make(**given_)))
        except Exception as exc:
            outcomes.append(("raised", type(exc)))
    (kind, ours), (theirs_kind, theirs) = outcomes[1], outcomes[0]
    assert kind == theirs_kind
    if kind == "built":
        assert type(ours) is cls and ours == theirs and repr(ours) == repr(theirs)
        for field in attrs.fields(cls):  # the very objects given, and a plain default shared, as in attrs
            if field.name in given_ or not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                assert getattr(ours, field.name) is getattr(theirs, field.name)
    else:
        assert ours is theirs


def test_a_maker_is_only_for_classes_slot_init_changed() -> None:
    @attrs.frozen
    class Plain:
        value: int

    with pytest.raises(TypeError, match="decorated with slot_init"):
        maker(Plain)


def test_a_factory_that_takes_self_sees_the_fields_before_it() -> None:
    from engine.events import TaskRef

    assert TaskRef(id="t", name="grow").path == ("__pregel_pull", "grow")
    assert TaskRef(id="t", name="grow", path=("__pregel_push", 0)).path == ("__pregel_push", 0)


def test_records_stay_frozen_and_say_which_argument_is_missing() -> None:
    from engine.events import Write

    record = Write(key="k", value=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="value"):
        Write(key="k")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        Write(key="k", value=1, nope=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Write("k", 1)  # type: ignore[misc]


def test_positional_records_keep_positional_parameters() -> None:
    @slot_init
    @attrs.frozen
    class Point:
        x: int
        y: int = 0
        tags: list[str] = attrs.Factory(list)

    assert Point(1) == Point(x=1, y=0, tags=[])
    assert Point(1, 2, ["a"]).tags == ["a"]
    assert Point(1).tags is not Point(1).tags  # a factory runs per record


def refused(**field_options: Any) -> type[Any]:
    @attrs.frozen
    class Record:
        value: int = attrs.field(**field_options)

    return Record


@pytest.mark.parametrize(
    "cls",
    [
        refused(validator=attrs.validators.instance_of(int)),
        refused(converter=int),
        refused(alias="other"),
        refused(init=False, default=0),
        attrs.frozen(cache_hash=True)(type("Hashed", (), {"__annotations__": {"value": "int"}})),
        attrs.frozen(slots=False)(type("Unslotted", (), {"__annotations__": {"value": "int"}})),
        type("Plain", (), {"__slots__": ("value",)}),
    ],
    ids=["validator", "converter", "alias", "init=False", "cached hash", "no slots", "not attrs"],
)
def test_a_class_whose_init_does_more_than_store_is_refused(cls: type[Any]) -> None:
    with pytest.raises(TypeError, match=f"slot_init cannot be used on {cls.__qualname__}"):
        slot_init(cls)


def test_a_post_init_hook_is_refused_not_skipped() -> None:
    @attrs.frozen
    class Audited:
        value: int

        def __attrs_post_init__(self) -> None:
            raise AssertionError("post-init must run")

    with pytest.raises(TypeError, match="pre/post-init"):
        slot_init(Audited)


def test_mixed_keyword_only_and_positional_fields_are_refused() -> None:
    @attrs.frozen
    class Mixed:
        first: int
        second: int = attrs.field(kw_only=True)

    with pytest.raises(TypeError, match="mixes keyword-only and positional"):
        slot_init(Mixed)


def test_a_mutable_class_is_refused_its_own_init_is_quicker() -> None:
    @attrs.define
    class Mutable:
        value: int

    with pytest.raises(TypeError, match="it is not frozen"):
        slot_init(Mutable)
