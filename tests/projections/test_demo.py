"""``ledgergraph demo``: the expense story, told plainly, leaving a database worth exploring."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from projections import Ledger, queries
from projections.demo import run_demo
from projections.errors import DemoRefused
from tests.projections.conftest import Demo


def test_the_demo_leaves_every_part_of_the_story_in_the_database(demo: Demo) -> None:
    with Ledger(demo.path) as ledger:
        threads = {row["thread_id"]: row for row in queries.list_threads(ledger)}
        inbox = queries.pending_interrupts(ledger)
        trail = queries.audit_trail(ledger)
        stats = {row["node"]: row for row in queries.node_stats(ledger)}
    assert set(threads) == set(demo.result.threads)
    assert [row["thread_id"] for row in inbox] == [demo.result.waiting] == ["expense-5"]
    assert threads["expense-4-appeal"]["parent_thread_id"] == "expense-4"
    assert {(r["thread_id"], r["user"]) for r in trail if r["kind"] == "resume"} == {
        ("expense-3", "dana"),
        ("expense-4", "dana"),
        ("expense-4-appeal", "grace"),
    }
    assert stats["pay"]["failures"] == 1  # the gateway outage, retried
    assert {r["node"] for r in trail if r["kind"] == "node"} >= {"check", "auto_approve", "manager_review", "pay"}


def test_the_demo_explains_each_step_and_ends_with_how_to_explore(demo: Demo) -> None:
    out = demo.output
    for step in (
        "1. Five employees",
        "2. The gateway is back",
        "3. Dana",
        "4. Erin appeals",
        "5. What an operator sees",
    ):
        assert step in out
    assert "interrupt()" in out and "fork" in out
    assert "expense-5  manager_review" in out  # the inbox
    assert "* marks its current path" in out  # a thread's history
    assert "expense-4-appeal  resume  manager_review  grace" in out  # the audit trail
    tail = out.split("Explore the database yourself:")[1]
    assert f"ledgergraph inbox --db {demo.path}" in tail
    assert "SELECT * FROM audit_trail" in tail


def test_running_the_demo_again_replaces_its_own_database(tmp_path: Path) -> None:
    path = tmp_path / "expenses.db"
    run_demo(path, echo=lambda line: None)
    run_demo(path, echo=lambda line: None)
    with Ledger(path) as ledger:
        assert len(queries.list_threads(ledger)) == 6


def test_the_demo_refuses_to_overwrite_a_database_it_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "expenses.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(DemoRefused, match="was not written by the demo"):
        run_demo(path, echo=lambda line: None)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]
