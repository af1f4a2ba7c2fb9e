"""The SQLite store passes the whole event store contract, on a real file and in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventstore import EventStore, SqliteEventStore
from tests.eventstore.contract import EventStoreContract


class TestSqliteFileStore(EventStoreContract):
    @pytest.fixture(autouse=True)
    def _database_file(self, tmp_path: Path) -> None:
        self.path = tmp_path / "log.db"

    def make_store(self) -> EventStore:
        return SqliteEventStore(self.path)


class TestSqliteMemoryStore(EventStoreContract):
    def make_store(self) -> EventStore:
        return SqliteEventStore(":memory:")
