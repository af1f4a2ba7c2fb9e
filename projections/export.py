"""Self-verifying exports: a thread's events with their hashes, as JSON lines anyone can check offline.

Line 1 is a header (the format, the thread, its lineage and the hash formula),
then one line per event in order (a fork's inherited prefix first, each event
with the exact payload text that was hashed, the previous hash and its own),
then a footer with the event count and the last hash, so that a truncated file
is detected too. ``check_export`` re-derives every hash from the lines alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from eventstore import GENESIS, chain_hash
from projections.ledger import Ledger

FORMAT = "ledgergraph-export"
FORMAT_VERSION = 2
HASH_FORMULA = (
    "sha256(previous_hash_hex + len:thread_id + len:seq + len:type + len:schema_version + len:recorded_at_us "
    "+ len:payload), where len:x is the UTF-8 byte length of x in decimal, a colon, then x; recorded_at_us "
    "is the timestamp in microseconds since the Unix epoch, in decimal; the first event's previous hash "
    "is 64 zeros"
)


def export_thread(ledger: Ledger, thread_id: str) -> Iterator[dict[str, Any]]:
    """The export's lines as dicts (serialize each with ``json.dumps`` for one line of the file)."""
    lineage = []
    current: str | None = thread_id
    while current is not None:
        info = ledger.thread(current)
        lineage.append(
            {"thread_id": info.thread_id, "parent_thread_id": info.parent_thread_id, "parent_seq": info.parent_seq}
        )
        current = info.parent_thread_id
    yield {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "thread_id": thread_id,
        "lineage": lineage,
        "hash": HASH_FORMULA,
        "genesis": GENESIS,
    }
    previous = GENESIS
    count = 0
    for record in ledger.store.read(thread_id):
        yield {
            "thread_id": record.thread_id,
            "seq": record.seq,
            "position": record.position,
            "type": record.type,
            "schema_version": record.schema_version,
            "recorded_at_us": record.recorded_at_us,
            "recorded_at": record.recorded_at,
            "payload": record.payload.decode("utf-8", "surrogatepass"),
            "previous": previous,
            "hash": record.hash,
        }
        previous = record.hash
        count += 1
    yield {"end": True, "thread_id": thread_id, "events": count, "last_hash": previous}


def export_lines(ledger: Ledger, thread_id: str) -> Iterator[str]:
    """The export as text lines (no trailing newlines)."""
    for line in export_thread(ledger, thread_id):
        yield json.dumps(line, ensure_ascii=False)


@attrs.frozen(kw_only=True)
class ExportCheck:
    """The verdict on an export: how many events were checked, and the first problem found."""

    ok: bool
    thread_id: str | None
    events_checked: int
    problem: str | None = None
    line: int | None = None


def check_export(lines: Iterable[str]) -> ExportCheck:  # noqa: C901 - one check per way an export can be wrong
    """Verify an export offline: the header, every event's hash and link, the sequence, and the footer."""
    thread_id: str | None = None
    previous = GENESIS
    checked = 0
    ended = False

    def bad(problem: str, line: int) -> ExportCheck:
        return ExportCheck(ok=False, thread_id=thread_id, events_checked=checked, problem=problem, line=line)

    number = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return bad(f"not JSON: {exc}", number)
        if not isinstance(data, dict):
            return bad("not a JSON object", number)
        if ended:
            return bad("content after the footer", number)
        if number == 1:
            if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
                return bad(f"not a {FORMAT} version {FORMAT_VERSION} file", number)
            thread_id = data.get("thread_id")
            continue
        if data.get("end") is True:
            if data.get("events") != checked:
                return bad(f"the footer counts {data.get('events')} events, the file has {checked}", number)
            if data.get("last_hash") != previous:
                return bad("the footer's last hash is not the last event's", number)
            ended = True
            continue
        try:
            seq = data["seq"]
            if seq != checked + 1:
                return bad(f"expected event {checked + 1}, found event {seq}", number)
            if data["previous"] != previous:
                return bad(f"event {seq} does not link to the event before it", number)
            if type(data["recorded_at_us"]) is not int:
                return bad(f"event {seq}'s recorded_at_us is not an integer", number)
            digest = chain_hash(
                previous=previous,
                thread_id=data["thread_id"],
                seq=seq,
                type=data["type"],
                schema_version=data["schema_version"],
                recorded_at_us=data["recorded_at_us"],
                payload=data["payload"].encode("utf-8", "surrogatepass"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            return bad(f"an event line is missing or mistypes a field ({exc!r})", number)
        if digest != data["hash"]:
            return bad(f"event {seq}'s hash does not match its content (it was altered)", number)
        previous = data["hash"]
        checked += 1
    if number == 0:
        return ExportCheck(ok=False, thread_id=None, events_checked=0, problem="the file is empty", line=None)
    if not ended:
        return bad("the footer is missing (the file is truncated)", number)
    return ExportCheck(ok=True, thread_id=thread_id, events_checked=checked)
