"""What a tamperer with a raw ``sqlite3`` connection to a log needs: type names as the stored codes.

The events table stores an event's type as a code from ``event_types``; a
forger who wants a row to claim another type looks the code up, or adds one
(that table refuses updates and deletes, not inserts), just as these helpers do.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def type_code(conn: sqlite3.Connection, name: str) -> int:
    """The code the log stores for event type ``name``, added to ``event_types`` if it has none."""
    row = conn.execute("SELECT code FROM event_types WHERE name = ?", (name,)).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO event_types (code, name) SELECT coalesce(max(code) + 1, 0), ? FROM event_types", (name,)
        )
        row = conn.execute("SELECT code FROM event_types WHERE name = ?", (name,)).fetchone()
    return int(row[0])


def type_name(conn: sqlite3.Connection, code: object) -> str:
    """The event type name a stored code stands for (a code that is not an integer is shown as text)."""
    row = conn.execute("SELECT name FROM event_types WHERE code = ?", (code,)).fetchone()
    return str(row[0]) if row is not None and type(code) is int else str(code)


def drop_triggers(conn: sqlite3.Connection) -> None:
    """What a tamperer with write access to the file does first: drop the append-only triggers."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


@contextmanager
def rewritten_copy(base: Path, rewrite: Callable[[sqlite3.Connection], None]) -> Iterator[Path]:
    """A temporary copy of ``base`` with the append-only triggers dropped and ``rewrite`` applied through raw SQL."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.db"
        shutil.copy(base, path)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            drop_triggers(conn)
            rewrite(conn)
        finally:
            conn.close()
        yield path
