"""``ledgergraph demo``: the expense workflow run end to end on a SQLite file, told step by step.

It writes ``expenses.db`` (by default) in the working directory: several
requests, auto-approval under a limit, a manager's ``interrupt()`` over it,
answers, a failed payment retried, one request left waiting, then time travel
on one thread and a fork that decides differently. It ends by printing the
inbox, one thread's history and the audit trail, and how to explore the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import sqlite_utils

from engine import Command, SqliteSaver
from projections import queries
from projections.errors import DemoRefused
from projections.expenses import AUTO_APPROVAL_LIMIT, PaymentGateway, PaymentGatewayDown, build
from projections.history import checkpoint_history
from projections.ledger import Ledger
from projections.render import table

MARKER = "ledgergraph_demo"
REQUESTS = (
    ("expense-1", "alice", 42, "team lunch"),
    ("expense-2", "bob", 85, "taxi to a client"),
    ("expense-3", "carol", 1200, "laptop for a new hire"),
    ("expense-4", "erin", 450, "conference ticket"),
    ("expense-5", "frank", 2300, "flight to the Tokyo office"),
)
ANSWERS = (
    ("expense-3", "dana", {"approve": True, "note": "needed for the new hire"}),
    ("expense-4", "dana", {"approve": False, "note": "no conference budget left"}),
)
APPEAL = "expense-4-appeal"

Echo = Callable[[str], None]


@attrs.frozen(kw_only=True)
class DemoResult:
    """What the demo left behind: the file, its threads, and the one still waiting."""

    path: Path
    threads: tuple[str, ...]
    waiting: str
    forked: str


def prepare(path: Path) -> None:
    """Remove a previous demo's database; refuse to touch any other file."""
    if not path.exists():
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        tables = set()
    if MARKER not in tables:
        raise DemoRefused(f"{str(path)!r} exists and was not written by the demo; pass another --db or move it away")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(path: str | Path = "expenses.db", echo: Echo = print, program: str = "ledgergraph") -> DemoResult:
    """Run the whole story on ``path`` and narrate it through ``echo`` (``program`` runs the CLI)."""
    path = Path(path)
    prepare(path)
    gateway = PaymentGateway()
    saver = SqliteSaver(path)
    try:
        marker = sqlite_utils.Database(path)
        marker.table(MARKER).insert({"key": "written_by", "value": "ledgergraph demo"})
        marker.close()
        graph = build(gateway).compile(checkpointer=saver)
        _intro(path, echo)
        _submit(graph, gateway, echo)
        _answer(graph, echo)
        _time_travel(graph, echo)
    finally:
        saver.close()
    with Ledger(path) as ledger:
        _report(ledger, path, echo, program)
    return DemoResult(path=path, threads=(*(r[0] for r in REQUESTS), APPEAL), waiting=REQUESTS[-1][0], forked=APPEAL)


def _config(thread_id: str, user: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    if user is not None:
        config["metadata"] = {"user": user}
    return config


def _intro(path: Path, echo: Echo) -> None:
    echo("ledgergraph demo: an expense-approval workflow, recorded as an immutable event log")
    echo("=" * 82)
    echo(f"Every step of every run is appended to {path} as hash-chained events: nothing")
    echo("is ever updated in place, so the whole story can be replayed, audited and forked.")
    echo("")
    echo(f"The workflow: check -> auto_approve (up to ${AUTO_APPROVAL_LIMIT}) or manager_review -> pay.")
    echo("manager_review calls interrupt(): the run stops until a manager answers.")
    echo("")


def _submit(graph: Any, gateway: PaymentGateway, echo: Echo) -> None:
    echo("1. Five employees submit expense requests (one thread each)")
    for thread_id, employee, amount, purpose in REQUESTS:
        request = {"employee": employee, "amount": amount, "purpose": purpose}
        gateway.up = thread_id != "expense-2"  # the gateway goes down during bob's payment
        try:
            result = graph.invoke(request, _config(thread_id, employee))
        except PaymentGatewayDown as exc:
            echo(f"   {thread_id}  {employee:<6} ${amount:<5}  approved automatically, but paying failed ({exc})")
            continue
        if "__interrupt__" in result:
            echo(f"   {thread_id}  {employee:<6} ${amount:<5}  waiting for a manager (interrupt raised)")
        else:
            echo(f"   {thread_id}  {employee:<6} ${amount:<5}  {result['decision']} by {result['decided_by']}, paid")
    gateway.up = True
    echo("   The failure is recorded too: expense-2 is now a 'failed' thread, its approval kept.")
    echo("")
    echo("2. The gateway is back. expense-2 continues from its last checkpoint: only the")
    echo("   failed node (pay) runs again; check and auto_approve are not re-run.")
    result = graph.invoke(None, _config("expense-2", "ops"))
    echo(f"   expense-2  paid: {result['paid']}")
    echo("")


def _answer(graph: Any, echo: Echo) -> None:
    echo("3. Dana, a manager, answers two of the three waiting requests with Command(resume=...)")
    for thread_id, manager, answer in ANSWERS:
        result = graph.invoke(Command(resume=answer), _config(thread_id, manager))
        echo(f"   {thread_id}  {result['decision']} by {result['decided_by']}: {result['note']}")
    echo(f"   {REQUESTS[-1][0]} is left waiting: it stays in the interrupt inbox.")
    echo("")


def _time_travel(graph: Any, echo: Echo) -> None:
    echo("4. Erin appeals. We go back in expense-4's history to the checkpoint just before")
    echo("   the manager's review, and fork the thread from there to decide differently.")
    before = next(s for s in graph.get_state_history(_config("expense-4")) if s.next == ("manager_review",))
    checkpoint_id = before.config["configurable"]["checkpoint_id"]
    echo(f"   checkpoint {checkpoint_id} (step {before.metadata['step']}): next = {list(before.next)}")
    fork = graph.fork(before.config, APPEAL)
    result = graph.invoke(None, fork)
    question = result["__interrupt__"][0].value["question"]
    echo(f"   {APPEAL} re-runs manager_review, which asks again: {question!r}")
    result = graph.invoke(Command(resume={"approve": True, "note": "approved on appeal"}), _config(APPEAL, "grace"))
    echo(f"   Grace, a director, answers there: {result['decision']}, paid: {result.get('paid', False)}")
    original = graph.get_state(_config("expense-4")).values
    echo(f"   expense-4 itself is untouched: still {original['decision']} by {original['decided_by']}.")
    echo("")


def _report(ledger: Ledger, path: Path, echo: Echo, program: str) -> None:
    echo("5. What an operator sees (read models folded from the log into plain SQLite tables)")
    echo("")
    echo("   The interrupt inbox: what waits for a human  (ledgergraph inbox)")
    echo(_indent(table(queries.pending_interrupts(ledger), ["thread_id", "node", "interrupt_id", "value", "since"])))
    echo("")
    echo(f"   {APPEAL}'s history, newest first; * marks its current path  (ledgergraph history {APPEAL})")
    history = checkpoint_history(ledger, APPEAL)
    for row in history:
        row["path"] = "*" if row["on_head_path"] else ""
    echo(_indent(table(history, ["path", "checkpoint_id", "step", "source", "writers", "next"])))
    echo("")
    echo("   The audit trail: who changed which state keys, and who answered what  (ledgergraph audit)")
    echo("   (user comes from the run's metadata: config={'metadata': {'user': 'dana'}, ...})")
    trail = queries.audit_trail(ledger)
    echo(_indent(table(trail, ["thread_id", "kind", "node", "user", "keys", "answer"])))
    echo("")
    echo("Explore the database yourself:")
    for command in (
        "threads",
        "inbox",
        f"history {APPEAL}",
        "show expense-3 --graph projections.expenses:graph",
        "audit expense-4",
        "stats",
        "verify",
        "export expense-3",
    ):
        echo(f"  {program} {command} --db {path}")
    echo(f"or open it with any SQLite tool: sqlite3 {path} 'SELECT * FROM audit_trail'")


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
