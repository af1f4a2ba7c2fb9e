"""What projections fold: the log's events, decoded the same way in every process, and thread forks.

Events are decoded with ``eventstore.decode_event`` after one twist: values of
user classes (attrs classes, dataclasses, enums, registered types) are read as
plain data (``{"__type__": name, ...fields}``) instead of being rebuilt. A
projection's tables therefore never depend on which classes the process that
built them happened to import, and the CLI can fold any application's log
without its code. Values reach tables as JSON text (``display_json``).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import orjson

import engine.events as ev
from eventstore import EventRecord, decode_event

TAG = "__lg__"
_USER_TAGS = ("obj", "enum", "custom")
_RUN_ONLY = ("source", "step", "parents")


@attrs.frozen(kw_only=True)
class LoggedEvent:
    """One event of the log: where it sits and what it says.

    ``thread_id`` is the thread the event belongs to; for the inherited prefix of
    a fork (see ``ThreadForked``) it is the fork's id, not the parent's.
    ``event`` is one of ``engine.events``' records, or None for an event type
    that is not the engine's (projections skip those).
    """

    thread_id: str
    seq: int
    position: int
    type: str
    recorded_at: str
    event: Any


@attrs.frozen(kw_only=True)
class ThreadForked:
    """A thread was forked from ``parent_thread_id`` after its event ``parent_seq``; it copies no events.

    ``inherited`` is the fork's first ``parent_seq`` events (read from its
    lineage), labelled with the fork's thread id, for projections whose rows
    describe a thread as of its head.
    """

    thread_id: str
    parent_thread_id: str
    parent_seq: int
    created_at: str
    inherited: tuple[LoggedEvent, ...]


Fact = LoggedEvent | ThreadForked
"""What a projection's ``apply`` receives: an event, or the registration of a fork."""


def logged_event(record: EventRecord, thread_id: str | None = None) -> LoggedEvent:
    """Decode a stored record (labelled ``thread_id`` if given); unknown event types decode to None."""
    return LoggedEvent(
        thread_id=thread_id if thread_id is not None else record.thread_id,
        seq=record.seq,
        position=record.position,
        type=record.type,
        recorded_at=record.recorded_at,
        event=decode_plain(record) if record.type in ev.EVENT_TYPES else None,
    )


def decode_plain(record: EventRecord) -> Any:
    """``decode_event``, with values of user classes kept as plain data (deterministic in any process)."""
    if b'"__lg__"' not in record.payload:
        return decode_event(record)
    data = orjson.loads(record.payload)
    return decode_event(attrs.evolve(record, payload=orjson.dumps(_plain_tags(data))))


def _plain_tags(data: Any) -> Any:
    if isinstance(data, list):
        return [_plain_tags(item) for item in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(TAG)
    if tag == "obj" and isinstance(data.get("fields"), dict):
        return {"__type__": data.get("type"), **{k: _plain_tags(v) for k, v in data["fields"].items()}}
    if tag in _USER_TAGS:
        return {"__type__": data.get("type"), "value": _plain_tags(data.get("v"))}
    return {key: _plain_tags(value) for key, value in data.items()}


def plain(value: Any) -> Any:
    """A JSON-ready rendering of a decoded value: tuples and sets as lists, dates as ISO text, and so on."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else _key(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=lambda v: orjson.dumps(v))
    if isinstance(value, (bytes, bytearray)):
        return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, (dt.timedelta, decimal.Decimal, uuid.UUID)):
        return str(value)
    if attrs.has(type(value)):
        return {"__type__": type(value).__qualname__, **plain(attrs.asdict(value, recurse=False))}
    return repr(value)


def _key(key: Any) -> str:
    rendered = plain(key)
    return rendered if isinstance(rendered, str) else orjson.dumps(rendered).decode()


def display_json(value: Any) -> str:
    """A value as the JSON text projections store (see ``plain``)."""
    return orjson.dumps(plain(value)).decode()


def run_metadata(metadata: Any) -> dict[str, Any]:
    """The caller's run metadata (``config["metadata"]`` and scalar ``configurable`` keys) of a checkpoint."""
    if not isinstance(metadata, Mapping):
        return {}
    return {str(k): v for k, v in metadata.items() if k not in _RUN_ONLY}


def actor_json(actor: Any) -> str | None:
    """Run metadata as JSON text, or None when the run carried none."""
    meta = run_metadata(actor)
    return display_json(meta) if meta else None


def user_of(actor: Any) -> str | None:
    """The ``user`` entry of run metadata, as text, when there is one."""
    if isinstance(actor, Mapping) and actor.get("user") is not None:
        return str(actor["user"])
    return None


def written_keys(writes: Iterable[ev.Write]) -> list[str]:
    """The state keys a set of writes touches, in first-written order, once each."""
    return list(dict.fromkeys(write.key for write in writes))
