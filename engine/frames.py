"""Frames as snapshot payloads: a derived cache beside the log, checked against the graph that made it.

A snapshot holds the fold of a thread up to one checkpoint. It depends on the
graph's channels and reducers, so each carries a fingerprint of them; a
snapshot made by a different graph is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from typing import Any

from engine.channels import Channel, Reducer
from engine.events import SendPacket
from engine.planning import Frame
from eventstore import CorruptLogError, SerializationError, decode_value, encode_value, jsonio

FORMAT = 1


def fingerprint(channels: Mapping[str, Channel], joins: Mapping[str, tuple[frozenset[str], str]]) -> str:
    """What a frame's meaning depends on: each key's channel kind and reducer, and the join edges."""
    parts = []
    for key in sorted(channels):
        channel = channels[key]
        if isinstance(channel, Reducer):
            reducer = channel.reducer
            name = f"{getattr(reducer, '__module__', '')}.{getattr(reducer, '__qualname__', repr(reducer))}"
            parts.append(f"{key}=reduce:{name}")
        else:
            parts.append(f"{key}=last")
    parts.extend(f"join:{key}" for key in sorted(joins))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


COMPRESS_ABOVE = 2048
_COMPRESSED = b"z"


def encode_frame(frame: Frame, graph_fingerprint: str) -> tuple[bytes, int]:
    """A frame as snapshot bytes (compressed when large) and its size before compression.

    Raises ``SerializationError`` if the frame holds a value the log could not.
    """
    raw = _frame_json(frame, graph_fingerprint)
    if len(raw) > COMPRESS_ABOVE:
        return _COMPRESSED + zlib.compress(raw, 1), len(raw)
    return raw, len(raw)


def _frame_json(frame: Frame, graph_fingerprint: str) -> bytes:
    return jsonio.dumps(
        {
            "format": FORMAT,
            "graph": graph_fingerprint,
            "step": frame.step,
            "values": encode_value(dict(frame.values), "snapshot values"),
            "pull": list(frame.pull),
            "push": [[p.node, encode_value(p.arg, "snapshot send")] for p in frame.push],
            "joins": {key: sorted(seen) for key, seen in frame.joins.items()},
            "has_input": frame.has_input,
            "start_input": encode_value(frame.start_input, "snapshot input"),
        }
    )


def decode_frame(payload: bytes, graph_fingerprint: str) -> Frame | None:
    """The frame in a snapshot, or None if it was made by another graph or format, or is malformed.

    A snapshot is only a cache: one that cannot be trusted is ignored and the
    state is folded from the events instead.
    """
    try:
        if payload.startswith(_COMPRESSED):
            payload = zlib.decompress(payload[1:])
        data: Any = jsonio.loads(payload)
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("graph") != graph_fingerprint:
            return None
        values = decode_value(data["values"])
        pull, push, joins = data["pull"], data["push"], data["joins"]
        well_formed = (
            isinstance(values, dict)
            and all(type(key) is str for key in values)
            and _strings(pull)
            and isinstance(push, list)
            and all(isinstance(p, list) and len(p) == 2 and type(p[0]) is str for p in push)
            and isinstance(joins, dict)
            and all(_strings(seen) for seen in joins.values())
            and type(data["step"]) is int
            and type(data["has_input"]) is bool
        )
        if not well_formed:
            return None
        return Frame(
            values=values,
            pull=tuple(pull),
            push=tuple(SendPacket(node=node, arg=decode_value(arg)) for node, arg in push),
            joins={key: frozenset(seen) for key, seen in joins.items()},
            has_input=data["has_input"],
            start_input=decode_value(data["start_input"]),
            step=data["step"],
        )
    except (CorruptLogError, SerializationError, KeyError, TypeError, ValueError, AttributeError, zlib.error):
        return None


def _strings(items: Any) -> bool:
    return isinstance(items, list) and all(type(item) is str for item in items)
