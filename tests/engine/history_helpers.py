"""Helpers the time-travel and fork tests share: checkpoint ids, history lists, raw event rows."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from engine import CompiledStateGraph, StateSnapshot


def checkpoint_id(snapshot_or_config: StateSnapshot | dict[str, Any]) -> str:
    config = snapshot_or_config.config if isinstance(snapshot_or_config, StateSnapshot) else snapshot_or_config
    return str(config["configurable"]["checkpoint_id"])


def history(graph: CompiledStateGraph, config: dict[str, Any], **kwargs: Any) -> list[StateSnapshot]:
    return list(graph.get_state_history(config, **kwargs))


def event_rows(path: Path, thread_id: str) -> list[tuple[Any, ...]]:
    """The raw rows a thread stored itself, read past our store through a separate connection."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(
            "SELECT * FROM events WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) ORDER BY seq",
            (thread_id,),
        ).fetchall()
