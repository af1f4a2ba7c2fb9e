"""Snapshots are a cache: every one equals the fold of the log, and deleting them changes no result."""

from __future__ import annotations

import math
import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import END, START, SqliteSaver, StateGraph


class Loop(TypedDict):
    i: int
    limit: int


def loop(saver: SqliteSaver) -> Any:
    builder = StateGraph(Loop)
    builder.add_node("a", lambda s: {"i": s["i"] + 1})
    builder.add_node("b", lambda s: {"i": s["i"] + 1})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda s: "a" if s["i"] < s["limit"] else END)
    return builder.compile(checkpointer=saver)


CONFIG: dict[str, Any] = {"configurable": {"thread_id": "loop"}, "recursion_limit": 10_000}


def test_every_snapshot_equals_the_fold_of_the_log(tmp_path: Path) -> None:
    graph = loop(SqliteSaver(tmp_path / "s.db", snapshot_every=5))
    graph.invoke({"i": 0, "limit": 60}, CONFIG)
    graph.fork(CONFIG, "forked")
    report = graph.verify_snapshots()
    assert report.ok and report.checked >= 10 and report.skipped == 0


def test_a_tampered_snapshot_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    graph = loop(SqliteSaver(path, snapshot_every=5))
    graph.invoke({"i": 0, "limit": 30}, CONFIG)
    with sqlite3.connect(path) as conn:
        (seq,) = conn.execute("SELECT min(seq) FROM snapshots").fetchone()
        payload = conn.execute("SELECT payload FROM snapshots WHERE seq = ?", (seq,)).fetchone()[0]
        forged = bytes(payload).replace(b'"i":', b'"i":1', 1)
        conn.execute("UPDATE snapshots SET payload = ? WHERE seq = ?", (forged, seq))
    report = loop(SqliteSaver(path)).verify_snapshots(CONFIG)
    assert [m.seq for m in report.mismatches] == [seq]


def test_deleting_every_snapshot_changes_no_result(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    graph = loop(SqliteSaver(path, snapshot_every=3))
    graph.invoke({"i": 0, "limit": 40}, CONFIG)
    before = [(s.values, s.next, s.config, s.metadata) for s in loop(SqliteSaver(path)).get_state_history(CONFIG)]
    assert SqliteSaver(path).store.delete_snapshots() > 0
    after = [(s.values, s.next, s.config, s.metadata) for s in loop(SqliteSaver(path)).get_state_history(CONFIG)]
    assert after == before


class Growing(TypedDict):
    items: Annotated[list[str], operator.add]
    limit: int


def growing(saver: SqliteSaver) -> Any:
    """A list that grows by one 64-character item per step: a state that soon outweighs one step's events."""
    builder = StateGraph(Growing)
    builder.add_node("grow", lambda s: {"items": [f"{len(s['items']):064x}"]})
    builder.add_edge(START, "grow")
    builder.add_conditional_edges("grow", lambda s: "grow" if len(s["items"]) < s["limit"] else END)
    return builder.compile(checkpointer=saver)


def test_a_lower_snapshot_weight_keeps_fewer_snapshots_of_a_growing_state_and_the_same_results(
    tmp_path: Path,
) -> None:
    kept: dict[float, int] = {}
    histories = []
    for weight in (math.inf, 4, 1):
        path = tmp_path / f"w{weight}.db"
        graph = growing(SqliteSaver(path, snapshot_every=5, snapshot_weight=weight))
        graph.invoke({"items": [], "limit": 200}, CONFIG)
        kept[weight] = len(SqliteSaver(path).store.snapshot_seqs("loop"))
        assert graph.verify_snapshots().ok
        histories.append([(s.values, s.next) for s in growing(SqliteSaver(path)).get_state_history(CONFIG)])
    assert kept[math.inf] == 40  # every 5 steps of 200 (the last is also the head the call ended on)
    assert kept[math.inf] > kept[4] > kept[1] > 0
    assert histories[0] == histories[1] == histories[2]


@pytest.mark.parametrize("weight", [0, -1, math.nan, True, "4", None])
def test_snapshot_weight_must_be_a_number_above_zero(tmp_path: Path, weight: Any) -> None:
    with pytest.raises(ValueError, match="snapshot_weight must be a number above 0"):
        SqliteSaver(tmp_path / "s.db", snapshot_weight=weight)
