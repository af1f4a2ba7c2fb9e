"""A small, real tour of the event log: append, read, fork, tamper-check.

Run it with ``python -m eventstore.example [PATH]``; it writes a SQLite file
(``eventstore-example.db`` in the working directory by default).
"""

from __future__ import annotations

import sys
from pathlib import Path

import attrs

from eventstore import SqliteEventStore, Value, decode_event, encode_event, register_event


@attrs.frozen(kw_only=True)
class Deposited:
    """Money paid into an account."""

    amount: int
    memo: Value


register_event(Deposited, "example.Deposited")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "eventstore-example.db")
    if path.exists():
        path.unlink()
    with SqliteEventStore(path) as store:
        store.append(
            "account-1",
            [encode_event(Deposited(amount=a, memo=m)) for a, m in [(100, "salary"), (25, ("gift", 2026))]],
            expected_seq=0,
        )
        print(f"appended 2 events to 'account-1' in {path}")
        for record in store.read("account-1"):
            event = decode_event(record)
            print(f"  #{record.seq} pos={record.position} {record.type} {event} hash={record.hash[:12]}…")
        store.fork("account-1", 1, "account-1-what-if")
        store.append("account-1-what-if", [encode_event(Deposited(amount=500, memo="bonus"))], expected_seq=1)
        print("forked 'account-1' after event 1 as 'account-1-what-if' (no events copied):")
        for record in store.read("account-1-what-if"):
            print(f"  #{record.seq} stored in {record.thread_id!r}: {decode_event(record)}")
        for thread in store.list_threads():
            report = store.verify(thread.thread_id)
            print(
                f"verify {thread.thread_id!r}: {'ok' if report.ok else report.broken}, {report.events_checked} events"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
