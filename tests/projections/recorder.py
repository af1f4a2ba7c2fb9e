"""A user-defined projection for the tests: it records every fact it is given, once.

``seen`` has the global position as its primary key, so an event applied twice
fails the transaction; comparing it with the log shows any event skipped.
"""

from __future__ import annotations

import sqlite_utils

from projections import Fact, LoggedEvent


class Recorder:
    """Records the position, thread and type of every event, and every fork it hears of."""

    tables = ("seen", "forks_seen")

    def __init__(self, name: str = "recorder", version: int = 1, fail_at: int | None = None) -> None:
        self.name = name
        self.version = version
        self.fail_at = fail_at
        self.flushes = 0

    def create(self, db: sqlite_utils.Database) -> None:
        db["seen"].create({"position": int, "thread_id": str, "seq": int, "type": str}, pk="position")
        db["forks_seen"].create({"thread_id": str, "inherited": int}, pk="thread_id")

    def apply(self, db: sqlite_utils.Database, fact: Fact) -> None:
        if isinstance(fact, LoggedEvent):
            if fact.position == self.fail_at:
                raise RuntimeError(f"refusing event {fact.position}")
            db.execute(
                "INSERT INTO seen (position, thread_id, seq, type) VALUES (?, ?, ?, ?)",
                [fact.position, fact.thread_id, fact.seq, fact.type],
            )
        else:
            db.execute(
                "INSERT INTO forks_seen (thread_id, inherited) VALUES (?, ?)", [fact.thread_id, len(fact.inherited)]
            )

    def flush(self, db: sqlite_utils.Database) -> None:
        self.flushes += 1


def seen_positions(db: sqlite_utils.Database) -> list[int]:
    return [row[0] for row in db.execute("SELECT position FROM seen ORDER BY position").fetchall()]
