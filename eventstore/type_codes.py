"""Event type names as the small integers the events table stores.

A name is given a code the first time a thread appends an event of that type
(0, 1, 2, ... in that order: SQLite stores 0 and 1 in no bytes at all and codes
up to 127 in one). Codes live in ``event_types``, which, like ``events``, only
ever grows, so a code never changes meaning once committed; each store caches
the table and re-reads it only when it meets a code another writer added. The
hash chain covers the name, never the code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


class TypeCodes:
    """One store's cache of ``event_types``: complete up to its last reload, never wrong."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.codes: dict[str, int] = {}

    def reload(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT code, name FROM event_types").fetchall()
        # Whole dicts are swapped in, so a reader on another thread sees the old table or the new one.
        self.names = {code: name for code, name in rows}
        self.codes = {name: code for code, name in rows}

    def known(self, names: Iterable[str]) -> dict[str, int] | None:
        """The cached codes of ``names``, or None if any is not cached (then ``assign`` in a transaction)."""
        codes = self.codes
        found: dict[str, int] = {}
        for name in names:
            code = codes.get(name)
            if code is None:
                return None
            found[name] = code
        return found

    def assign(self, conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
        """The codes of ``names`` inside the caller's write transaction, adding the missing ones.

        New codes are not cached here: the transaction may still roll back. The
        caller passes the result to ``remember`` once it has committed.
        """
        found: dict[str, int] = {}
        for name in names:
            if name in found:
                continue
            code = self.codes.get(name)
            if code is None:
                row = conn.execute("SELECT code FROM event_types WHERE name = ?", (name,)).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO event_types (code, name) SELECT coalesce(max(code) + 1, 0), ? FROM event_types",
                        (name,),
                    )
                    row = conn.execute("SELECT code FROM event_types WHERE name = ?", (name,)).fetchone()
                code = int(row[0])
            found[name] = code
        return found

    def remember(self, committed: dict[str, int]) -> None:
        if any(name not in self.codes for name in committed):
            codes = {**self.codes, **committed}
            self.names = {code: name for name, code in codes.items()}
            self.codes = codes

    def lookup(self, conn: sqlite3.Connection, names: Iterable[str]) -> list[int]:
        """The codes of those of ``names`` the log has ever stored (for a read's type filter)."""
        wanted = list(names)
        if any(name not in self.codes for name in wanted):
            self.reload(conn)
        return [self.codes[name] for name in wanted if name in self.codes]
