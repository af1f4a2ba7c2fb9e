"""The ``ledgergraph`` command: every subcommand is a thin shell over one library call.

Exit codes: 0 success; 1 a check failed (``verify``) or another error; 2 bad
usage; 3 no such database, thread, checkpoint or projection; 4 a bad
``--graph`` reference; 5 a file that is not a ledgergraph log (or cannot be
read or written).
"""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from eventstore import CorruptLogError, EventStoreError
from projections import history, operations, queries
from projections.demo import run_demo
from projections.errors import EXIT_FAILED, BadDatabase, LedgerError
from projections.export import check_export, export_lines
from projections.graphref import load_graph
from projections.ledger import Ledger
from projections.render import as_json, cell, table

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """A library error, shown as ``Error: ...`` with its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        # click declares exit_code a class variable; each error carries its own.
        self.__dict__["exit_code"] = exit_code


class LedgerGroup(click.Group):
    """Turns the library's errors into clear messages and the exit codes scripts rely on."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as exc:
            raise CommandError(str(exc), exc.exit_code) from exc
        except CorruptLogError as exc:
            raise CommandError(f"the log is corrupt: {exc}", EXIT_FAILED) from exc
        except EventStoreError as exc:
            raise CommandError(str(exc), BadDatabase.exit_code) from exc


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        required=True,
        envvar="LEDGERGRAPH_DB",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The ledgergraph database (SQLite file) to read; or set LEDGERGRAPH_DB.",
    )(f)


def projections_db_option(f: F) -> F:
    return click.option(
        "--projections-db",
        "projections_db",
        envvar="LEDGERGRAPH_PROJECTIONS_DB",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Keep the read models in this SQLite file instead of the log's own.",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json_output", is_flag=True, help="Print JSON (for scripts) instead of a table.")(
        f
    )


def with_ledger(f: Callable[..., Any]) -> Callable[..., Any]:
    """Open ``--db`` (and ``--projections-db``) as a ``Ledger`` for the command, and close it after."""

    @functools.wraps(f)
    def wrapper(db: Path, projections_db: Path | None = None, **kwargs: Any) -> Any:
        with Ledger(db, projections_db=projections_db) as ledger:
            return f(ledger, **kwargs)

    return wrapper


def emit(data: Any, as_json_output: bool, render: Callable[[], str]) -> None:
    click.echo(as_json(data) if as_json_output else render())


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ledgergraph")
def cli() -> None:
    """Inspect ledgergraph's event log: threads, history, the interrupt inbox, the audit trail.

    Start with `ledgergraph demo`, then explore the database it leaves.
    """


@cli.command()
@click.option(
    "--db",
    "db",
    default="expenses.db",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the demo's database (a previous demo's file is replaced; any other file is left alone).",
)
def demo(db: Path) -> None:
    """Run an expense-approval workflow end to end and explain what the log recorded."""
    run_demo(db, echo=click.echo, program=_program())


def _program() -> str:
    """How the user can run this command again: ``ledgergraph`` if it is on the PATH, else its path."""
    invoked = Path(sys.argv[0])
    if invoked.name != "ledgergraph":
        return "ledgergraph"
    found = shutil.which("ledgergraph")
    if found is not None and Path(found).resolve() == invoked.resolve():
        return "ledgergraph"
    try:
        return str(invoked.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(invoked)


@cli.command()
@db_option
@projections_db_option
@click.option("--status", type=click.Choice(["running", "interrupted", "done", "failed"]), help="Only these threads.")
@json_option
@with_ledger
def threads(ledger: Ledger, status: str | None, as_json_output: bool) -> None:
    """List every thread: status, steps, what runs next, head checkpoint, parent."""
    rows = queries.list_threads(ledger, status=status)
    columns = ["thread_id", "status", "steps", "next", "head_checkpoint", "parent_thread_id", "updated_at"]
    emit(rows, as_json_output, lambda: table(rows, columns))


@cli.command(name="history")
@click.argument("thread")
@db_option
@json_option
@with_ledger
def history_command(ledger: Ledger, thread: str, as_json_output: bool) -> None:
    """List a thread's checkpoints on every branch, newest first (* = on the current path)."""
    rows = history.checkpoint_history(ledger, thread)
    for row in rows:
        row["path"] = "*" if row["on_head_path"] else ""
    columns = ["path", "checkpoint_id", "step", "source", "writers", "next", "actor", "created_at"]
    emit(rows, as_json_output, lambda: table(rows, columns))


@cli.command()
@click.argument("thread")
@db_option
@click.option("--checkpoint", "checkpoint", metavar="ID", help="A checkpoint id from `history` (default: the head).")
@click.option(
    "--graph",
    "graph_ref",
    metavar="MODULE:ATTRIBUTE",
    help="Your graph (StateGraph or compiled), to show state values; without it, the recorded writes.",
)
@json_option
@with_ledger
def show(ledger: Ledger, thread: str, checkpoint: str | None, graph_ref: str | None, as_json_output: bool) -> None:
    """Show one checkpoint of a thread: its state values (with --graph) or the writes that made it."""
    graph = load_graph(graph_ref, ledger.store) if graph_ref else None
    shown = history.show_checkpoint(ledger, thread, checkpoint, graph)
    emit(shown, as_json_output, lambda: _render_show(shown))


def _render_show(shown: dict[str, Any]) -> str:
    lines = [
        f"thread      {shown['thread_id']}",
        f"checkpoint  {shown['checkpoint_id']}  (step {shown['step']}, {shown['source']}, {shown['created_at']})",
        f"next        {', '.join(shown['next']) or '(nothing: done)'}",
    ]
    if shown["actor"]:
        lines.append(f"run         {cell(shown['actor'])}")
    if "values" in shown:
        lines.append("values:")
        lines.extend(f"  {key} = {cell(value, 100)}" for key, value in shown["values"].items())
        lines.extend(f"waiting     {i['id']}: {cell(i['value'], 100)}" for i in shown["interrupts"])
    else:
        lines.append("writes on the path to this checkpoint (pass --graph module:attribute for state values):")
        lines.append(table(shown["writes"], ["checkpoint_id", "writer", "key", "value"]))
        if shown["after"]:
            lines.append("recorded at this checkpoint since:")
            lines.append(table(shown["after"], ["seq", "type", "summary"], wide=["summary"]))
    return "\n".join(lines)


@cli.command()
@click.argument("thread")
@db_option
@json_option
@with_ledger
def events(ledger: Ledger, thread: str, as_json_output: bool) -> None:
    """List a thread's raw events: sequence, type, summary and hash (a fork's inherited ones first)."""
    rows = history.thread_events(ledger, thread)

    def render() -> str:
        shown = [{**row, "hash": row["hash"][:12] + "…"} for row in rows]
        return table(shown, ["seq", "thread_id", "type", "summary", "hash"], wide=["summary"])

    emit(rows, as_json_output, render)


@cli.command()
@db_option
@projections_db_option
@json_option
@with_ledger
def inbox(ledger: Ledger, as_json_output: bool) -> None:
    """List every interrupt waiting for a human, across all threads, oldest first."""
    rows = queries.pending_interrupts(ledger)
    emit(rows, as_json_output, lambda: table(rows, ["thread_id", "node", "interrupt_id", "value", "since"]))


@cli.command()
@click.argument("thread", required=False)
@db_option
@projections_db_option
@json_option
@with_ledger
def audit(ledger: Ledger, thread: str | None, as_json_output: bool) -> None:
    """Show the audit trail: every state change, resume and manual edit (of one thread's lineage, if given)."""
    rows = queries.audit_trail(ledger, thread)
    columns = ["at", "thread_id", "kind", "node", "user", "keys", "interrupt_id", "answer"]
    emit(rows, as_json_output, lambda: table(rows, columns))


@cli.command()
@db_option
@projections_db_option
@json_option
@with_ledger
def stats(ledger: Ledger, as_json_output: bool) -> None:
    """Per node: runs, failures, interrupts, total and p95 duration in milliseconds."""
    rows = queries.node_stats(ledger)
    columns = ["node", "runs", "failures", "interrupts", "total_ms", "p95_ms", "last_error"]
    emit(rows, as_json_output, lambda: table(rows, columns))


@cli.command()
@click.argument("thread")
@db_option
@click.option("--checkpoint", "checkpoint", metavar="ID", help="Fork at this checkpoint (default: the thread's head).")
@click.option("--to", "new_thread", metavar="NEW", help="The new thread's id (default: THREAD-fork-<random>).")
@json_option
@with_ledger
def fork(ledger: Ledger, thread: str, checkpoint: str | None, new_thread: str | None, as_json_output: bool) -> None:
    """Start a new thread from a checkpoint of THREAD; no events are copied."""
    result = operations.fork_thread(ledger, thread, checkpoint, new_thread)

    def render() -> str:
        at = result["parent_checkpoint_id"] or f"event {result['parent_seq']}"
        return f"forked {result['parent_thread_id']} at {at} as {result['thread_id']}"

    emit(result, as_json_output, render)


@cli.command()
@click.argument("thread", required=False)
@click.option(
    "--db",
    "db",
    envvar="LEDGERGRAPH_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ledgergraph database (SQLite file) to check; or set LEDGERGRAPH_DB.",
)
@click.option(
    "--export",
    "export_file",
    type=click.File("r", encoding="utf-8"),
    help="Check a file written by `ledgergraph export` instead, offline (no database needed).",
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context, thread: str | None, db: Path | None, export_file: Any | None, as_json_output: bool
) -> None:
    """Recompute hash chains (of THREAD, or every thread) and report the first broken link; exit 1 if any."""
    if export_file is None and db is None:
        raise click.UsageError("verify needs --db PATH (or --export FILE)")
    if export_file is not None:
        check = check_export(export_file)
        data = {
            "ok": check.ok,
            "thread_id": check.thread_id,
            "events_checked": check.events_checked,
            "problem": check.problem,
            "line": check.line,
        }
        ok_text = f"ok  {check.thread_id}: {check.events_checked} events verified"
        emit(data, as_json_output, lambda: ok_text if check.ok else f"BROKEN at line {check.line}: {check.problem}")
        ctx.exit(0 if check.ok else EXIT_FAILED)
    assert db is not None
    with Ledger(db) as ledger:
        reports = operations.verify_threads(ledger, thread)
    emit(reports, as_json_output, lambda: _render_verify(reports))
    ctx.exit(0 if all(r["ok"] for r in reports) else EXIT_FAILED)


def _render_verify(reports: list[dict[str, Any]]) -> str:
    lines = []
    for report in reports:
        broken = report["broken_at"]
        if broken is None:
            lines.append(f"ok      {report['thread_id']}: {report['events_checked']} events, chain intact")
        else:
            lines.append(
                f"BROKEN  {report['thread_id']}: event {broken['seq']} of {broken['thread_id']}: {broken['reason']}"
            )
    return "\n".join(lines) or "(no threads)"


@cli.command()
@click.argument("thread")
@db_option
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="Write here (default: stdout)."
)
@with_ledger
def export(ledger: Ledger, thread: str, output: Any) -> None:
    """Write a thread's events with their hashes as JSON lines, checkable offline (`verify --export`)."""
    for line in export_lines(ledger, thread):
        output.write(line + "\n")


@cli.group(name="projections", cls=LedgerGroup)
def projections_group() -> None:
    """Manage the read models (threads, interrupt_inbox, audit_trail, node_stats)."""


@projections_group.command()
@click.argument("name", required=False)
@db_option
@projections_db_option
@json_option
@with_ledger
def rebuild(ledger: Ledger, name: str | None, as_json_output: bool) -> None:
    """Drop a projection's tables (every one's, without NAME) and replay the whole log into them."""
    positions = ledger.runner.rebuild(name)
    rows = [{"projection": n, "position": p} for n, p in positions.items()]
    emit(positions, as_json_output, lambda: table(rows, ["projection", "position"]))


@projections_group.command()
@db_option
@projections_db_option
@json_option
@with_ledger
def status(ledger: Ledger, as_json_output: bool) -> None:
    """Show each projection's version and position after catching up with the log."""
    ledger.runner.catch_up()
    rows = [
        {"projection": p.name, "version": p.version, "position": p.position, "threads_seen": p.threads_seen}
        for p in ledger.runner.positions().values()
    ]
    emit(rows, as_json_output, lambda: table(rows, ["projection", "version", "position", "threads_seen"]))


def main(argv: Sequence[str] | None = None) -> None:
    """The console script's entry point."""
    cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="ledgergraph")


def commands() -> dict[str, click.Command]:
    """Every command by its full name (``projections rebuild`` for a subcommand), for docs and tests."""
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
            else:
                found[f"{prefix}{name}"] = command

    walk(cli, "")
    return found
