"""What the big-state workload's file would weigh per step if the log's rows were laid out otherwise.

    python tests/benchmarks/bench_bytes_what_if.py            # 1,000 steps of 200-byte items
    python tests/benchmarks/bench_bytes_what_if.py --steps 300

Issue 6 asks for at most 3x the bytes a step adds (600 B for a 200-byte item).
This runs the big-state workload once on ledgergraph, then copies its events,
one transaction per event as a log appends them, into plain SQLite tables of the
same shape with each payload rewritten: every row keeps its thread key, hash,
timestamp, type and sequence, so each line is an experiment on the encoding alone:

- as written: ledgergraph's own file (``TaskCompleted`` version 2:
  ``{"from":7,"node":"grow","writes":[["items",[...]]],"routing":{...},"ms":0.01}``);
- copied unchanged: the copy itself (checks the copy adds nothing);
- version 1's layout, as commit 94c4ef2 wrote it: the task's id stored in each
  completion, field names as keys, each write an object
  (``{"checkpoint_seq":7,"task":{"id":"<uuid>","name":"grow"},"writes":[{"key":...,"value":...}],...}``);
- one-letter keys in every payload (``{"f":7,"o":"grow",...}``);
- the same without snapshots (every read folds from the thread's start).

It is an experiment on copies, not a format ledgergraph writes.
"""

from __future__ import annotations

import argparse
import json
import operator
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from typing_extensions import TypedDict

from engine import END, START, SqliteSaver, StateGraph
from engine.events import task_id

Payload = dict[str, Any]
Rewrite = Callable[[str, Payload, dict[int, str]], Payload]

SHORT_KEYS = {
    "from": "f",
    "node": "o",
    "writes": "w",
    "routing": "r",
    "ms": "d",
    "id": "i",
    "step": "s",
    "parent_seq": "p",
    "applied": "a",
    "next": "n",
}


class Big(TypedDict):
    items: Annotated[list[str], operator.add]
    limit: int


def write_big_thread(path: Path, steps: int, item_bytes: int) -> None:
    """The benchmark's big-state run: one ``item_bytes`` item added per superstep, ``steps`` steps."""
    builder = StateGraph(Big)
    builder.add_node("grow", lambda state: {"items": ["x" * item_bytes]})
    builder.add_edge(START, "grow")
    builder.add_conditional_edges(
        "grow", lambda state: "grow" if len(state["items"]) < state["limit"] else END, ["grow", END]
    )
    saver = SqliteSaver(path)
    config = {"configurable": {"thread_id": "big"}, "recursion_limit": steps + 10}
    builder.compile(checkpointer=saver).invoke({"items": [], "limit": steps}, config)
    saver.close()


def file_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    return path.stat().st_size


def version_1(kind: str, payload: Payload, checkpoint_ids: dict[int, str]) -> Payload:
    """A completion as version 1 stored it: with its task's id (derived here), and writes as objects."""
    if kind != "TaskCompleted":
        return payload
    path = tuple(payload.get("path", ("__pregel_pull", payload["node"])))
    task: Payload = {"id": task_id(checkpoint_ids[payload["from"]], path), "name": payload["node"]}
    if "path" in payload:
        task["path"] = payload["path"]
    return {
        "checkpoint_seq": payload["from"],
        "task": task,
        "writes": [{"key": key, "value": value} for key, value in payload["writes"]],
        "routing": payload["routing"],
        "duration_ms": payload["ms"],
    }


def one_letter_keys(kind: str, payload: Payload, checkpoint_ids: dict[int, str]) -> Payload:
    return {SHORT_KEYS.get(key, key): value for key, value in payload.items()}


def unchanged(kind: str, payload: Payload, checkpoint_ids: dict[int, str]) -> Payload:
    return payload


def copy_log(source: Path, target: Path, rewrite: Rewrite, *, snapshots: bool) -> int:
    """Copy ``source``'s events (and snapshots) into fresh tables of the log's shape; the bytes they add."""
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE events (position INTEGER PRIMARY KEY, thread_key INTEGER NOT NULL, seq INTEGER NOT NULL, "
        "type INTEGER NOT NULL, schema_version INTEGER NOT NULL, payload TEXT NOT NULL, hash BLOB NOT NULL, "
        "recorded_at INTEGER NOT NULL)"
    )
    conn.execute("CREATE UNIQUE INDEX events_by_thread ON events (thread_key, seq)")
    conn.execute(
        "CREATE TABLE snapshots (thread_key INTEGER NOT NULL, seq INTEGER, payload BLOB NOT NULL, "
        "created_at TEXT NOT NULL, PRIMARY KEY (thread_key, seq))"
    )
    conn.close()
    empty = file_bytes(target)
    src = sqlite3.connect(source)
    kinds = dict(src.execute("SELECT code, name FROM event_types").fetchall())
    conn = sqlite3.connect(target, isolation_level=None)
    insert = (
        "INSERT INTO events (thread_key, seq, type, schema_version, payload, hash, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    checkpoint_ids: dict[int, str] = {}  # the workload's one thread: by sequence number
    for thread_key, seq, code, version, payload, digest, recorded in src.execute(
        "SELECT thread_key, seq, type, schema_version, payload, hash, recorded_at FROM events ORDER BY position"
    ):
        data = json.loads(payload)
        if kinds[code] == "Checkpoint":
            checkpoint_ids[seq] = data["id"]
        text = json.dumps(rewrite(kinds[code], data, checkpoint_ids), separators=(",", ":"), ensure_ascii=False)
        conn.execute(insert, (thread_key, seq, code, version, text, digest, recorded))
    if snapshots:
        for row in src.execute("SELECT thread_key, seq, payload, created_at FROM snapshots"):
            conn.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?)", row)
    conn.close()
    src.close()
    return file_bytes(target) - empty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--item-bytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        empty = root / "empty.db"
        SqliteSaver(empty).close()
        written = root / "big.db"
        write_big_thread(written, args.steps, args.item_bytes)
        rows: list[tuple[str, float]] = [("as written", (file_bytes(written) - file_bytes(empty)) / args.steps)]
        variants: list[tuple[str, Rewrite, bool]] = [
            ("copied unchanged", unchanged, True),
            ("version 1's layout (94c4ef2)", version_1, True),
            ("one-letter keys", one_letter_keys, True),
            ("one-letter keys, no snapshots", one_letter_keys, False),
        ]
        for index, (label, rewrite, snapshots) in enumerate(variants):
            added = copy_log(written, root / f"v{index}.db", rewrite, snapshots=snapshots)
            rows.append((label, added / args.steps))
    target = 3 * args.item_bytes
    print(f"file bytes per step, {args.steps} steps adding {args.item_bytes} B each (target: at most {target} B)")
    for label, per_step in rows:
        print(f"  {label:<36} {per_step:>7,.0f} B  {'meets' if per_step <= target else 'misses'}")


if __name__ == "__main__":
    main()
