"""A quicker ``__init__`` for frozen attrs records whose ``__init__`` only stores its arguments.

A frozen attrs class refuses ``setattr``, so its generated ``__init__`` stores
each field through ``object.__setattr__``, which looks the field up by name.
A superstep makes about fifteen such records and a history checkpoint a few:
storing each field through its slot's descriptor instead does the same in 60%
of the time (about 4% of a superstep). ``slot_init`` gives a class that
``__init__``: the same parameters, defaults, factories and annotations. It
refuses a class whose ``__init__`` does more than store (a validator, a
converter, a pre- or post-init hook, a cached hash): adding one of those to a
decorated class fails at import instead of being silently skipped.

Calling a class with keyword arguments costs more again: Python packs them
into a dict to hand to ``__init__``. ``maker(cls)`` is a function with the same
parameters that makes the same record without that (a third quicker); the
records every superstep makes are made with it (about 5% of a superstep).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

import attrs

from eventstore.record_hooks import fills_slots

T = TypeVar("T", bound=type)
P = ParamSpec("P")
R = TypeVar("R")

ATTRS_INITS: dict[type, Callable[..., None]] = {}
"""The ``__init__`` attrs generated for each class ``slot_init`` changed (what a test compares against)."""
MAKERS: dict[type, Callable[..., Any]] = {}
"""For each class ``slot_init`` changed, the function ``maker`` returns."""


def slot_init(cls: T) -> T:
    """Class decorator, outside ``@attrs.frozen``: replace the attrs ``__init__`` with one that fills slots."""
    if not fills_slots(cls):
        raise TypeError(
            f"slot_init cannot be used on {cls.__qualname__}: it needs a slotted attrs class whose __init__ only "
            "stores its arguments (no validators, converters, aliases, init=False fields, pre/post-init or cached hash)"
        )
    if vars(object)["__setattr__"] is getattr(cls, "__setattr__"):  # noqa: B009  # mypy: a class, not an instance
        raise TypeError(
            f"slot_init is not for {cls.__qualname__}: it is not frozen, and attrs' own __init__ for a mutable "
            "class assigns attributes directly, which is quicker"
        )
    fields = attrs.fields(cls)
    keyword_only = {field.kw_only for field in fields}
    if len(keyword_only) > 1:
        raise TypeError(f"slot_init cannot be used on {cls.__qualname__}: it mixes keyword-only and positional fields")
    namespace: dict[str, Any] = {"_NOTHING": attrs.NOTHING}
    parameters = ["self", "*"] if keyword_only == {True} else ["self"]
    body = []
    for i, field in enumerate(fields):
        namespace[f"_set{i}"] = getattr(cls, field.name).__set__
        default = field.default
        if default is attrs.NOTHING:
            parameters.append(field.name)
            body.append(f"    _set{i}(self, {field.name})")
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # a class at runtime
            namespace[f"_factory{i}"] = default.factory
            made = f"_factory{i}(self)" if default.takes_self else f"_factory{i}()"
            parameters.append(f"{field.name}=_NOTHING")
            body.append(f"    _set{i}(self, {made} if {field.name} is _NOTHING else {field.name})")
        else:
            namespace[f"_default{i}"] = default
            parameters.append(f"{field.name}=_default{i}")
            body.append(f"    _set{i}(self, {field.name})")
    source = f"def __init__({', '.join(parameters)}):\n" + "\n".join(body or ["    pass"])
    exec(compile(source, f"<ledgergraph slot __init__ for {cls.__qualname__}>", "exec"), namespace)
    namespace["_new"], namespace["_cls"] = object.__new__, cls
    make = f"def make({', '.join(parameters[1:])}):\n    self = _new(_cls)\n" + "\n".join(body) + "\n    return self"
    exec(compile(make, f"<ledgergraph maker for {cls.__qualname__}>", "exec"), namespace)
    generated = vars(cls)["__init__"]
    init = namespace["__init__"]
    init.__annotations__ = dict(generated.__annotations__)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = generated.__doc__
    make_record = namespace["make"]
    make_record.__annotations__ = {name: kind for name, kind in generated.__annotations__.items() if name != "return"}
    make_record.__qualname__ = f"maker({cls.__qualname__})"
    make_record.__module__ = cls.__module__
    MAKERS[cls] = make_record
    ATTRS_INITS[cls] = generated
    setattr(cls, "__init__", init)  # noqa: B010  # mypy refuses assigning a class's __init__
    return cls


def maker(cls: Callable[P, R]) -> Callable[P, R]:
    """A function that makes ``cls``'s records as calling ``cls`` does, with the same parameters, a third faster.

    Calling a class with keyword arguments packs them into a dict for its
    ``__init__``; this function takes them as a plain call does. For the few
    records a superstep makes on every step; anything else calls the class.
    """
    made = MAKERS.get(cast(type, cls))
    if made is None:
        raise TypeError(f"maker needs a class decorated with slot_init, not {cls!r}")
    return cast(Callable[P, R], made)
