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
from engine import loop as loop_module
from engine.planning import Frame


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


def growing(saver: SqliteSaver, width: int = 64) -> Any:
    """A list that grows by one ``width``-character item per step: a state that soon outweighs one step's events."""
    builder = StateGraph(Growing)
    builder.add_node("grow", lambda s: {"items": [f"{len(s['items']):0{width}x}"]})
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


def counting_encodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The step of every frame encoded for a snapshot from now on (the real encoding still runs)."""
    steps: list[int] = []
    real = loop_module.encode_frame

    def counted(frame: Frame, graph_fingerprint: str) -> tuple[bytes, int]:
        steps.append(frame.step)
        return real(frame, graph_fingerprint)

    monkeypatch.setattr(loop_module, "encode_frame", counted)
    return steps


def test_a_growing_state_is_encoded_about_once_per_snapshot_kept_not_at_every_due_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = counting_encodes(monkeypatch)
    saver = SqliteSaver(tmp_path / "log.db", snapshot_every=5)
    graph = growing(saver, width=200)

    graph.invoke({"items": [], "limit": 1000}, CONFIG)

    kept = len(saver.store.snapshot_seqs("loop"))
    due = 1000 // 5
    assert kept >= 5
    # Encoding the whole state at every due step made the write path of a long thread with a large state quadratic.
    assert len(encoded) <= 3 * kept < due / 2
    assert graph.verify_snapshots().ok


class _Forgets(dict[str, int]):
    """A dict that keeps nothing: a saver given it as its memory of too-heavy frames encodes every due step."""

    def __setitem__(self, key: str, value: int) -> None:
        pass


def test_skipping_the_encoding_of_a_growing_state_keeps_the_same_snapshots_as_encoding_every_due_step(
    tmp_path: Path,
) -> None:
    saver = SqliteSaver(tmp_path / "skip.db", snapshot_every=5)
    growing(saver).invoke({"items": [], "limit": 300}, CONFIG)
    every = SqliteSaver(tmp_path / "every.db", snapshot_every=5)
    every._outweighed = _Forgets()
    growing(every).invoke({"items": [], "limit": 300}, CONFIG)

    assert every.store.snapshot_seqs("loop") == saver.store.snapshot_seqs("loop")
    assert len(saver.store.snapshot_seqs("loop")) >= 3


class Shrinking(TypedDict):
    blob: str
    i: int


def shrink_once(state: Shrinking) -> dict[str, Any]:
    """A 20 kB blob written once, replaced by a short text at step 40; every other step only counts."""
    update: dict[str, Any] = {"i": state["i"] + 1}
    if state["i"] in (0, 40):
        update["blob"] = "x" * 20_000 if state["i"] == 0 else "small"
    return update


def test_a_state_that_shrinks_after_a_heavy_frame_still_gets_snapshots(tmp_path: Path) -> None:
    """The skip assumes a state rarely shrinks; when it does, its snapshots come some steps later, not never."""
    builder = StateGraph(Shrinking)
    builder.add_node("step", shrink_once)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: "step" if s["i"] < 200 else END)
    saver = SqliteSaver(tmp_path / "log.db", snapshot_every=5)
    graph = builder.compile(checkpointer=saver)

    graph.invoke({"blob": "", "i": 0}, CONFIG)

    seqs = saver.store.snapshot_seqs("loop")
    heavy = [seq for seq in seqs if seq < 2 * 40]
    light = [seq for seq in seqs if seq > 2 * 40]
    assert len(heavy) <= 2  # the blob outweighs the few bytes each counting step writes
    assert len(light) >= 10
    assert graph.verify_snapshots().ok
