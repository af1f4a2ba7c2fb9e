"""Every ``ledgergraph`` command against the demo's database: what it prints, and the exit codes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from projections.cli import cli
from projections.errors import EXIT_BAD_DATABASE, EXIT_BAD_GRAPH, EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE
from tests.projections.conftest import Demo

GRAPH = "projections.expenses:graph"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def ok(*args: str | Path) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def as_json(*args: str | Path) -> Any:
    return json.loads(ok(*args, "--json"))


def checkpoint_before_review(db: Path) -> str:
    rows = as_json("history", "expense-4", "--db", db)
    return next(r["checkpoint_id"] for r in rows if r["next"] == ["manager_review"])


# -- the demo ----------------------------------------------------------------------------


def test_demo_writes_its_database_and_tells_the_story(tmp_path: Path) -> None:
    db = tmp_path / "story.db"
    out = ok("demo", "--db", db)
    assert out.startswith("ledgergraph demo: an expense-approval workflow")
    assert f"ledgergraph threads --db {db}" in out
    assert [r["thread_id"] for r in as_json("inbox", "--db", db)] == ["expense-5"]
    foreign = tmp_path / "mine.db"
    foreign.write_bytes(b"")
    refused = run("demo", "--db", foreign)
    assert refused.exit_code == EXIT_FAILED and "was not written by the demo" in refused.output


# -- reading ---------------------------------------------------------------------------


def test_threads_lists_every_thread_with_its_status_and_parent(demo: Demo) -> None:
    rows = {r["thread_id"]: r for r in as_json("threads", "--db", demo.path)}
    assert {t: r["status"] for t, r in rows.items()} == {
        "expense-1": "done",
        "expense-2": "done",
        "expense-3": "done",
        "expense-4": "done",
        "expense-5": "interrupted",
        "expense-4-appeal": "done",
    }
    assert rows["expense-4-appeal"]["parent_thread_id"] == "expense-4"
    table = ok("threads", "--db", demo.path)
    assert table.splitlines()[0].split()[:3] == ["thread_id", "status", "steps"]
    assert "expense-5         interrupted" in table


def test_threads_can_be_filtered_by_status(demo: Demo) -> None:
    assert [r["thread_id"] for r in as_json("threads", "--status", "interrupted", "--db", demo.path)] == ["expense-5"]


def test_history_lists_checkpoints_newest_first_and_marks_the_current_path(demo: Demo) -> None:
    rows = as_json("history", "expense-4-appeal", "--db", demo.path)
    assert [r["step"] for r in rows] == [3, 2, 1, 0, -1]
    assert all(r["on_head_path"] for r in rows)
    assert rows[0]["writers"] == ["pay"] and rows[1]["writers"] == ["manager_review"]
    assert rows[1]["actor"] == {"user": "grace"}
    table = ok("history", "expense-4-appeal", "--db", demo.path)
    assert table.splitlines()[2].startswith("*")


def test_show_without_a_graph_lists_the_writes_that_made_the_checkpoint(demo: Demo) -> None:
    shown = as_json("show", "expense-3", "--db", demo.path)
    assert shown["next"] == []
    writes = {(w["writer"], w["key"]): w["value"] for w in shown["writes"]}
    assert writes[("manager_review", "decided_by")] == "dana"
    assert writes[("__start__", "amount")] == 1200
    assert "writes on the path to this checkpoint" in ok("show", "expense-3", "--db", demo.path)


def test_show_with_the_graph_gives_state_values_and_what_waits(demo: Demo) -> None:
    shown = as_json("show", "expense-5", "--graph", GRAPH, "--db", demo.path)
    assert shown["values"]["employee"] == "frank"
    assert shown["next"] == ["manager_review"]
    (waiting,) = shown["interrupts"]
    assert waiting["value"]["question"] == "Approve $2300 for frank?"
    text = ok("show", "expense-5", "--graph", GRAPH, "--db", demo.path)
    assert "employee = frank" in text and f"waiting     {waiting['id']}" in text


def test_show_at_a_past_checkpoint(demo: Demo) -> None:
    checkpoint = checkpoint_before_review(demo.path)
    shown = as_json("show", "expense-4", "--checkpoint", checkpoint, "--graph", GRAPH, "--db", demo.path)
    assert shown["checkpoint_id"] == checkpoint
    assert "decision" not in shown["values"]


def test_events_lists_a_threads_raw_events_with_their_hashes(demo: Demo) -> None:
    rows = as_json("events", "expense-4-appeal", "--db", demo.path)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["thread_id"] == "expense-4"  # the inherited prefix is stored in the parent
    assert rows[-1]["thread_id"] == "expense-4-appeal"
    assert all(len(r["hash"]) == 64 for r in rows)
    assert "ResumeRecorded" in ok("events", "expense-4-appeal", "--db", demo.path)


def test_inbox_lists_the_request_left_waiting(demo: Demo) -> None:
    (row,) = as_json("inbox", "--db", demo.path)
    assert (row["thread_id"], row["node"]) == ("expense-5", "manager_review")
    assert row["value"]["question"] == "Approve $2300 for frank?"
    assert row["interrupt_id"] in ok("inbox", "--db", demo.path)


def test_audit_shows_who_approved_what(demo: Demo) -> None:
    rows = as_json("audit", "--db", demo.path)
    resumes = [(r["thread_id"], r["user"], r["answer"]["approve"]) for r in rows if r["kind"] == "resume"]
    assert resumes == [("expense-3", "dana", True), ("expense-4", "dana", False), ("expense-4-appeal", "grace", True)]
    appeal = as_json("audit", "expense-4-appeal", "--db", demo.path)
    assert {r["thread_id"] for r in appeal} == {"expense-4", "expense-4-appeal"}
    assert "grace" in ok("audit", "expense-4-appeal", "--db", demo.path)


def test_stats_lists_every_node_with_runs_failures_and_durations(demo: Demo) -> None:
    rows = {r["node"]: r for r in as_json("stats", "--db", demo.path)}
    assert set(rows) == {"check", "auto_approve", "manager_review", "pay"}
    assert rows["pay"]["failures"] == 1
    assert rows["manager_review"]["interrupts"] == 4
    assert all(r["p95_ms"] is not None and r["total_ms"] > 0 for r in rows.values())
    assert "PaymentGatewayDown" in ok("stats", "--db", demo.path)


def test_verify_reports_every_chain_intact(demo: Demo) -> None:
    reports = as_json("verify", "--db", demo.path)
    assert len(reports) == 6 and all(r["ok"] for r in reports)
    assert ok("verify", "expense-3", "--db", demo.path).startswith("ok")


def test_export_writes_json_lines_that_verify_offline(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "expense-3.jsonl"
    ok("export", "expense-3", "--db", demo.path, "--output", out)
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "ledgergraph-export"
    assert json.loads(lines[-1])["end"] is True
    assert "11 events verified" in ok("verify", "--export", out)
    assert ok("export", "expense-3", "--db", demo.path).splitlines() == lines


# -- changing ----------------------------------------------------------------------------


def test_fork_starts_a_new_thread_from_a_checkpoint(demo_copy: Path) -> None:
    checkpoint = checkpoint_before_review(demo_copy)
    forked = as_json("fork", "expense-4", "--checkpoint", checkpoint, "--to", "second-look", "--db", demo_copy)
    assert forked["thread_id"] == "second-look" and forked["parent_checkpoint_id"] == checkpoint
    rows = {r["thread_id"]: r for r in as_json("threads", "--db", demo_copy)}
    assert rows["second-look"]["head_checkpoint"] == checkpoint
    assert rows["second-look"]["status"] == "running"
    assert "forked expense-5 at" in ok("fork", "expense-5", "--db", demo_copy)


def test_projections_rebuild_replays_one_or_every_projection(demo_copy: Path) -> None:
    before = as_json("audit", "--db", demo_copy)
    positions = as_json("projections", "rebuild", "--db", demo_copy)
    assert set(positions) == {"threads", "interrupt_inbox", "audit_trail", "node_stats"}
    assert as_json("audit", "--db", demo_copy) == before
    assert as_json("projections", "rebuild", "node_stats", "--db", demo_copy) == {"node_stats": positions["node_stats"]}
    status = as_json("projections", "status", "--db", demo_copy)
    assert {r["projection"]: r["position"] for r in status} == positions
    assert "audit_trail" in ok("projections", "status", "--db", demo_copy)


def test_projections_can_be_kept_in_a_separate_file(demo_copy: Path, tmp_path: Path) -> None:
    models = tmp_path / "models.db"
    rows = as_json("inbox", "--db", demo_copy, "--projections-db", models)
    assert [r["thread_id"] for r in rows] == ["expense-5"]
    assert models.exists()


def test_verify_finds_a_tampered_event_and_exits_1(demo_copy: Path) -> None:
    with sqlite3.connect(demo_copy) as conn:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute(
            "UPDATE events SET payload = replace(payload, 'dana', 'mallory') "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'expense-3')"
        )
    result = run("verify", "--db", demo_copy)
    assert result.exit_code == EXIT_FAILED
    assert "BROKEN  expense-3" in result.output
    assert "ok      expense-1" in result.output


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["threads", "--db", "{missing}"], EXIT_NOT_FOUND, "no database at"),
        (["history", "nope", "--db", "{db}"], EXIT_NOT_FOUND, "no thread 'nope'"),
        (
            ["show", "expense-1", "--checkpoint", "000000000001-000000000000", "--db", "{db}"],
            EXIT_NOT_FOUND,
            "no checkpoint",
        ),
        (["projections", "rebuild", "nope", "--db", "{db}"], EXIT_NOT_FOUND, "no projection named 'nope'"),
        (["show", "expense-1", "--graph", "no-colon", "--db", "{db}"], EXIT_BAD_GRAPH, "module:attribute"),
        (["show", "expense-1", "--graph", "no_such_module:graph", "--db", "{db}"], EXIT_BAD_GRAPH, "cannot import"),
        (["show", "expense-1", "--graph", "projections.expenses:nope", "--db", "{db}"], EXIT_BAD_GRAPH, "no attribute"),
        (
            ["show", "expense-1", "--graph", "projections.expenses:check", "--db", "{db}"],
            EXIT_BAD_GRAPH,
            "not a StateGraph",
        ),
        (
            ["show", "expense-1", "--graph", "tests.projections.workflow:build", "--db", "{db}"],
            EXIT_BAD_GRAPH,
            "is a function",
        ),
        (
            ["show", "expense-1", "--graph", "tests.projections.workflow:graph", "--db", "{db}"],
            EXIT_BAD_GRAPH,
            "cannot replay",
        ),
        (["inbox", "--db", "{foreign}"], EXIT_BAD_DATABASE, "not a ledgergraph database"),
        (["fork", "expense-1", "--to", "expense-2", "--db", "{db}"], EXIT_FAILED, "already exists"),
        (["verify"], EXIT_USAGE, "verify needs --db"),
        (["threads"], EXIT_USAGE, "Missing option '--db'"),
    ],
)
def test_errors_are_clear_and_exit_with_a_code_scripts_can_rely_on(
    demo_copy: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    paths = {"db": str(demo_copy), "missing": str(tmp_path / "missing.db"), "foreign": str(foreign)}
    result = CliRunner().invoke(cli, [a.format(**paths) for a in args], env={"LEDGERGRAPH_DB": None})
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "missing.db").exists()


def test_the_console_script_runs_as_a_process_with_the_same_exit_codes(demo: Demo, tmp_path: Path) -> None:
    def script(*args: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; from projections.cli import main; sys.argv[0] = 'ledgergraph'; main()"
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)

    listed = script("threads", "--db", str(demo.path), "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 6
    missing = script("inbox", "--db", str(tmp_path / "missing.db"))
    assert missing.returncode == EXIT_NOT_FOUND
    assert missing.stderr.startswith("Error: no database at")
