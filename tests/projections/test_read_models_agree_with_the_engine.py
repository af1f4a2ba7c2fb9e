"""The read models say what the engine says: the inbox is exactly what ``get_state`` reports as waiting.

For random sessions, every thread's row in ``threads`` has the head checkpoint
``get_state`` returns and a status consistent with its snapshot, and the
``interrupt_inbox`` lists exactly the interrupts ``get_state`` reports.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given

from projections import ProjectionRunner
from tests.projections.workflow import Session, config, open_graph
from tests.strategies import RunOp, run_scripts


@given(script=run_scripts)
def test_threads_and_inbox_agree_with_get_state_after_random_sessions(script: list[RunOp]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        saver, graph = open_graph(Path(tmp) / "log.db")
        session = Session(graph)
        for op in script:
            session.perform(op)
        with ProjectionRunner(saver.store) as runner:
            runner.catch_up()
            threads = {row["thread_id"]: row for row in runner.db.query("SELECT * FROM threads")}
            inbox = [
                (row["thread_id"], row["interrupt_id"]) for row in runner.db.query("SELECT * FROM interrupt_inbox")
            ]
        assert set(threads) == set(session.threads)
        for thread_id in session.threads:
            snapshot = graph.get_state(config(thread_id))
            row = threads[thread_id]
            waiting = {i.id for i in snapshot.interrupts}
            assert {i for t, i in inbox if t == thread_id} == waiting
            assert row["head_checkpoint"] == snapshot.config["configurable"]["checkpoint_id"]
            failed = any(task.error is not None for task in snapshot.tasks)
            if row["status"] == "failed":
                assert failed
            elif row["status"] == "interrupted":
                assert waiting or snapshot.next
            elif row["status"] == "done":
                assert not snapshot.next and not waiting and not failed
            else:
                assert row["status"] == "running" and snapshot.next and not waiting and not failed
        saver.close()
