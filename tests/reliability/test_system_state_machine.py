"""The whole system against a simple model: runs, interrupts, resumes, edits, replays, forks, reopens and crashes.

The graph is ``a -> ask -> b``: ``a`` and ``b`` add to a log and a total,
``ask`` asks a question derived from the state and keeps the answer. The model
is a few lines of Python per operation: each thread's expected values, what it
is waiting for, and the values at every checkpoint about to run ``ask`` (the
places a replay can go back to). After every step, every thread's live state,
its pending question and its hash chain are checked, and its history's ``ask``
checkpoints must equal the model's.

Crashes are simulated in-process: a fault point is armed to raise ``Crash`` (a
``BaseException``, so the in-flight transaction rolls back, as in a killed
process); then a new saver and a freshly compiled graph take the thread to its
end. The model learns one thing from the log: whether the call's first append
landed before the crash.

The default run is bounded by the Hypothesis profile; ``HYPOTHESIS_PROFILE=thorough``
runs many more examples, and the ``slow`` variant longer programs.
"""

from __future__ import annotations

import copy
import operator
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, TypedDict

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine import END, START, Command, CompiledStateGraph, ResumeError, SqliteSaver, StateGraph, interrupt
from eventstore import SqliteEventStore, faults
from tests.reliability._driver import FAULT_POINTS


class Crash(BaseException):
    """The process died here (raised from an armed fault point)."""


class SystemState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    last: str


def question(values: dict[str, Any]) -> str:
    return f"q{len(values['log'])}:{values['total']}"


def auto_answer(asked: Any) -> str:
    return f"auto({asked})"


def build(saver: SqliteSaver) -> CompiledStateGraph:
    def a(state: SystemState) -> SystemState:
        return {"log": ["a"], "total": 1}

    def ask(state: SystemState) -> SystemState:
        said = interrupt(question(dict(state)))
        return {"log": [f"ask={said}"], "last": said}

    def b(state: SystemState) -> SystemState:
        return {"log": ["b"], "total": 10}

    graph = StateGraph(SystemState)
    graph.add_node("a", a)
    graph.add_node("ask", ask)
    graph.add_node("b", b)
    graph.add_edge(START, "a")
    graph.add_edge("a", "ask")
    graph.add_edge("ask", "b")
    graph.add_edge("b", END)
    return graph.compile(checkpointer=saver)


def cfg(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread_id}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def drive(graph: CompiledStateGraph, thread_id: str) -> None:
    """Take a started thread to its end, answering every question automatically (a new thread stays new)."""
    while True:
        state = graph.get_state(cfg(thread_id))
        if state.interrupts:
            graph.invoke(Command(resume={i.id: auto_answer(i.value) for i in state.interrupts}), cfg(thread_id))
        elif state.next:
            graph.invoke(None, cfg(thread_id))
        else:
            return


# -- the model ------------------------------------------------------------------------------------

NEW, WAITING, AT_ASK, BEFORE_B, DONE = "new", "waiting", "at_ask", "before_b", "done"
NEXT = {NEW: (), WAITING: ("ask",), AT_ASK: ("ask",), BEFORE_B: ("b",), DONE: ()}
AS_NODE = {WAITING: "a", AT_ASK: "a", BEFORE_B: "ask", DONE: "b"}
"""The node an edit is recorded as, so that it leaves the thread where it was."""


@attrs.define
class Model:
    """One thread as the model sees it."""

    values: dict[str, Any] = attrs.Factory(dict)
    status: str = NEW
    asks: list[dict[str, Any]] = attrs.Factory(list)
    """The values at each checkpoint whose next task is ``ask``, oldest first."""

    def start(self, text: str) -> None:
        self.values["log"] = [*self.values.get("log", []), text, "a"]
        self.values["total"] = self.values.get("total", 0) + 1
        self.reach_ask()
        self.status = WAITING

    def reach_ask(self) -> None:
        self.asks.append(copy.deepcopy(self.values))

    def answer(self, said: str, stop_before_b: bool = False) -> None:
        self.values["log"] = [*self.values["log"], f"ask={said}"]
        self.values["last"] = said
        self.status = BEFORE_B
        if not stop_before_b:
            self.run_b()

    def run_b(self) -> None:
        self.values["log"] = [*self.values["log"], "b"]
        self.values["total"] += 10
        self.status = DONE

    def proceed(self) -> None:
        if self.status == AT_ASK:
            self.status = WAITING
        elif self.status == BEFORE_B:
            self.run_b()

    def edit(self, last: str) -> None:
        self.values["last"] = last
        if self.status in (WAITING, AT_ASK):
            self.status = AT_ASK
            self.reach_ask()

    def replay(self, index: int, new_checkpoint: bool) -> None:
        self.values = copy.deepcopy(self.asks[index])
        if new_checkpoint:
            self.reach_ask()
        self.status = WAITING

    def drive(self) -> None:
        while self.status not in (NEW, DONE):
            if self.status == WAITING:
                self.answer(auto_answer(question(self.values)))
            else:
                self.proceed()


# -- the machine ------------------------------------------------------------------------------------

thread_picks = st.integers(min_value=0, max_value=1000)
texts = st.text(alphabet="xyz", min_size=1, max_size=3)


class SystemMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ledgergraph-system-"))
        self.path = self.folder / "log.db"
        self.saver = SqliteSaver(self.path)
        self.graph = build(self.saver)
        self.models: dict[str, Model] = {}
        self.made = 0

    def teardown(self) -> None:
        self.saver.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # helpers
    def pick(self, pick: int, *statuses: str) -> str | None:
        names = sorted(n for n, m in self.models.items() if not statuses or m.status in statuses)
        return names[pick % len(names)] if names else None

    def any_in(self, *statuses: str) -> bool:
        return any(m.status in statuses for m in self.models.values())

    def new_thread(self) -> str:
        self.made += 1
        name = f"t{self.made}"
        self.models[name] = Model()
        return name

    def reopen(self) -> None:
        self.saver.close()
        self.saver = SqliteSaver(self.path)
        self.graph = build(self.saver)

    # rules
    @rule(text=texts, pick=thread_picks, fresh=st.booleans())
    def invoke_with_input(self, text: str, pick: int, fresh: bool) -> None:
        name = None if fresh else self.pick(pick, DONE)
        name = name or self.new_thread()
        self.graph.invoke({"log": [text]}, cfg(name))
        self.models[name].start(text)

    @precondition(lambda self: self.any_in(WAITING))
    @rule(pick=thread_picks, said=texts, style=st.sampled_from(["value", "map", "plain"]), stop=st.booleans())
    def resume(self, pick: int, said: str, style: str, stop: bool) -> None:
        name = self.pick(pick, WAITING)
        assert name is not None
        (pending,) = self.graph.get_state(cfg(name)).interrupts
        given: Any = {"value": Command(resume=said), "map": Command(resume={pending.id: said}), "plain": said}[style]
        self.graph.invoke(given, cfg(name), interrupt_before=["b"] if stop else None)
        self.models[name].answer(said, stop_before_b=stop)

    @precondition(lambda self: self.any_in(WAITING))
    @rule(pick=thread_picks)
    def resume_an_interrupt_that_is_not_pending(self, pick: int) -> None:
        name = self.pick(pick, WAITING)
        assert name is not None
        with pytest.raises(ResumeError, match="not pending"):
            self.graph.invoke(Command(resume={"f" * 32: "no"}), cfg(name))

    @precondition(lambda self: self.any_in(AT_ASK, BEFORE_B))
    @rule(pick=thread_picks)
    def continue_run(self, pick: int) -> None:
        name = self.pick(pick, AT_ASK, BEFORE_B)
        assert name is not None
        self.graph.invoke(None, cfg(name))
        self.models[name].proceed()

    @precondition(lambda self: self.any_in(WAITING, AT_ASK, BEFORE_B, DONE))
    @rule(pick=thread_picks, last=texts)
    def update_state(self, pick: int, last: str) -> None:
        name = self.pick(pick, WAITING, AT_ASK, BEFORE_B, DONE)
        assert name is not None
        model = self.models[name]
        self.graph.update_state(cfg(name), {"last": last}, as_node=AS_NODE[model.status])
        model.edit(last)

    @precondition(lambda self: any(m.asks for m in self.models.values()))
    @rule(pick=thread_picks, which=st.integers(min_value=0, max_value=1000))
    def replay(self, pick: int, which: int) -> None:
        name = sorted(n for n, m in self.models.items() if m.asks)[
            pick % sum(1 for m in self.models.values() if m.asks)
        ]
        model = self.models[name]
        points = self.ask_checkpoints(name)
        index = which % len(points)
        head = self.graph.get_state(cfg(name)).config["configurable"]["checkpoint_id"]
        self.graph.invoke(None, cfg(name, points[index]))
        model.replay(index, new_checkpoint=points[index] != head)

    @precondition(lambda self: self.any_in(WAITING, AT_ASK, BEFORE_B, DONE))
    @rule(pick=thread_picks)
    def fork(self, pick: int) -> None:
        source = self.pick(pick, WAITING, AT_ASK, BEFORE_B, DONE)
        assert source is not None
        name = self.new_thread()
        self.graph.fork(cfg(source), name)
        self.models[name] = copy.deepcopy(self.models[source])

    @rule()
    def reopen_the_database(self) -> None:
        self.reopen()

    @rule(pick=thread_picks, point=st.sampled_from(FAULT_POINTS), nth=st.integers(min_value=1, max_value=4))
    def crash_and_recover(self, pick: int, point: str, nth: int) -> None:
        name = self.pick(pick) or self.new_thread()
        model = self.models[name]
        head = self.saver.store.head(name)
        hits = 0

        def die() -> None:
            nonlocal hits
            hits += 1
            if hits == nth:
                raise Crash(point)

        status = model.status
        crashed = False
        with faults.armed(point, die):
            try:
                if status in (NEW, DONE):
                    self.graph.invoke({"log": ["crash"]}, cfg(name))
                elif status == WAITING:
                    self.graph.invoke(Command(resume="crash-answer"), cfg(name))
                else:
                    self.graph.invoke(None, cfg(name))
            except Crash:
                crashed = True
        self.saver.close()  # the process is gone; its connection with it
        with SqliteEventStore(self.path) as store:
            landed = store.head(name) > head
        event(
            "crashed after the first commit"
            if crashed and landed
            else "crashed before any commit"
            if crashed
            else "no crash"
        )
        if landed:
            if status in (NEW, DONE):
                model.start("crash")
            elif status == WAITING:
                model.answer("crash-answer")
            else:
                model.proceed()
        self.reopen()
        drive(self.graph, name)
        model.drive()

    # checks
    def ask_checkpoints(self, name: str) -> list[str]:
        history = reversed(list(self.graph.get_state_history(cfg(name))))
        return [s.config["configurable"]["checkpoint_id"] for s in history if s.next == ("ask",)]

    @invariant()
    def every_thread_matches_the_model(self) -> None:
        for name, model in self.models.items():
            state = self.graph.get_state(cfg(name))
            assert state.values == model.values, name
            assert state.next == NEXT[model.status], (name, model.status)
            expected = (question(model.values),) if model.status == WAITING else ()
            assert tuple(i.value for i in state.interrupts) == expected, name

    @invariant()
    def history_holds_every_ask_checkpoint_with_its_values(self) -> None:
        for name, model in self.models.items():
            history = reversed(list(self.graph.get_state_history(cfg(name))))
            assert [s.values for s in history if s.next == ("ask",)] == model.asks, name

    @invariant()
    def every_hash_chain_verifies(self) -> None:
        for name, model in self.models.items():
            if model.status == NEW and self.saver.store.head(name) == 0:
                continue
            report = self.saver.store.verify(name)
            assert report.ok, (name, report.broken)


SystemMachine.TestCase.settings = settings(stateful_step_count=30, deadline=None)
TestSystem = SystemMachine.TestCase


@pytest.mark.slow
class TestSystemLongPrograms(SystemMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = settings(stateful_step_count=60, deadline=None)
