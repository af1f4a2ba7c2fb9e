"""Reads run statements the store compiled when it opened, so a first read costs what later ones do.

Python's ``sqlite3`` compiles a statement the first time a connection runs its
text and keeps it in a per-connection cache keyed by that text. The store runs
its read statements once while opening, and keeps their texts fixed (a page
size is a parameter, never formatted into the text), so the reads that follow
find them compiled.
"""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any

from typing_extensions import TypedDict

from engine import END, START, SqliteSaver, StateGraph
from eventstore import SqliteEventStore


class RecordingConnection(sqlite3.Connection):
    """A real SQLite connection that remembers the statement texts it is given, before parameters."""

    texts: list[str]

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.texts.append(sql)
        return super().execute(sql, parameters)


class Loop(TypedDict):
    i: int
    seen: Annotated[list[int], operator.add]


def _loop_graph() -> StateGraph:
    graph = StateGraph(Loop)
    graph.add_node("step", lambda state: {"i": state["i"] + 1, "seen": [state["i"]]})
    graph.add_edge(START, "step")
    graph.add_conditional_edges("step", lambda state: "step" if state["i"] < 40 else END, ["step", END])
    return graph


def _open(path: Path) -> tuple[SqliteSaver, list[str]]:
    conn = sqlite3.connect(path, factory=RecordingConnection, check_same_thread=False)
    assert isinstance(conn, RecordingConnection)
    conn.texts = []
    return SqliteSaver(SqliteEventStore(conn), snapshot_every=10), conn.texts


def test_reads_after_opening_use_only_statements_compiled_while_opening(tmp_path: Path) -> None:
    path = tmp_path / "reads.db"
    cfg: dict[str, Any] = {"configurable": {"thread_id": "t"}, "recursion_limit": 100}
    writer, _ = _open(path)
    _loop_graph().compile(checkpointer=writer).invoke({"i": 0, "seen": []}, cfg)
    writer.close()

    saver, texts = _open(path)
    compiled_at_open = set(texts)
    texts.clear()
    app = _loop_graph().compile(checkpointer=saver)
    history = list(app.get_state_history(cfg))
    head = app.get_state(cfg)
    past = [app.get_state(snapshot.config) for snapshot in history[::7]]
    store = saver.store
    events = list(store.read("t", from_seq=3, to_seq=17)) + list(store.read_backward("t"))

    assert head.values["i"] == 40 and len(history) > 40 and events
    assert [snapshot.values for snapshot in past] == [snapshot.values for snapshot in history[::7]]
    assert texts, "the reads sent no statement through the connection"
    assert set(texts) <= compiled_at_open, set(texts) - compiled_at_open
    saver.close()


def test_ranges_of_every_size_share_one_statement_text(tmp_path: Path) -> None:
    saver, texts = _open(tmp_path / "ranges.db")
    cfg: dict[str, Any] = {"configurable": {"thread_id": "t"}, "recursion_limit": 100}
    _loop_graph().compile(checkpointer=saver).invoke({"i": 0, "seen": []}, cfg)
    texts.clear()

    for start in range(1, 30, 3):
        for stop in (start, start + 1, start + 9, start + 40):
            list(saver.store.read("t", from_seq=start, to_seq=stop))

    assert len(set(texts)) == 1
    saver.close()
