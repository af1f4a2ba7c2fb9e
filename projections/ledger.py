"""``Ledger``: an existing log file opened for inspection, with its projections beside it.

Every library call behind the CLI takes a ``Ledger``. Opening one never creates
a database: a missing file is a ``DatabaseNotFound``, a file that is not a
ledgergraph log is a ``BadDatabase``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eventstore import EventStoreError, SchemaError, SqliteEventStore, ThreadInfo, ThreadNotFound
from projections.errors import BadDatabase, DatabaseNotFound, UnknownThread
from projections.protocol import Projection
from projections.runner import ProjectionRunner


class Ledger:
    """A log (``store``) and the runner that keeps its projections (``runner``) up to date."""

    def __init__(
        self,
        path: str | Path,
        *,
        projections_db: str | Path | None = None,
        projections: Sequence[Projection] | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DatabaseNotFound(f"no database at {str(self.path)!r} (run `ledgergraph demo` to create one)")
        try:
            self.store = SqliteEventStore(self.path)
        except SchemaError as exc:
            raise BadDatabase(str(exc)) from None
        except EventStoreError as exc:
            raise BadDatabase(f"cannot open {str(self.path)!r}: {exc}") from None
        try:
            self.runner = ProjectionRunner(self.store, projections, db=projections_db)
        except BaseException:
            self.store.close()
            raise

    def thread(self, thread_id: str) -> ThreadInfo:
        """The thread's record; ``UnknownThread`` (listing the known ones) if there is none."""
        try:
            return self.store.thread(thread_id)
        except ThreadNotFound:
            known = [t.thread_id for t in self.store.list_threads()]
            shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
            raise UnknownThread(f"no thread {thread_id!r} in {str(self.path)!r} (threads: {shown or 'none'})") from None

    def close(self) -> None:
        self.runner.close()
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
