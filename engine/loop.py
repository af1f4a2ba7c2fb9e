"""The superstep loop: the I/O half of the engine.

One ``Invocation`` is one call of ``invoke``/``stream`` on one thread. It reads
the thread's head, decides what the call means (new input, resume, command,
continue, replay), runs supersteps, and appends each step's events (task
results, interrupts, failures and the checkpoint that closes the step) in one
transaction. Everything it decides is recorded, so folding the log reproduces
the live run exactly.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs

from engine.constants import INTERRUPT_KEY, START
from engine.detach import detached
from engine.errors import EmptyInputError, GraphRecursionError, InvalidUpdateError, ResumeError
from engine.events import (
    CheckpointCommitted,
    InterruptRaised,
    ResumeAnswer,
    ResumeRecorded,
    RunPaused,
    StateUpdated,
    TaskCompleted,
    TaskFailed,
)
from engine.frames import encode_frame
from engine.planning import Frame, PlannedTask, in_path_order, new_checkpoint_id, next_names, plan, value_hash
from engine.snapshots import live_values
from engine.tasks import TaskOutcome, run_task
from engine.types import Command
from engine.views import CheckpointRecord, Pending, ThreadView
from eventstore import (
    NewEvent,
    SerializationError,
    encode_event,
    encode_value,
    faults,
    jsonio,
    maker,
    slot_init,
)

if TYPE_CHECKING:
    from engine.compiled import CompiledStateGraph, RunSettings


# The records every step makes, made without calling the class (``eventstore.slot_init.maker``).
_new_checkpoint_event = maker(CheckpointCommitted)
_new_checkpoint_record = maker(CheckpointRecord)
_new_completion = maker(TaskCompleted)

ASYNC_BACKLOG = 64
"""With durability ``"async"``, the most steps that wait for a busy writer before a step waits for it."""


def looks_like_interrupt_id(key: object) -> bool:
    return isinstance(key, str) and len(key) == 32 and all(c in "0123456789abcdef" for c in key)


class Invocation:
    """One ``invoke``/``stream`` call on one thread, yielding ``(mode, chunk)`` pairs."""

    def __init__(self, graph: CompiledStateGraph, settings: RunSettings) -> None:
        self.graph = graph
        self.settings = settings
        self.store = settings.saver.store
        self.thread_id = settings.thread_id
        self.cache = settings.saver.frames(graph)
        checked = settings.saver.check_integrity(self.thread_id)
        self.batch: list[NewEvent] = []
        self.batch_bytes = 0  # the payload bytes of ``batch``
        # A thread the check found empty has nothing to load (if another writer starts it
        # meanwhile, the first append expects event 0 and raises ConcurrencyError). One an
        # earlier run left at the head the check found needs no reading either.
        if checked == 0:
            view = graph.replayer.empty_view(self.thread_id)
        else:
            live = self.cache.live_head(self.thread_id, checked) if checked is not None else None
            view = live or graph.replayer.load(self.store, self.thread_id, cache=self.cache)
        self.base_seq = view.last_seq
        self.checkpoint: CheckpointRecord | None = view.checkpoint
        self.checkpoint_frame = view.frame  # the checkpoint's own frame (``frame`` has its commands applied)
        self.frame: Frame = graph.replayer.effective(view)
        self.pending: Pending = view.pending
        self.fresh_checkpoint = False
        self.committed = False
        self.stopping = False
        self.unsent: Batch | None = None  # sealed steps not yet handed to the store
        self.in_flight: InFlight | None = None  # durability "async": the append running beside the next step
        # Chunks nobody reads are not made: ``updates`` only if asked for, ``values`` after every
        # step only if asked for (``invoke`` wants the values the run ends with, made where it ends).
        self.wants_updates = "updates" in settings.modes
        self.wants_custom = "custom" in settings.modes
        self.values_each_step = settings.values_each_step and "values" in settings.modes

    # -- staging and appending ----------------------------------------------

    def _stage(self, event: Any) -> int:
        encoded = encode_event(event)
        self.batch.append(encoded)
        self.batch_bytes += len(encoded.payload)
        return self.base_seq + len(self.batch)

    def _stage_result(self, event: Any) -> None:
        """Stage an event about the current checkpoint and count it among its results, as a read of the log would."""
        self.pending.add(self._stage(event), event)

    def _flush(self, snapshot_of: Frame | None = None, *, final: bool = True) -> None:
        """Append the staged events in one transaction, with a snapshot of ``snapshot_of`` if one is due.

        A step's flush is not ``final``: it seals the step, and with durability
        ``"sync"`` appends it. With ``"async"`` sealed steps are handed to the writer
        thread as the next step starts (``_hand_over``); with ``"exit"`` they wait.
        A final flush appends whatever is sealed, in one transaction.
        """
        if self.batch:
            self._seal(snapshot_of)
        if final or self.settings.durability == "sync":
            self._store_sealed()

    def _hand_over(self) -> None:
        """Durability ``"async"``: give the sealed steps to the saver's writer as the next step starts.

        The writer appends them while the step runs. Steps sealed while it is still
        busy go together in its next append (a group commit: a step is never split).
        A single sealed step waits for a second, so a call of one or two steps makes
        one append, at its end, with no hand-off at all.
        """
        if self.settings.durability != "async" or self.unsent is None:
            return
        if self.in_flight is None and self.unsent.steps < 2:
            return
        if self.in_flight is not None and not self.in_flight.future.done() and self.unsent.steps < ASYNC_BACKLOG:
            return
        self._settle()
        unsent, self.unsent = self.unsent, None
        self.in_flight = InFlight(future=self.settings.saver.writer().submit(self._append, unsent), batch=unsent)

    def _store_sealed(self) -> None:
        """Wait for the writer, then append every sealed step not yet stored (a step cut short is not sealed)."""
        try:
            self._settle()
        except BaseException:
            self.unsent = None  # they follow events that were not stored: they can never be
            raise
        if self.unsent is not None:
            unsent, self.unsent = self.unsent, None
            self._append(unsent)
            self._appended(unsent)

    def _seal(self, snapshot_of: Frame | None) -> None:
        """Move the staged events (one step's, or a run's) into the batch waiting to be appended."""
        batch_bytes = self.batch_bytes
        snapshot = self._snapshot(snapshot_of, batch_bytes) if snapshot_of is not None else None
        sealed = _new_batch(
            events=self.batch,
            expected=self.base_seq,
            snapshots=(snapshot,) if snapshot is not None else (),
            last_seq=self.base_seq + len(self.batch),
            steps=1,
        )
        self.batch, self.batch_bytes = [], 0
        self.base_seq = sealed.last_seq
        # Counted when sealed, not when committed, so later steps' snapshot decisions match a synchronous run.
        self.settings.saver.record_appended(self.thread_id, batch_bytes, snapshotted=snapshot is not None)
        self.unsent = sealed if self.unsent is None else self.unsent.then(sealed)

    def _append(self, batch: Batch) -> None:
        faults.hit("engine.before_append")
        self.store.append(self.thread_id, batch.events, expected_seq=batch.expected, snapshots=batch.snapshots)
        faults.hit("engine.after_append")

    def _appended(self, batch: Batch) -> None:
        """Bookkeeping once a batch is committed."""
        self.committed = True
        self.settings.saver.mark_verified(self.thread_id, batch.last_seq)

    def _settle(self) -> None:
        """Wait for the append in flight (if any); its error, if it failed, is raised here."""
        in_flight, self.in_flight = self.in_flight, None
        if in_flight is not None:
            in_flight.future.result()
            self._appended(in_flight.batch)

    def _snapshot(self, frame: Frame, batch_bytes: int) -> tuple[int, bytes] | None:
        assert self.checkpoint is not None
        fingerprint = self.graph.replayer.fingerprint
        payload = self.settings.saver.snapshot_for(
            self.thread_id,
            frame.step,
            lambda: encode_frame(frame, fingerprint),
            head=not self.checkpoint.event.next or self.stopping,
            pending_bytes=batch_bytes,
        )
        return (self.checkpoint.seq, payload) if payload is not None else None

    def _stage_checkpoint(
        self,
        *,
        source: str,
        step: int,
        applied: Sequence[int],
        frame: Frame,
        start_input: Any = None,
        has_input: bool = False,
    ) -> None:
        seq = self.base_seq + len(self.batch) + 1
        event = _new_checkpoint_event(
            id=new_checkpoint_id(seq),
            step=step,
            source=source,
            parent_seq=self.checkpoint.seq if self.checkpoint else None,
            applied=tuple(applied),
            start_input=start_input,
            has_input=has_input,
            next=next_names(frame),
            metadata=self.settings.metadata,
        )
        self._stage(event)
        self.checkpoint = _new_checkpoint_record(seq=seq, id=event.id, event=event, recorded_at="")
        self.checkpoint_frame = self.frame = frame
        self.pending = Pending()
        self.fresh_checkpoint = True

    # -- deciding what the call means -------------------------------------------

    def run(self, input: Any) -> Iterator[tuple[str, Any]]:
        """Interpret the call, then run supersteps until done, interrupted, paused or failed.

        However the call ends, it returns only once what it appended is stored: an
        append still in flight is waited for, and with durability ``"exit"`` a run
        that stops early (an error, or a stream closed by its reader) stores the
        steps it finished.
        """
        try:
            announce = self._begin(input)
            if announce:
                yield "values", self.graph.output(self.frame.values)
            yield from self._supersteps()
        except BaseException:
            self._store_sealed()  # the steps finished before the run stopped: what "sync" had stored by now
            raise
        self._keep_head()

    def _keep_head(self) -> None:
        """Leave the thread's head for the next run in this process (everything staged is stored by now)."""
        if self.checkpoint is None or self.batch or self.unsent is not None or self.in_flight is not None:
            return
        head = ThreadView(
            thread_id=self.thread_id,
            last_seq=self.base_seq,
            checkpoint=self.checkpoint,
            frame=self.checkpoint_frame,
            pending=self.pending,
        )
        self.cache.keep_head(head)

    def _begin(self, input: Any) -> bool:
        """Stage what the call asks for; True if the run continues an existing checkpoint."""
        addressed = self.settings.checkpoint_id
        if addressed is not None and (self.checkpoint is None or addressed != self.checkpoint.id):
            view = self.graph.replayer.load_checkpoint(self.store, self.thread_id, addressed, self.cache)
            target = view.checkpoint
            assert target is not None
            self.checkpoint, self.pending = target, Pending()
            step = target.event.step + 1
            self._stage_checkpoint(source="fork", step=step, applied=(), frame=attrs.evolve(view.frame, step=step))
            if input is None:
                return True
        if isinstance(input, Command):
            return self._begin_command(input)
        if input is None:
            if self.checkpoint is None:
                self._stage_input(None)
                return False
            return True
        if self._open_interrupts():
            self._stage_resume(input)
            return True
        self._stage_input(input)
        return False

    def _stage_input(self, value: Any) -> None:
        checked = self.graph.builder.schema.update_from(value, "the graph input")
        # Kept as given, but a copy: the caller may change its input once the call returns. A plain
        # dict's check already made one (its known keys are all its keys, or the check raised).
        value = checked if type(value) is dict else detached(value)
        step = self.frame.step + 1 if self.checkpoint is not None else -1
        frame = Frame(values=self.frame.values, joins=self.frame.joins, has_input=True, start_input=value, step=step)
        self._stage_checkpoint(source="input", step=step, applied=(), frame=frame, start_input=value, has_input=True)

    def _begin_command(self, command: Command[Any]) -> bool:
        if command.graph is not None:
            raise InvalidUpdateError("Command(graph=...) targets a parent graph; ledgergraph graphs have no parent")
        if command.resume is None and command.update is None and not command.goto:
            raise EmptyInputError("Received empty Command input: set resume, update or goto")
        if self.checkpoint is None:
            if command.resume is not None:
                raise ResumeError(f"thread {self.thread_id!r} has not started, so nothing is waiting for a resume")
            self._stage_checkpoint(source="input", step=-1, applied=(), frame=self.frame)
        if command.update is not None or command.goto:
            self._stage_command_update(command)
        if command.resume is not None:
            self._stage_resume(command.resume)
        return True

    def _stage_command_update(self, command: Command[Any]) -> None:
        writes, routing = self.graph.router.command_input(command)
        assert self.checkpoint is not None
        event = StateUpdated(
            checkpoint_seq=self.checkpoint.seq,
            kind="command",
            as_node=None,
            writes=writes,
            routing=routing,
            actor=self.settings.metadata,
        )
        self._stage_result(event)
        self.frame = self.graph.replayer.apply_command(self.frame, event)

    def _open_interrupts(self) -> list[InterruptRaised]:
        if self.checkpoint is None:
            return []
        opened = []
        for task in plan(self.frame, self.checkpoint.id):
            raised = self.pending.open_interrupt(task.ref.id, task.ref.path)
            if raised is not None:
                opened.append(raised)
        return opened

    def _stage_resume(self, resume: Any) -> None:
        opened = self._open_interrupts()
        pending_ids = {r.interrupt_id: r for r in opened}
        described = ", ".join(f"{r.interrupt_id} ({r.task.name}: {r.value!r:.60})" for r in opened) or "none"
        if not opened:
            raise ResumeError(
                f"thread {self.thread_id!r} has no pending interrupt to resume; "
                "send new input (not a Command) or invoke(None, config) to continue"
            )
        if isinstance(resume, dict) and resume and all(looks_like_interrupt_id(k) for k in resume):
            unknown = [k for k in resume if k not in pending_ids]
            if unknown:
                raise ResumeError(f"resume map names interrupt(s) {unknown} that are not pending; pending: {described}")
            chosen = [(pending_ids[k], v) for k, v in resume.items()]
        elif isinstance(resume, dict) and not resume:
            raise ResumeError(f"empty resume map; pending interrupts: {described}")
        else:
            if len(opened) > 1:
                raise ResumeError(
                    "When there are multiple pending interrupts, you must specify the interrupt id when resuming: "
                    f"Command(resume={{interrupt_id: value, ...}}); pending: {described}"
                )
            chosen = [(opened[0], resume)]
        assert self.checkpoint is not None
        answers = tuple(
            ResumeAnswer(
                interrupt_id=raised.interrupt_id,
                task_id=raised.task.id,
                index=raised.index,
                value=detached(value),
                question_hash=raised.value_hash,
            )
            for raised, value in chosen
        )
        event = ResumeRecorded(checkpoint_seq=self.checkpoint.seq, answers=answers, actor=self.settings.metadata)
        self._stage_result(event)

    # -- running supersteps ----------------------------------------------------

    def _supersteps(self) -> Iterator[tuple[str, Any]]:
        steps = 0
        limit = self.settings.recursion_limit
        check_before = self.fresh_checkpoint  # continuing past a breakpoint does not stop at it again
        while True:
            faults.hit("engine.between_steps")
            assert self.checkpoint is not None
            tasks = plan(self.frame, self.checkpoint.id)
            if self.pending.completed:  # tasks that finished before the run stopped do not run again
                tasks = [t for t in tasks if t.ref.path not in self.pending.completed]
            if not tasks:
                self._flush()
                if not self.values_each_step:
                    yield "values", self.graph.output(self.frame.values)
                return
            if check_before and self.settings.interrupt_before and self._breaks_before([t.ref.name for t in tasks]):
                yield from self._pause("before", [t.ref.name for t in tasks])
                return
            check_before = True
            if steps >= limit:
                self._flush()
                raise GraphRecursionError(
                    f"Recursion limit of {limit} reached without hitting a stop condition. You can increase the "
                    "limit by setting the `recursion_limit` config key."
                )
            steps += 1
            self._hand_over()
            config = partial(self.settings.node_config, self.checkpoint.id)  # made for a task that asks
            if len(tasks) == 1 and not self.wants_custom:  # the usual step: run in this thread, no chunk queue
                task = tasks[0]
                outcomes = [run_task(self.graph.router, task, self.frame, self._resumes(task), _discard, config)]
            else:
                outcomes = yield from self._execute_concurrently(tasks, config)
            faults.hit("engine.tasks_finished")
            stops = False  # a task interrupted or failed
            for outcome in outcomes:
                if outcome.status == "rejected":
                    assert outcome.error is not None
                    raise outcome.error
                stops = stops or outcome.status != "done"
            completed = self._stage_outcomes(outcomes)
            if stops:
                yield from self._stop(outcomes)
                return
            next_frame = self.graph.replayer.apply_tasks(self.frame, completed, self.frame.step + 1)
            stop_after = self._commit_step(outcomes, completed, next_frame)
            if self.wants_updates:
                yield from _updates(outcomes)
            if self.values_each_step or stop_after:
                yield "values", self.graph.output(next_frame.values)
            if stop_after:
                yield "updates", {INTERRUPT_KEY: ()}
                return

    def _breaks_before(self, names: Sequence[str]) -> bool:
        before = self.settings.interrupt_before
        return bool(before) and any(name != START and (name in before or "*" in before) for name in names)

    def _stop(self, outcomes: list[TaskOutcome]) -> Iterator[tuple[str, Any]]:
        """A task interrupted or failed: keep what finished, report, and end the run."""
        self._flush()
        yield from _updates(outcomes)
        interrupted = tuple(o.interrupt for o in outcomes if o.interrupt is not None)
        if interrupted:
            yield "updates", {INTERRUPT_KEY: interrupted}
        for outcome in outcomes:
            if outcome.status == "failed":
                assert outcome.error is not None
                raise outcome.error
        live = live_values(self.graph, self.frame, self.pending)
        yield "values", {**self.graph.output(live), INTERRUPT_KEY: interrupted}

    def _commit_step(
        self, outcomes: list[TaskOutcome], completed: list[tuple[int, TaskCompleted]], next_frame: Frame
    ) -> bool:
        """Close the step with a checkpoint of ``next_frame`` (and a breakpoint, if due); True if the run pauses."""
        self._stage_checkpoint(
            source="loop", step=self.frame.step + 1, applied=self._applied(completed), frame=next_frame
        )
        assert self.checkpoint is not None
        stop_after = False
        if self.settings.interrupt_after:
            after = self.settings.interrupt_after
            done = [o.ref.name for o in outcomes if o.status == "done" and o.ref.name != START]
            stop_after = any(name in after or "*" in after for name in done)
            if stop_after:
                self._stage_result(RunPaused(checkpoint_seq=self.checkpoint.seq, when="after", nodes=tuple(done)))
        self.stopping = stop_after or self._breaks_before(self.checkpoint.event.next)
        self._flush(snapshot_of=next_frame, final=stop_after)  # a run that stops here stores what it sealed
        return stop_after

    def _pause(self, when: str, nodes: list[str]) -> Iterator[tuple[str, Any]]:
        assert self.checkpoint is not None
        self._stage_result(RunPaused(checkpoint_seq=self.checkpoint.seq, when=when, nodes=tuple(nodes)))
        self._flush()
        if not self.values_each_step:
            yield "values", self.graph.output(self.frame.values)
        yield "updates", {INTERRUPT_KEY: ()}

    def _execute_concurrently(
        self, tasks: list[PlannedTask], config: Callable[[], dict[str, Any]]
    ) -> Generator[tuple[str, Any], None, list[TaskOutcome]]:
        """Run a step's tasks on the graph's pool, yielding custom chunks as they come."""
        chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        writer = chunks.put if self.wants_custom else _discard
        pool = self.graph.pool()
        futures: list[Future[TaskOutcome]] = []
        done_marker = object()
        for task in tasks:
            future = pool.submit(run_task, self.graph.router, task, self.frame, self._resumes(task), writer, config)
            future.add_done_callback(lambda _f: chunks.put(done_marker))
            futures.append(future)
        finished = 0
        while finished < len(futures):
            item = chunks.get()
            if item is done_marker:
                finished += 1
            else:
                yield "custom", item
        while not chunks.empty():
            item = chunks.get()
            if item is not done_marker:
                yield "custom", item
        return [f.result() for f in futures]

    def _resumes(self, task: PlannedTask) -> list[Any]:
        return self.pending.resume_values(task.ref.id)

    def _stage_outcomes(self, outcomes: list[TaskOutcome]) -> list[tuple[int, TaskCompleted]]:
        """Stage each outcome's event in task-path order; return every completed task of the step."""
        assert self.checkpoint is not None
        cp = self.checkpoint.seq
        for outcome in outcomes:
            if outcome.status == "done":
                ref = outcome.ref
                event: Any = _new_completion(
                    checkpoint_seq=cp,
                    node=ref.name,
                    path=ref.path,
                    writes=outcome.writes,
                    routing=outcome.routing,
                    duration_ms=outcome.duration_ms,
                )
            elif outcome.status == "interrupted":
                assert outcome.interrupt is not None
                index = len(self.pending.resume_values(outcome.ref.id))
                question = _encoded(outcome.interrupt.value, f"interrupt value in node {outcome.ref.name!r}")
                event = InterruptRaised(
                    checkpoint_seq=cp,
                    task=outcome.ref,
                    interrupt_id=outcome.interrupt.id,
                    index=index,
                    value=detached(outcome.interrupt.value),
                    value_hash=value_hash(question),
                    duration_ms=outcome.duration_ms,
                )
            else:
                error = outcome.error
                event = TaskFailed(
                    checkpoint_seq=cp,
                    task=outcome.ref,
                    error_type=type(error).__qualname__,
                    error_message=str(error),
                    duration_ms=outcome.duration_ms,
                )
            try:
                self._stage_result(event)
            except SerializationError as exc:
                raise SerializationError(_locate_unencodable(outcome) or str(exc)) from None
        completed = self.pending.completed
        if len(completed) < 2:
            return list(completed.values())
        return sorted(completed.values(), key=lambda item: item[0])

    def _applied(self, completed: list[tuple[int, TaskCompleted]]) -> tuple[int, ...]:
        """The write events the step's checkpoint folds: commands first, then tasks in path order."""
        commands = self.pending.commands
        if not commands and len(completed) == 1:  # the usual step: one task's writes
            return (completed[0][0],)
        return (*[seq for seq, _ in commands], *[seq for seq, _ in in_path_order(completed)])


@slot_init
@attrs.frozen(kw_only=True)
class Batch:
    """Events ready to append in one transaction (one or more whole steps), and what to do once committed."""

    events: list[NewEvent]
    expected: int
    snapshots: tuple[tuple[int, bytes], ...]
    last_seq: int
    steps: int

    def then(self, later: Batch) -> Batch:
        """This batch and the one sealed after it, as one append (with the snapshots of both)."""
        return Batch(
            events=self.events + later.events,
            expected=self.expected,
            snapshots=self.snapshots + later.snapshots,
            last_seq=later.last_seq,
            steps=self.steps + later.steps,
        )


_new_batch = maker(Batch)


@slot_init
@attrs.frozen(kw_only=True)
class InFlight:
    """A batch the writer thread is appending."""

    future: Future[None]
    batch: Batch


def _updates(outcomes: list[TaskOutcome]) -> Iterator[tuple[str, Any]]:
    """The ``updates`` chunks of a step's finished tasks, in task-path order (never for ``__start__``)."""
    for outcome in outcomes:
        if outcome.status == "done" and outcome.ref.name != START:
            yield "updates", {outcome.ref.name: outcome.update}


def _discard(_: Any) -> None:
    return None


def _encoded(value: Any, where: str) -> bytes:
    return jsonio.dumps(encode_value(value, where))


def _locate_unencodable(outcome: TaskOutcome) -> str | None:
    """Name the node, key and type of a value that cannot be stored."""
    for write in outcome.writes:
        try:
            encode_value(write.value, f"state[{write.key!r}]")
        except SerializationError as exc:
            return f"node {outcome.ref.name!r}: {exc}"
    for packet in outcome.routing.sends:
        try:
            encode_value(packet.arg, f"Send({packet.node!r}) arg")
        except SerializationError as exc:
            return f"node {outcome.ref.name!r}: {exc}"
    return None
