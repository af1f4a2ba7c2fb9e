"""Property: every way of reading a thread's past gives the same answer.

History and ``get_state`` fold from whatever is nearest: a frame cached in this
process, a snapshot, or the thread's first event; history cuts its scan into
chunks at those points, and a long fold goes a window at a time, from the waypoints history keeps where snapshots
are few. On random families of threads (forks, edits of past checkpoints, replays), the answers must not depend on
which of them was used.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from engine import CompiledStateGraph, SqliteSaver, history_walk, replay
from tests.engine.test_time_travel_properties import Recorder, apply_travel_op, build, database, settle, thread
from tests.strategies import TravelGraphSpec, travel_graph_specs, travel_inputs, travel_ops


def _run_family(graph: CompiledStateGraph, spec: TravelGraphSpec, inputs: list[str], ops: list[Any]) -> list[str]:
    """Run the root thread, then forks, edits of past checkpoints, replays and new inputs; the thread ids."""
    for value in inputs:
        graph.invoke({"log": [value]}, thread("root"))
        settle(graph, thread("root"))
    threads = ["root"]
    for op in ops:
        apply_travel_op(graph, spec, threads, op, keep=[])
    return threads


@given(
    spec=travel_graph_specs(),
    inputs=travel_inputs,
    ops=travel_ops,
    snapshot_every=st.integers(min_value=1, max_value=4),
)
def test_history_and_get_state_agree_whatever_they_fold_from(
    spec: TravelGraphSpec, inputs: list[str], ops: list[Any], snapshot_every: int
) -> None:
    with database() as (path, saver):
        saver.snapshot_every = snapshot_every
        live = build(spec, saver, Recorder())
        threads = _run_family(live, spec, inputs, ops)
        warm = {t: list(live.get_state_history(thread(t))) for t in threads}

        def fresh() -> CompiledStateGraph:
            return build(spec, SqliteSaver(path), Recorder())

        for thread_id in threads:
            expected = warm[thread_id]
            assert list(fresh().get_state_history(thread(thread_id))) == expected
            with mock.patch.object(history_walk, "HISTORY_CHUNK", 1):
                assert list(fresh().get_state_history(thread(thread_id))) == expected
            for snapshot in expected:
                assert fresh().get_state(snapshot.config) == snapshot
            assert [s.config for s in fresh().get_state_history(thread(thread_id), limit=3)] == [
                s.config for s in expected[:3]
            ]

        saver.store.delete_snapshots()
        for thread_id in threads:
            assert list(fresh().get_state_history(thread(thread_id))) == warm[thread_id]
            for snapshot in warm[thread_id][::3]:
                assert fresh().get_state(snapshot.config) == snapshot
            with mock.patch.object(replay, "FOLD_WINDOW", 2), mock.patch.object(history_walk, "HISTORY_CHUNK", 1):
                assert list(fresh().get_state_history(thread(thread_id))) == warm[thread_id]
                with mock.patch.object(replay, "HISTORY_WAYPOINTS", 2):  # thinned at every third waypoint
                    assert list(fresh().get_state_history(thread(thread_id))) == warm[thread_id]
                for snapshot in warm[thread_id][::2]:
                    assert fresh().get_state(snapshot.config) == snapshot
