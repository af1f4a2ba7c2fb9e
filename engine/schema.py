"""Reading a state schema (TypedDict, dataclass or attrs class) into channels, and back into objects."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import attrs

from engine.channels import MISSING, Channel, LastValue, Reducer
from engine.detach import detached, detached_values
from engine.errors import InvalidUpdateError
from eventstore import register_schema_types
from eventstore.values import is_pydantic_model


class StateSchema:
    """The keys of a graph's state, their channels, and how nodes see the state."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.kind = _kind(schema)
        try:
            hints = typing.get_type_hints(schema, include_extras=True)
        except Exception as exc:
            raise TypeError(f"cannot read the type hints of state schema {schema!r}: {exc}") from exc
        if self.kind == "dataclass":
            names = [f.name for f in dataclasses.fields(schema)]
        elif self.kind == "attrs":
            names = [f.name for f in attrs.fields(schema)]
        elif self.kind == "pydantic":
            names = list(schema.model_fields)
        else:
            names = list(hints)
        self.channels: dict[str, Channel] = {name: _channel(name, hints.get(name, Any)) for name in names}
        self.keys = frozenset(self.channels)
        register_schema_types(schema)
        for hint in hints.values():
            register_schema_types(hint)

    def initial_values(self) -> dict[str, Any]:
        """The values every new thread starts with: reducer keys at their empty value."""
        values: dict[str, Any] = {}
        for key, channel in self.channels.items():
            empty = channel.initial()
            if empty is not MISSING:
                values[key] = empty
        return values

    def as_node_input(self, values: Mapping[str, Any]) -> Any:
        """The state as a node receives it: a dict, or an instance of the dataclass/attrs/pydantic schema.

        A copy (``engine.detach``): what a node changes in place is not the thread's state.
        """
        if self.kind == "typeddict":
            return detached_values(values)
        present = {_init_name(self.schema, k): detached(v) for k, v in values.items() if k in self.channels}
        if self.kind == "pydantic":
            try:
                return self.schema(**present)  # validated, defaults for keys never written
            except ValueError:  # pydantic's ValidationError: required keys not written yet
                return self.schema.model_construct(**present)
        try:
            return self.schema(**present)  # keys never written take the class's defaults
        except TypeError:
            missing = {_init_name(self.schema, k): None for k in self.channels if k not in values}
            return self.schema(**missing, **present)

    def update_from(self, value: Any, where: str) -> dict[str, Any] | None:
        """A node's or caller's update as a dict of known keys; anything else is a clear error.

        Its values are copies (``engine.detach``): the caller may go on changing what it passed.
        """
        if value is None:
            return None
        if type(value) is dict or isinstance(value, Mapping):  # the usual dict skips the ABC check
            update = detached_values(value)
        elif self.kind != "typeddict" and isinstance(value, self.schema):
            update = detached(_object_fields(value))
        else:
            raise InvalidUpdateError(
                f"{where} must be a dict of state keys (or None), got {type(value).__qualname__}: {value!r:.200}"
            )
        if not self.keys.issuperset(update):
            unknown = [k for k in update if k not in self.keys]
            raise InvalidUpdateError(
                f"{where} wrote unknown state key(s) {sorted(map(str, unknown))}; the state has {sorted(self.keys)}"
            )
        return update


def _kind(schema: Any) -> str:
    if isinstance(schema, type) and attrs.has(schema):
        return "attrs"
    if isinstance(schema, type) and dataclasses.is_dataclass(schema):
        return "dataclass"
    if is_pydantic_model(schema):
        return "pydantic"
    if isinstance(schema, type) and typing.is_typeddict(schema):
        return "typeddict"
    if isinstance(schema, type) and hasattr(schema, "__annotations__"):
        return "typeddict"
    raise TypeError(f"state schema must be a TypedDict, dataclass, attrs class or pydantic model, not {schema!r}")


def _channel(key: str, hint: Any) -> Channel:
    if typing.get_origin(hint) is Annotated:
        base, *meta = typing.get_args(hint)
        reducer = next((m for m in reversed(meta) if callable(m) and _takes_two(m)), None)
        if reducer is not None:
            return Reducer(key, reducer, _empty_factory(base))
    return LastValue(key)


def _takes_two(fn: Callable[..., Any]) -> bool:
    if isinstance(fn, type):
        return False
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True  # builtins such as operator.add have no signature: they take two
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def _empty_factory(base: Any) -> Callable[[], Any] | None:
    origin = typing.get_origin(base) or base
    if not isinstance(origin, type):
        return None
    try:
        origin()
    except Exception:
        return None
    return typing.cast(Callable[[], Any], origin)


def _init_name(schema: type[Any], field: str) -> str:
    if attrs.has(schema):
        for f in attrs.fields(schema):
            if f.name == field:
                return str(f.alias or f.name)
    return field


def _object_fields(value: Any) -> dict[str, Any]:
    if is_pydantic_model(type(value)):
        return {name: getattr(value, name) for name in type(value).model_fields}
    if attrs.has(type(value)):
        return {f.name: getattr(value, f.name) for f in attrs.fields(type(value))}
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
