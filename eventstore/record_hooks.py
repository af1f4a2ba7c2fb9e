"""Structure hooks for the frozen records of event payloads, which fill a record's slots directly.

Reading a thread decodes every event, and a frozen attrs ``__init__`` sets each
field through ``object.__setattr__``: for the records of one history checkpoint
that was a tenth of the read. The hook made here takes each field from the
payload with the converter's own hook for the field's type, exactly as the
cattrs-generated one does, and stores it in the record's slot (it also refuses
a record that is not a JSON object, which cattrs' hook reads as all defaults).
It is made only for a class whose ``__init__`` would add nothing: slotted, with
no slot but its fields' (no cached hash), every field in ``__init__`` under its
own name, no validators or converters, no ``__attrs_pre_init__`` or
``__attrs_post_init__``; any other class keeps the converter's usual hook.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

StructureHook = Callable[[Any, Any], Any]
HookFor = Callable[[Any], StructureHook]

_CALLS_THE_TYPE = getattr(cattrs.BaseConverter, "_structure_call", None)
"""cattrs' hook for ``str``, ``int``, ``float`` and ``bool``: ``cl(obj)`` (if cattrs renames it, the hook is called)."""


def fills_slots(cls: type[Any]) -> bool:
    """Whether ``cls``'s ``__init__`` only stores its arguments (and defaults) in slots."""
    if not attrs.has(cls) or "__slots__" not in vars(cls):
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    fields = attrs.fields(cls)
    if set(vars(cls)["__slots__"]) - {field.name for field in fields} - {"__weakref__"}:
        return False  # a slot ``__init__`` fills that is no field (attrs' cached hash)
    return all(
        field.init
        and field.alias == field.name
        and field.validator is None
        and field.converter is None
        and isinstance(getattr(cls, field.name, None), types.MemberDescriptorType)
        for field in fields
    )


def slot_structure_hook(
    cls: type[Any], hook_for: HookFor, keys: Mapping[str, str] | None = None, *, array: bool = False
) -> StructureHook:
    """A hook turning a payload into a ``cls`` record (``fills_slots(cls)`` must hold).

    The payload is a dict with a key per field (``keys`` maps a field's name to
    its key where they differ), or with ``array`` a list of every field's value
    in field order. ``hook_for(type)`` is the converter's structure hook for a
    field's type; where that hook only calls the type (``str``, ``int``,
    ``float``, ``bool``), the type is called directly, as cattrs' generated hooks
    do. Fields are filled in order, so a default made from the record sees the
    fields before it, as in ``__init__``. A missing field without a default
    raises ``KeyError``, a payload of the wrong shape ``TypeError``; the codec
    reports either as a corrupt event.
    """
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_dict": dict, "_list": list}
    if array:
        lines = [
            "def structure(o, _=None):",
            f"    if type(o) is not _list or len(o) != {len(fields)}:",
            f"        raise TypeError(f'{cls.__qualname__} must be a JSON array of {len(fields)} items, "
            "not {o!r:.80}')",
            "    r = _new(_cls)",
        ]
    else:
        lines = [
            "def structure(o, _=None):",
            "    if type(o) is not _dict:",
            f"        raise TypeError(f'{cls.__qualname__} must be a JSON object, not {{type(o).__name__}}')",
            "    r = _new(_cls)",
        ]
    for i, field in enumerate(fields):
        namespace[f"_set{i}"] = getattr(cls, field.name).__set__
        namespace[f"_type{i}"] = field.type
        key = repr(i if array else (keys or {}).get(field.name, field.name))
        hook = hook_for(field.type)
        if hook is _CALLS_THE_TYPE:
            taken = f"_type{i}(o[{key}])"
        else:
            namespace[f"_hook{i}"] = hook
            taken = f"_hook{i}(o[{key}], _type{i})"
        default = field.default
        if default is attrs.NOTHING or array:
            lines.append(f"    _set{i}(r, {taken})")
            continue
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # a class at runtime
            namespace[f"_default{i}"] = default.factory
            made = f"_default{i}(r)" if default.takes_self else f"_default{i}()"
        else:
            namespace[f"_default{i}"] = default
            made = f"_default{i}"
        lines.append(f"    _set{i}(r, {taken} if {key} in o else {made})")
    lines.append("    return r")
    exec(compile("\n".join(lines), f"<ledgergraph structure hook for {cls.__qualname__}>", "exec"), namespace)
    structure: StructureHook = namespace["structure"]
    return structure
