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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from eventstore.record_hooks import fills_slots

T = TypeVar("T", bound=type)

ATTRS_INITS: dict[type, Callable[..., None]] = {}
"""The ``__init__`` attrs generated for each class ``slot_init`` changed (what a test compares against)."""


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
    generated = vars(cls)["__init__"]
    init = namespace["__init__"]
    init.__annotations__ = dict(generated.__annotations__)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = generated.__doc__
    ATTRS_INITS[cls] = generated
    setattr(cls, "__init__", init)  # noqa: B010  # mypy refuses assigning a class's __init__
    return cls
