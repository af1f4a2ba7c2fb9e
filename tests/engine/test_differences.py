"""Where ledgergraph deliberately differs from LangGraph (the last section of COMPAT.md), item by item.

1. The interrupt tutorial works as written: plain input resumes a thread
   waiting in ``interrupt()``, ``invoke(None)`` starts a fresh thread, and
   ``update_state(config, None, as_node=END)`` is how pending interrupts are
   abandoned.
2. Silent no-ops become clear errors.
3. Typed state comes back typed.
4. Resumes are attributable.
5. Replay continues from a past checkpoint on a new branch (we write a
   ``source="fork"`` checkpoint first, like LangGraph 1.2).
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from engine import (
    END,
    START,
    Command,
    CompiledStateGraph,
    EmptyInputError,
    InMemorySaver,
    Interrupt,
    ResumeError,
    SqliteSaver,
    StateGraph,
    interrupt,
)
from engine.events import InterruptRaised, ResumeRecorded
from eventstore import decode_event


class Calls(Counter[str]):
    """Node run counts; nodes of one step may run on several threads."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def hit(self, name: str) -> None:
        with self.lock:
            self[name] += 1


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    answers: Annotated[list[Any], operator.add]


def config(thread: str = "t", **metadata: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"configurable": {"thread_id": thread}}
    if metadata:
        cfg["metadata"] = metadata
    return cfg


def writer(name: str, calls: Calls) -> Callable[[State], State]:
    def node(state: State) -> State:
        calls.hit(name)
        return {"log": [name]}

    return node


def asker(name: str, calls: Calls, questions: int = 1) -> Callable[[State], State]:
    def node(state: State) -> State:
        calls.hit(name)
        got = [interrupt(f"{name} question {i}") for i in range(questions)]
        return {"log": [name], "answers": got}

    return node


def build(
    calls: Calls,
    steps: list[str],
    *,
    asking: dict[str, int] | None = None,
    beside: list[str] | None = None,
    checkpointer: SqliteSaver | None = None,
    **compile_kwargs: Any,
) -> CompiledStateGraph:
    """A chain of ``steps``; nodes in ``asking`` ask that many questions; ``beside`` run next to the first."""
    asking = asking or {}
    graph = StateGraph(State)
    for name in steps + (beside or []):
        graph.add_node(name, asker(name, calls, asking[name]) if name in asking else writer(name, calls))
    graph.add_edge(START, steps[0])
    for name in beside or []:
        graph.add_edge(START, name)
    for first, second in itertools.pairwise(steps):
        graph.add_edge(first, second)
    graph.add_edge(steps[-1], END)
    return graph.compile(checkpointer=checkpointer or InMemorySaver(), **compile_kwargs)


def head(app: CompiledStateGraph, thread: str = "t") -> int:
    assert app.checkpointer is not None
    return app.checkpointer.store.head(thread)


# -- 1. the interrupt tutorial works as written ---------------------------------------------------------


class AgentState(TypedDict):
    approval: str


def test_the_interrupt_tutorial_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    def ask_for_approval(state: AgentState) -> AgentState:
        print("---ASKING FOR APPROVAL---")
        response = interrupt("Do you approve this action?")
        return {"approval": response}

    workflow = StateGraph(AgentState)
    workflow.add_node("approval_node", ask_for_approval)
    workflow.set_entry_point("approval_node")
    workflow.add_edge("approval_node", END)
    app = workflow.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": str(uuid.uuid4())}}

    result = app.invoke(None, cfg)

    assert list(result) == ["__interrupt__"]
    (raised,) = result["__interrupt__"]
    assert isinstance(result["__interrupt__"], tuple)
    assert raised == Interrupt(value="Do you approve this action?", id=raised.id)
    assert capsys.readouterr().out == "---ASKING FOR APPROVAL---\n"

    resume_result = app.invoke("Yes, I approve.", cfg)

    assert resume_result == {"approval": "Yes, I approve."}
    assert capsys.readouterr().out == "---ASKING FOR APPROVAL---\n"


def test_plain_input_to_a_waiting_thread_is_the_resume_value_not_new_state() -> None:
    calls = Calls()
    app = build(calls, ["before", "ask", "after"], asking={"ask": 1})
    app.invoke({"log": ["in"]}, config())

    result = app.invoke({"log": ["this is an answer"]}, config())

    assert result == {"log": ["in", "before", "ask", "after"], "answers": [{"log": ["this is an answer"]}]}
    assert (calls["before"], calls["ask"], calls["after"]) == (1, 2, 1)


def test_plain_input_answers_the_next_interrupt_of_a_node_that_asks_several_times() -> None:
    calls = Calls()
    app = build(calls, ["ask"], asking={"ask": 3})
    app.invoke({"log": []}, config())

    app.invoke("one", config())
    app.invoke("two", config())
    result = app.invoke("three", config())

    assert result["answers"] == ["one", "two", "three"]
    assert calls["ask"] == 4


def test_plain_input_with_several_pending_interrupts_needs_an_id_map() -> None:
    calls = Calls()
    app = build(calls, ["a"], asking={"a": 1, "b": 1}, beside=["b"])
    pending = app.invoke({"log": []}, config())["__interrupt__"]
    events = head(app)

    with pytest.raises(ResumeError, match="multiple pending interrupts"):
        app.invoke("ambiguous", config())
    assert head(app) == events

    result = app.invoke({i.id: f"answer to {i.value}" for i in pending}, config())
    assert result["answers"] == ["answer to a question 0", "answer to b question 0"]


def test_new_input_at_a_static_breakpoint_starts_again_as_in_langgraph() -> None:
    calls = Calls()
    app = build(calls, ["a", "b"], interrupt_before=["b"])
    app.invoke({"log": ["x"]}, config())
    assert app.get_state(config()).next == ("b",)

    result = app.invoke({"log": ["y"]}, config())

    assert result == {"log": ["x", "a", "y", "a"], "answers": []}
    assert (calls["a"], calls["b"]) == (2, 0)
    assert app.get_state(config()).next == ("b",)


def test_invoke_none_on_a_fresh_thread_starts_the_graph_with_empty_input() -> None:
    calls = Calls()
    app = build(calls, ["a", "b"])

    result = app.invoke(None, config())

    assert result == {"log": ["a", "b"], "answers": []}
    assert (calls["a"], calls["b"]) == (1, 1)
    assert app.get_state(config()).next == ()


def test_stream_none_on_a_fresh_thread_starts_the_graph() -> None:
    app = build(Calls(), ["a", "b"])

    assert list(app.stream(None, config())) == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}]


def test_update_state_as_end_then_new_input_abandons_pending_interrupts() -> None:
    calls = Calls()
    app = build(calls, ["ask", "after"], asking={"ask": 1})
    (old,) = app.invoke({"log": ["first"]}, config())["__interrupt__"]

    app.update_state(config(), None, as_node=END)

    cleared = app.get_state(config())
    assert cleared.next == ()
    assert cleared.interrupts == ()
    with pytest.raises(ResumeError):
        app.invoke(Command(resume={old.id: "too late"}), config())

    result = app.invoke({"log": ["second"]}, config())

    (new,) = result["__interrupt__"]
    assert new.value == old.value
    assert new.id != old.id
    assert result["log"] == ["first", "second"]
    assert calls["ask"] == 2 and calls["after"] == 0
    final = app.invoke("now answered", config())
    assert final["answers"] == ["now answered"]
    assert final["log"] == ["first", "second", "ask", "after"]


def test_abandoning_pending_interrupts_keeps_what_finished_siblings_wrote() -> None:
    """LangGraph 1.2.22 keeps them too: the live state shown before the update is not lost."""
    app = build(Calls(), ["ask"], asking={"ask": 1}, beside=["done"])
    app.invoke({"log": ["in"]}, config())
    shown = app.get_state(config()).values

    app.update_state(config(), None, as_node=END)

    assert shown["log"] == ["in", "done"]
    assert app.get_state(config()).values == shown


# -- 2. silent no-ops become clear errors ------------------------------------------------------------


def test_command_resume_on_a_finished_thread_raises_resume_error_saying_nothing_is_pending() -> None:
    app = build(Calls(), ["a"])
    app.invoke({"log": []}, config())
    events = head(app)

    with pytest.raises(ResumeError, match="no pending interrupt"):
        app.invoke(Command(resume="stray"), config())

    assert head(app) == events


def test_command_resume_on_a_fresh_thread_raises_resume_error_saying_it_has_not_started() -> None:
    app = build(Calls(), ["a"])

    with pytest.raises(ResumeError, match="not started"):
        app.invoke(Command(resume="stray"), config())

    assert head(app) == 0
    assert app.get_state(config()).values == {}


def test_a_stray_resume_is_not_kept_for_a_later_interrupt() -> None:
    calls = Calls()
    app = build(calls, ["ask"], asking={"ask": 1})
    app.invoke(None, config("done-thread"))
    app.invoke("answer", config("done-thread"))
    with pytest.raises(ResumeError):
        app.invoke(Command(resume="stray"), config("done-thread"))

    result = app.invoke({"log": ["again"]}, config("done-thread"))

    assert [i.value for i in result["__interrupt__"]] == ["ask question 0"]


def test_a_resume_map_naming_an_id_that_is_not_pending_raises_and_lists_what_is_pending() -> None:
    calls = Calls()
    app = build(calls, ["a"], asking={"a": 1, "b": 1}, beside=["b"])
    pending = {i.value: i.id for i in app.invoke({"log": []}, config())["__interrupt__"]}
    unknown = "0123456789abcdef" * 2
    events = head(app)

    with pytest.raises(ResumeError) as raised:
        app.invoke(Command(resume={pending["a question 0"]: "A", unknown: "?"}), config())

    message = str(raised.value)
    assert unknown in message
    assert pending["a question 0"] in message and pending["b question 0"] in message
    assert head(app) == events
    assert (calls["a"], calls["b"]) == (1, 1)


def test_answering_an_interrupt_twice_raises_because_it_is_no_longer_pending() -> None:
    app = build(Calls(), ["a"], asking={"a": 1, "b": 1}, beside=["b"])
    pending = {i.value: i.id for i in app.invoke({"log": []}, config())["__interrupt__"]}
    app.invoke(Command(resume={pending["a question 0"]: "A"}), config())

    with pytest.raises(ResumeError) as raised:
        app.invoke(Command(resume={pending["a question 0"]: "A again"}), config())

    assert pending["b question 0"] in str(raised.value)


@pytest.mark.parametrize("thread_state", ["fresh", "interrupted", "finished"])
def test_an_empty_command_raises_empty_input_error(thread_state: str) -> None:
    app = build(Calls(), ["ask"], asking={"ask": 1})
    if thread_state != "fresh":
        app.invoke({"log": []}, config())
    if thread_state == "finished":
        app.invoke("yes", config())
    events = head(app)

    with pytest.raises(EmptyInputError):
        app.invoke(Command(), config())
    with pytest.raises(EmptyInputError):
        list(app.stream(Command(), config()))

    assert head(app) == events


# -- 3. typed state comes back typed ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Approval:
    by: str
    level: int


class TypedState(TypedDict, total=False):
    pair: tuple[int, str]
    big: int
    approval: Approval
    trail: Annotated[tuple[str, ...], operator.add]


def typed_graph(saver: SqliteSaver) -> CompiledStateGraph:
    def ask(state: TypedState) -> TypedState:
        who = interrupt({"question": "approve?", "pair": state["pair"]})
        return {"approval": Approval(by=who, level=2**70), "big": state["big"] * 2, "trail": ("asked",)}

    graph = StateGraph(TypedState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    return graph.compile(checkpointer=saver)


def test_typed_state_comes_back_typed_after_reopening_the_database(tmp_path: Path) -> None:
    path = str(tmp_path / "typed.db")
    with SqliteSaver.from_conn_string(path) as saver:
        typed_graph(saver).invoke({"pair": (1, "a"), "big": 2**80, "trail": ("start",)}, config())

    with SqliteSaver.from_conn_string(path) as saver:
        app = typed_graph(saver)
        waiting = app.get_state(config())
        result = app.invoke(Command(resume="ann"), config())

    with SqliteSaver.from_conn_string(path) as saver:
        app = typed_graph(saver)
        final = app.get_state(config()).values
        history = [s.values for s in app.get_state_history(config())]

    assert waiting.values == {"pair": (1, "a"), "big": 2**80, "trail": ("start",)}
    assert isinstance(waiting.values["pair"], tuple)
    assert waiting.interrupts[0].value == {"question": "approve?", "pair": (1, "a")}
    assert isinstance(waiting.interrupts[0].value["pair"], tuple)
    approval = Approval(by="ann", level=2**70)
    expected = {"pair": (1, "a"), "big": 2**81, "approval": approval, "trail": ("start", "asked")}
    assert result == expected
    assert final == expected
    assert type(final["approval"]) is Approval and type(final["trail"]) is tuple
    assert history[0] == expected
    assert all(type(values.get("trail", ())) is tuple for values in history)


# -- 4. resumes are attributable -------------------------------------------------------------------


def test_resume_events_record_who_answered_which_question(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "audit.db")) as saver:
        app = build(Calls(), ["a"], asking={"a": 2, "b": 1}, beside=["b"], checkpointer=saver)
        pending = {i.value: i.id for i in app.invoke({"log": []}, config(user="system"))["__interrupt__"]}
        app.invoke(Command(resume={pending["b question 0"]: "ok b"}), config(user="alice"))
        second = app.invoke(Command(resume={pending["a question 0"]: "ok a"}), config(user="bob"))
        app.invoke(Command(resume="ok a again"), config(user="carol", ticket=42))
        events = [decode_event(record) for record in saver.store.read("t")]

    raised = {e.interrupt_id: e for e in events if isinstance(e, InterruptRaised)}
    resumes = [e for e in events if isinstance(e, ResumeRecorded)]
    answered = [(r.actor.get("user"), a.interrupt_id, a.value, a.question_hash) for r in resumes for a in r.answers]
    (a_second,) = second["__interrupt__"]

    assert [(user, value) for user, _, value, _ in answered] == [
        ("alice", "ok b"),
        ("bob", "ok a"),
        ("carol", "ok a again"),
    ]
    assert [iid for _, iid, _, _ in answered] == [pending["b question 0"], pending["a question 0"], a_second.id]
    for _, iid, _, question_hash in answered:
        assert question_hash == raised[iid].value_hash
    assert len({raised[iid].value_hash for _, iid, _, _ in answered}) == 3
    assert resumes[2].actor["ticket"] == 42
    assert [a.index for r in resumes for a in r.answers] == [0, 0, 1]


def test_the_question_hash_tells_different_questions_apart_and_matches_equal_ones() -> None:
    app = build(Calls(), ["a"], asking={"a": 1, "b": 1}, beside=["b"])
    app.invoke({"log": []}, config("one"))
    app.invoke({"log": []}, config("two"))
    assert app.checkpointer is not None
    store = app.checkpointer.store

    def hashes(thread: str) -> dict[Any, str]:
        found = (decode_event(r) for r in store.read(thread))
        return {e.value: e.value_hash for e in found if isinstance(e, InterruptRaised)}

    one, two = hashes("one"), hashes("two")
    assert one == two
    assert one["a question 0"] != one["b question 0"]


# -- 5. replay continues on a new branch ------------------------------------------------------------


def test_replay_writes_a_fork_checkpoint_and_reruns_only_the_later_nodes() -> None:
    calls = Calls()
    app = build(calls, ["a", "b", "c"])
    app.invoke({"log": ["x"]}, config())
    before = list(app.get_state_history(config()))
    target = next(s for s in before if s.next == ("b",))

    result = app.invoke(None, target.config)

    after = list(app.get_state_history(config()))
    fork = next(s for s in after if s.metadata["source"] == "fork")
    assert result == {"log": ["x", "a", "b", "c"], "answers": []}
    assert (calls["a"], calls["b"], calls["c"]) == (1, 2, 2)
    assert fork.parent_config == target.config
    assert fork.metadata["step"] == target.metadata["step"] + 1
    assert fork.values == target.values
    assert fork.next == ("b",)
    assert len(after) == len(before) + 3
    assert [s.config for s in after[-len(before) :]] == [s.config for s in before]
    assert app.get_state(config()).config == after[0].config
    assert after[0].parent_config == after[1].config
    assert after[1].parent_config == fork.config


def test_replay_before_an_interrupting_node_asks_again_and_drops_the_old_answer() -> None:
    calls = Calls()
    app = build(calls, ["a", "ask", "c"], asking={"ask": 1})
    (old,) = app.invoke({"log": ["x"]}, config())["__interrupt__"]
    app.invoke(Command(resume="first answer"), config())
    target = next(s for s in app.get_state_history(config()) if s.next == ("ask",))

    replayed = app.invoke(None, target.config)

    (new,) = replayed["__interrupt__"]
    assert new.value == old.value
    assert new.id != old.id
    assert replayed["answers"] == []
    result = app.invoke(Command(resume="second answer"), config())
    assert result["answers"] == ["second answer"]
    assert (calls["a"], calls["ask"], calls["c"]) == (1, 4, 2)
