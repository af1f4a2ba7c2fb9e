"""The engines under test, each as the handful of names a graph program imports.

A workload is written once against an ``Engine``; only the names differ. The
ledgergraph engines are ``engine.SqliteSaver(path, synchronous=...)``; LangGraph
is ``langgraph`` with ``langgraph-checkpoint-sqlite``'s ``SqliteSaver`` on a
file, as its documentation sets it up (SQLite's default ``synchronous=FULL``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Engine:
    """What a graph program imports from one engine, plus how to open and measure its saver."""

    label: str
    StateGraph: Any
    START: str
    END: str
    interrupt: Callable[[Any], Any]
    Command: Any
    Send: Any
    open_saver: Callable[[Path], Any]
    close_saver: Callable[[Any], None]
    payload_bytes: Callable[[Path], int]
    """The sum of the stored payload lengths (state and events as the engine serialized them)."""
    is_ours: bool
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments every ``invoke``/``stream`` call gets (ours with ``durability="async"``)."""


def file_bytes(path: Path) -> int:
    """The database file plus its WAL after ``PRAGMA wal_checkpoint(TRUNCATE)``: what the data costs on disk."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _sum_lengths(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return sum(int(conn.execute(part).fetchone()[0] or 0) for part in sql.split(";") if part.strip())
    finally:
        conn.close()


def _stored_int_bytes(column: str) -> str:
    """SQL for the bytes SQLite's record format spends on an INTEGER value (not its text form's length)."""
    return (
        f"CASE WHEN {column} IN (0, 1) THEN 0 WHEN {column} BETWEEN -128 AND 127 THEN 1 "
        f"WHEN {column} BETWEEN -32768 AND 32767 THEN 2 WHEN {column} BETWEEN -8388608 AND 8388607 THEN 3 "
        f"WHEN {column} BETWEEN -2147483648 AND 2147483647 THEN 4 "
        f"WHEN {column} BETWEEN -140737488355328 AND 140737488355327 THEN 6 ELSE 8 END"
    )


def ledgergraph(synchronous: str, durability: str = "sync") -> Engine:
    import engine

    def open_saver(path: Path) -> Any:
        return engine.SqliteSaver(path, synchronous=synchronous)

    def payload_bytes(path: Path) -> int:
        # The payload text, the 32-byte hash blob, and the timestamp and type code as the integers stored.
        stored = (
            f"length(CAST(payload AS BLOB)) + length(hash) + {_stored_int_bytes('recorded_at')} "
            f"+ {_stored_int_bytes('type')}"
        )
        return _sum_lengths(
            path,
            f"SELECT sum({stored}) FROM events;SELECT sum(length(CAST(payload AS BLOB))) FROM snapshots",
        )

    return Engine(
        label=f"ours {synchronous}" + (f" {durability}" if durability != "sync" else ""),
        StateGraph=engine.StateGraph,
        START=engine.START,
        END=engine.END,
        interrupt=engine.interrupt,
        Command=engine.Command,
        Send=engine.Send,
        open_saver=open_saver,
        close_saver=lambda saver: saver.close(),
        payload_bytes=payload_bytes,
        is_ours=True,
        options={} if durability == "sync" else {"durability": durability},
    )


def langgraph() -> Engine:
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command, Send, interrupt
    except ImportError as exc:
        raise SystemExit(
            f"LangGraph is not installed ({exc}); install the benchmark extra: pip install -e '.[bench]'"
        ) from None

    def open_saver(path: Path) -> Any:
        saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
        saver.setup()  # it would on first use; done here so an empty database has its schema
        return saver

    def payload_bytes(path: Path) -> int:
        return _sum_lengths(
            path,
            "SELECT sum(length(checkpoint) + length(metadata)) FROM checkpoints;SELECT sum(length(value)) FROM writes",
        )

    return Engine(
        label="LangGraph",
        StateGraph=StateGraph,
        START=START,
        END=END,
        interrupt=interrupt,
        Command=Command,
        Send=Send,
        open_saver=open_saver,
        close_saver=lambda saver: saver.conn.close(),
        payload_bytes=payload_bytes,
        is_ours=False,
    )


def langgraph_version() -> str:
    from importlib.metadata import version

    try:
        return f"langgraph {version('langgraph')}, langgraph-checkpoint-sqlite {version('langgraph-checkpoint-sqlite')}"
    except Exception:  # pragma: no cover - only for the banner
        return "langgraph (version unknown)"


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
