"""Catching up while another process appends loses nothing and applies nothing twice.

A second process runs workflow requests on the log while two runners (in two
threads, one database of projections) catch up in small chunks over and over.
A recording projection keys its rows by global position, so applying an
event twice would fail; at the end it must hold every position of the log,
and the built-in tables must equal a rebuild from zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from eventstore import SqliteEventStore
from projections import ProjectionRunner, builtin_projections
from tests.projections.recorder import Recorder, seen_positions
from tests.projections.workflow import all_tables

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 60


def start_appender(path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.projections.appender", str(path), str(REQUESTS)], cwd=ROOT, env=env
    )


@pytest.mark.parametrize("separate", [False, True], ids=["in-the-log-file", "in-a-separate-file"])
def test_a_second_process_appending_while_runners_catch_up_loses_nothing(tmp_path: Path, separate: bool) -> None:
    log_path = tmp_path / "log.db"
    models = tmp_path / "models.db" if separate else None
    store = SqliteEventStore(log_path)  # creates the schema before either side starts
    appender = start_appender(log_path)
    progress: list[int] = []
    errors: list[BaseException] = []

    def catch_up_repeatedly() -> None:
        try:
            with ProjectionRunner(store, [*builtin_projections(), Recorder()], db=models, batch_size=7) as runner:
                while appender.poll() is None:
                    before = runner.positions().get("recorder")
                    after = runner.catch_up(limit=11)["recorder"]
                    progress.append(after - (before.position if before else 0))
                    time.sleep(0.001)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    runners = [threading.Thread(target=catch_up_repeatedly) for _ in range(2)]
    for runner_thread in runners:
        runner_thread.start()
    assert appender.wait(timeout=120) == 0
    for runner_thread in runners:
        runner_thread.join(timeout=60)
    assert not errors, errors
    assert sum(1 for step in progress if step > 0) >= 2, "the runners never caught up while the appender ran"

    with ProjectionRunner(store, [*builtin_projections(), Recorder()], db=models) as runner:
        runner.catch_up()
        assert seen_positions(runner.db) == [record.position for record in store.read_all()]
        caught_up = all_tables(runner)
    with ProjectionRunner(store, [*builtin_projections(), Recorder()], db=tmp_path / "fresh.db") as fresh:
        fresh.catch_up()
        assert all_tables(fresh) == caught_up
    assert len([r for r in caught_up["threads"]]) == REQUESTS
    store.close()
