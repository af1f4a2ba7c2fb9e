"""Acting on threads without their graph: fork one, verify hash chains."""

from __future__ import annotations

import uuid
from typing import Any

from eventstore import ConcurrencyError
from projections.errors import ThreadExists
from projections.history import find_checkpoint, thread_log
from projections.ledger import Ledger


def fork_thread(
    ledger: Ledger, thread_id: str, checkpoint_id: str | None = None, new_thread_id: str | None = None
) -> dict[str, Any]:
    """Start a new thread from a checkpoint of ``thread_id`` (its head by default), copying no events.

    The same as the engine's ``graph.fork(config, new_thread_id)``: the fork
    reads its parent's log up to the checkpoint and continues on its own.
    """
    log = thread_log(ledger, thread_id)
    if checkpoint_id is not None:
        at = find_checkpoint(log, thread_id, checkpoint_id).seq
        forked_from: str | None = checkpoint_id
    else:
        at = ledger.store.head(thread_id)
        head = find_checkpoint(log, thread_id, None) if log else None
        forked_from = head.event.id if head is not None else None
    new_id = new_thread_id if new_thread_id is not None else f"{thread_id}-fork-{uuid.uuid4().hex[:8]}"
    try:
        ledger.store.fork(thread_id, at, new_id)
    except ConcurrencyError:
        raise ThreadExists(f"thread {new_id!r} already exists; choose another name with --to") from None
    return {"thread_id": new_id, "parent_thread_id": thread_id, "parent_checkpoint_id": forked_from, "parent_seq": at}


def verify_threads(ledger: Ledger, thread_id: str | None = None) -> list[dict[str, Any]]:
    """Recompute the hash chain of one thread (or every thread); one report per thread."""
    threads = [thread_id] if thread_id is not None else [t.thread_id for t in ledger.store.list_threads()]
    reports = []
    for name in threads:
        ledger.thread(name)
        report = ledger.store.verify(name)
        broken = report.broken
        reports.append(
            {
                "thread_id": name,
                "ok": report.ok,
                "events_checked": report.events_checked,
                "broken_at": None
                if broken is None
                else {
                    "thread_id": broken.thread_id,
                    "seq": broken.seq,
                    "expected": broken.expected,
                    "found": broken.found,
                    "reason": broken.reason,
                },
            }
        )
    return reports
