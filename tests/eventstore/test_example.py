"""The event log's tour (``python -m eventstore.example``) runs and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventstore import SqliteEventStore
from eventstore.example import main


def test_the_example_appends_reads_forks_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tour.db"
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "appended 2 events to 'account-1'" in out
    assert "stored in 'account-1': Deposited(amount=100, memo='salary')" in out
    assert "verify 'account-1-what-if': ok, 2 events" in out
    with SqliteEventStore(path) as store:
        assert [t.thread_id for t in store.list_threads()] == ["account-1", "account-1-what-if"]
        assert all(store.verify(t.thread_id).ok for t in store.list_threads())
