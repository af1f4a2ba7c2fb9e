"""Catching up in any chunk sizes gives exactly the tables a rebuild from zero gives.

Random user sessions (start, answer, continue, edit, abandon, replay, fork) run
the test workflow; after each action the runner applies a random number of
events. At the end it catches up fully, and every table of every built-in
projection must equal what a fresh runner builds from position 0, and what
``rebuild()`` gives on the same database.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import given

from projections import ProjectionRunner
from tests.projections.workflow import Session, all_tables, open_graph
from tests.strategies import RunOp, chunk_sizes, run_scripts


def run_session(directory: Path, script: list[RunOp], chunks: list[int]) -> tuple[dict, dict, dict]:
    saver, graph = open_graph(directory / "log.db")
    session = Session(graph)
    incremental = ProjectionRunner(saver.store)
    sizes = itertools.cycle(chunks)
    try:
        for op in script:
            session.perform(op)
            incremental.catch_up(limit=next(sizes))
        incremental.catch_up()
        caught_up = all_tables(incremental)
        with ProjectionRunner(saver.store, db=directory / "fresh.db") as fresh:
            fresh.catch_up()
            from_zero = all_tables(fresh)
        incremental.rebuild()
        rebuilt = all_tables(incremental)
    finally:
        incremental.close()
        saver.close()
    return caught_up, from_zero, rebuilt


@given(script=run_scripts, chunks=chunk_sizes)
def test_catching_up_in_random_chunks_gives_the_tables_of_a_rebuild_from_zero(
    script: list[RunOp], chunks: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        caught_up, from_zero, rebuilt = run_session(Path(tmp), script, chunks)
    assert caught_up == from_zero
    assert rebuilt == from_zero
