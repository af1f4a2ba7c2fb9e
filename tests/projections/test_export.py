"""Exports are self-verifying: every event with its hash, checkable offline with nothing but hashlib."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine import Command
from projections import Ledger
from projections.export import check_export, export_lines
from tests.projections.workflow import config, open_graph


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    saver, graph = open_graph(path)
    graph.invoke({"amount": 500}, config("t", "ann"))
    graph.fork(config("t"), "appeal")
    graph.invoke(Command(resume="yes"), config("appeal", "bo"))
    saver.close()
    return path


def exported(path: Path, thread_id: str) -> list[str]:
    with Ledger(path) as ledger:
        return list(export_lines(ledger, thread_id))


def offline_check(lines: list[str]) -> int:
    """A reader's own check, from the README's formula and the standard library only."""

    def field(text: str) -> bytes:
        raw = text.encode("utf-8", "surrogatepass")
        return str(len(raw)).encode() + b":" + raw

    previous = "0" * 64
    events = [json.loads(line) for line in lines[1:-1]]
    for event in events:
        digest = hashlib.sha256(previous.encode())
        for part in (event["thread_id"], str(event["seq"]), event["type"], str(event["schema_version"])):
            digest.update(field(part))
        digest.update(field(str(event["recorded_at_us"])))
        digest.update(field(event["payload"]))
        assert digest.hexdigest() == event["hash"] and event["previous"] == previous
        previous = event["hash"]
    assert json.loads(lines[-1])["last_hash"] == previous
    return len(events)


def test_an_export_verifies_offline_with_only_the_standard_library(log: Path) -> None:
    lines = exported(log, "t")
    with Ledger(log) as ledger:
        head = ledger.store.head("t")
    assert offline_check(lines) == head
    assert check_export(lines).ok and check_export(lines).events_checked == head


def test_a_forks_export_carries_its_parents_prefix_and_still_verifies(log: Path) -> None:
    lines = exported(log, "appeal")
    header = json.loads(lines[0])
    assert [step["thread_id"] for step in header["lineage"]] == ["appeal", "t"]
    stored_in = {json.loads(line)["thread_id"] for line in lines[1:-1]}
    assert stored_in == {"t", "appeal"}
    assert check_export(lines).ok
    offline_check(lines)


def test_an_altered_payload_is_detected(log: Path) -> None:
    lines = exported(log, "t")
    event = json.loads(lines[2])  # the run's input: amount 500
    assert "500" in event["payload"]
    event["payload"] = event["payload"].replace("500", "50")
    lines[2] = json.dumps(event)
    check = check_export(lines)
    assert not check.ok and check.line == 3 and "altered" in (check.problem or "")


def test_a_removed_event_is_detected(log: Path) -> None:
    lines = exported(log, "t")
    del lines[2]
    check = check_export(lines)
    assert not check.ok and "expected event 2" in (check.problem or "")


def test_a_truncated_export_is_detected(log: Path) -> None:
    lines = exported(log, "t")
    check = check_export(lines[:-2])
    assert not check.ok and "truncated" in (check.problem or "")


def test_something_that_is_not_an_export_is_refused(log: Path) -> None:
    assert not check_export(['{"hello": "world"}']).ok
    assert not check_export([]).ok
    assert not check_export(["not json"]).ok
