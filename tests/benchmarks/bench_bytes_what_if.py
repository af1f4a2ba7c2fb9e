"""What the big-state workload's file would weigh per step if the log's rows were laid out otherwise.

    python tests/benchmarks/bench_bytes_what_if.py            # 1,000 steps of 200-byte items
    python tests/benchmarks/bench_bytes_what_if.py --steps 300

Issue 6 asks for at most 3x the bytes a step adds (600 B for a 200-byte item).
This runs the big-state workload once on ledgergraph, then copies its events,
one transaction per event as a log appends them, into plain SQLite tables of the
same shape with each payload rewritten: every row keeps its thread key, hash,
timestamp, type and sequence, so each line is an experiment on the encoding alone.
Each variant adds one change to the one above it:

- as written: ledgergraph's own file;
- copied unchanged: the copy itself (checks the copy adds nothing);
- writes as [key, value] pairs instead of {"key": ..., "value": ...};
- short word keys and a flatter layout, every fact kept
  ({"from":7,"task":"<id>","node":"grow","writes":[...],"triggers":[...],"ms":0.01});
- no task id in a task's result (it can be derived from the checkpoint's id and the
  task's path, so the record no longer stands alone);
- one-letter payload keys in place of the word keys ({"c":7,"t":...});
- no snapshots (every read folds from the thread's start).

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

Payload = dict[str, Any]
Rewrite = Callable[[str, Payload], Payload]

SHORT_KEYS = {
    "from": "f",
    "node": "o",
    "writes": "w",
    "triggers": "g",
    "ms": "d",
    "id": "i",
    "step": "s",
    "parent": "p",
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


def pairs(kind: str, payload: Payload) -> Payload:
    if kind == "TaskCompleted":
        return {**payload, "writes": [[w["key"], w["value"]] for w in payload["writes"]]}
    return payload


WORD_KEYS = {"checkpoint_seq": "from", "parent_seq": "parent", "duration_ms": "ms"}


def word_keys(kind: str, payload: Payload) -> Payload:
    """Still words, fewer bytes: the task's id and name as "task" and "node", routing's fields at the top level."""
    flat: Payload = {}
    for key, value in pairs(kind, payload).items():
        if key == "task":
            flat["task"] = value["id"]
            flat["node"] = value["name"]
        elif key == "routing":
            flat.update(value)
        else:
            flat[WORD_KEYS.get(key, key)] = value
    return flat


def no_task_id(kind: str, payload: Payload) -> Payload:
    flat = word_keys(kind, payload)
    if kind == "TaskCompleted":
        del flat["task"]
    return flat


def one_letter_keys(kind: str, payload: Payload) -> Payload:
    return {SHORT_KEYS.get(key, key): value for key, value in no_task_id(kind, payload).items()}


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
    for thread_key, seq, code, version, payload, digest, recorded in src.execute(
        "SELECT thread_key, seq, type, schema_version, payload, hash, recorded_at FROM events ORDER BY position"
    ):
        text = json.dumps(rewrite(kinds[code], json.loads(payload)), separators=(",", ":"), ensure_ascii=False)
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
            ("copied unchanged", lambda kind, payload: payload, True),
            ("+ writes as [key, value] pairs", pairs, True),
            ("+ short word keys, flatter", word_keys, True),
            ("+ no task id in a task's result", no_task_id, True),
            ("+ one-letter keys in place of words", one_letter_keys, True),
            ("+ no snapshots", one_letter_keys, False),
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
