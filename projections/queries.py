"""Reading the built-in read models: every call catches its projection up with the log first.

Rows come back as dicts with JSON columns (``next``, ``keys``, ``actor``,
``value``, ``answer``...) decoded, ready for ``--json`` or a table.
"""

from __future__ import annotations

import json
from typing import Any

from projections.ledger import Ledger

_JSON_COLUMNS = frozenset(
    {"next", "pending_interrupts", "failed_tasks", "task_path", "value", "actor", "keys", "question", "answer"}
)


def _rows(ledger: Ledger, projection: str, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    ledger.runner.catch_up(projection)
    rows = []
    for row in ledger.runner.db.query(sql, params or []):
        rows.append(
            {key: json.loads(v) if key in _JSON_COLUMNS and isinstance(v, str) else v for key, v in row.items()}
        )
    return rows


def list_threads(ledger: Ledger, *, status: str | None = None) -> list[dict[str, Any]]:
    """Every thread (optionally only those with ``status``), oldest first."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    sql = f"SELECT * FROM threads {where} ORDER BY created_at, thread_id"
    rows = _rows(ledger, "threads", sql, params)
    for row in rows:
        row["paused"] = bool(row["paused"])
    return rows


def pending_interrupts(ledger: Ledger) -> list[dict[str, Any]]:
    """What waits for a human, across every thread, longest waiting first."""
    return _rows(ledger, "interrupt_inbox", "SELECT * FROM interrupt_inbox ORDER BY since, thread_id, interrupt_id")


def audit_trail(ledger: Ledger, thread_id: str | None = None) -> list[dict[str, Any]]:
    """Every state change, resume and manual edit; for one thread, its lineage's (a fork's parent prefix first)."""
    if thread_id is None:
        return _rows(ledger, "audit_trail", "SELECT * FROM audit_trail ORDER BY position, part")
    clauses, params = lineage_filter(ledger, thread_id)
    sql = f"SELECT * FROM audit_trail WHERE {clauses} ORDER BY position, part"
    return _rows(ledger, "audit_trail", sql, params)


def lineage_filter(ledger: Ledger, thread_id: str) -> tuple[str, list[Any]]:
    """SQL matching rows of a thread's own events and of its ancestors' events up to each fork point."""
    clauses: list[str] = []
    params: list[Any] = []
    limit: int | None = None
    current: str | None = thread_id
    while current is not None:
        info = ledger.thread(current)
        if limit is None:
            clauses.append("(thread_id = ?)")
            params.append(current)
        else:
            clauses.append("(thread_id = ? AND seq <= ?)")
            params.extend([current, limit])
        if info.parent_seq is not None:
            limit = info.parent_seq if limit is None else min(limit, info.parent_seq)
        current = info.parent_thread_id
    return " OR ".join(clauses), params


def node_stats(ledger: Ledger) -> list[dict[str, Any]]:
    """Per node: runs, failures, interrupts, total and p95 duration; the slowest (p95) first."""
    return _rows(ledger, "node_stats", "SELECT * FROM node_stats ORDER BY p95_ms DESC, node")
