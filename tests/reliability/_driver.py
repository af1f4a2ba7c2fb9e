"""A child process for the crash suite: drive one thread of the review workflow to its end.

``python -m tests.reliability._driver DB THREAD [--count-hits] [--durability=MODE]``, run with
``LEDGERGRAPH_FAULT=point@N`` to die by SIGKILL at the N-th hit of a fault point.
It prints, flushing each line, so the parent learns what happened even if the
process is killed:

- ``start`` once the database is open;
- ``committed SEQ...`` after each append returns (those events are durable);
- ``ran CHECKPOINT_ID ENTRY`` as each node finishes;
- ``hits {json}`` (with ``--count-hits``) how often each fault point was passed;
- ``done {json}`` with the final state values.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import orjson

from engine import SqliteSaver
from eventstore import EventRecord, NewEvent, SqliteEventStore, faults
from tests.reliability import _workflow

FAULT_POINTS = (
    "engine.between_steps",
    "engine.tasks_finished",
    "engine.before_append",
    "store.before_append",
    "store.before_commit",
    "store.after_commit",
    "engine.after_append",
)
"""Every fault point on the write path, in the order one superstep passes them."""


def say(*parts: str) -> None:
    sys.stdout.write(" ".join(parts) + "\n")
    sys.stdout.flush()


class ReportingStore:
    """The real store, announcing each append once it has returned (so it is committed)."""

    def __init__(self, inner: SqliteEventStore) -> None:
        self.inner = inner

    def append(self, thread_id: str, events: Sequence[NewEvent], **options: Any) -> Sequence[EventRecord]:
        records = self.inner.append(thread_id, events, **options)
        say("committed", *(str(r.seq) for r in records))
        return records

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def main(argv: list[str]) -> int:
    path, thread_id, *flags = argv
    counts: Counter[str] = Counter()
    with ExitStack() as stack:
        if "--count-hits" in flags:
            for point in FAULT_POINTS:
                stack.enter_context(faults.armed(point, lambda point=point: counts.update([point])))
        store = SqliteEventStore(path)
        saver = SqliteSaver(ReportingStore(store))
        graph = _workflow.build(saver, on_complete=lambda cp, entry: say("ran", cp, entry))
        say("start")
        durability = next((f.split("=", 1)[1] for f in flags if f.startswith("--durability=")), "sync")
        values = _workflow.drive(graph, thread_id, durability=durability)
        store.close()
    if "--count-hits" in flags:
        say("hits", orjson.dumps(dict(counts)).decode())
    say("done", orjson.dumps(values).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
