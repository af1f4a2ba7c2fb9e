"""The ``Projection`` protocol: a named, versioned fold from the log's facts into SQLite tables."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import sqlite_utils

from projections.facts import Fact


@runtime_checkable
class Projection(Protocol):
    """A read model the runner keeps up to date.

    The runner calls ``create`` on an empty database, then ``apply`` once per
    fact in the log's global order, then ``flush`` before each transaction
    commits; tables and the projection's position are committed together.
    Changing ``version`` makes the runner drop ``tables`` and replay the whole
    log. ``apply`` must depend only on the facts and the projection's own
    tables, so that catching up in any chunk sizes gives the tables a rebuild
    from zero gives.
    """

    @property
    def name(self) -> str:
        """A stable identifier (``threads``, ``interrupt_inbox``, ...)."""
        ...

    @property
    def version(self) -> int:
        """Bump it when ``apply`` or the tables change: the runner then rebuilds."""
        ...

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the projection owns (dropped on rebuild)."""
        ...

    def create(self, db: sqlite_utils.Database) -> None:
        """Create the tables (they do not exist yet)."""
        ...

    def apply(self, db: sqlite_utils.Database, fact: Fact) -> None:
        """Fold one fact into the tables."""
        ...

    def flush(self, db: sqlite_utils.Database) -> None:
        """Finish a batch (derived columns computed once per batch); a no-op for most projections."""
        ...
