"""Dynamic interrupts: ``interrupt()`` pauses a node, ``Command(resume=...)`` answers it.

COMPAT.md section 4 (tier C rows 4.1-4.13, Send part of 4.13), as adjusted by
"Where ledgergraph deliberately differs": ``invoke`` reports ``__interrupt__``
as a tuple, and resume mistakes raise instead of being ignored.
"""

from __future__ import annotations

import operator
import re
import threading
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
    InMemorySaver,
    Interrupt,
    ResumeError,
    Send,
    SqliteSaver,
    StateGraph,
    interrupt,
)
from eventstore import SerializationError

HEX32 = re.compile(r"[0-9a-f]{32}")


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    answers: Annotated[list[Any], operator.add]
    note: str


class Calls:
    """How many times each node ran (nodes of one step run on several threads)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hit(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]


def config(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def writer(name: str, calls: Calls) -> Callable[[State], State]:
    def node(state: State) -> State:
        calls.hit(name)
        return {"log": [name]}

    return node


def asker(name: str, questions: list[Any], calls: Calls, reached: list[str] | None = None) -> Callable[[State], State]:
    """A node that asks ``questions`` in order and writes the answers it got."""

    def node(state: State) -> State:
        calls.hit(name)
        got = []
        for i, question in enumerate(questions):
            got.append(interrupt(question))
            if reached is not None:
                reached.append(f"{name} after interrupt {i}")
        return {"log": [name], "answers": got}

    return node


def chain(calls: Calls, questions: list[Any], **compile_kwargs: Any) -> CompiledStateGraph:
    """START -> before -> ask (asks ``questions``) -> after -> END."""
    graph = StateGraph(State)
    graph.add_node("before", writer("before", calls))
    graph.add_node("ask", asker("ask", questions, calls))
    graph.add_node("after", writer("after", calls))
    graph.add_edge(START, "before")
    graph.add_edge("before", "ask")
    graph.add_edge("ask", "after")
    graph.add_edge("after", END)
    compile_kwargs.setdefault("checkpointer", InMemorySaver())
    return graph.compile(**compile_kwargs)


def parallel(
    calls: Calls, askers: list[str], finishers: list[str], checkpointer: SqliteSaver | None = None
) -> CompiledStateGraph:
    """START fans out to every asker (one question each, ``"q-<name>"``) and finisher; all join into ``end``."""
    graph = StateGraph(State)
    for name in askers:
        graph.add_node(name, asker(name, [f"q-{name}"], calls))
    for name in finishers:
        graph.add_node(name, writer(name, calls))
    graph.add_node("end", writer("end", calls))
    for name in askers + finishers:
        graph.add_edge(START, name)
    graph.add_edge(askers + finishers, "end")
    graph.add_edge("end", END)
    return graph.compile(checkpointer=checkpointer or InMemorySaver())


def fan_out(calls: Calls, count: int, questions_each: int = 1) -> CompiledStateGraph:
    """START sends ``count`` packets to ``worker``; worker i asks ``"w<i>-<j>"`` for j < questions_each."""

    def worker(packet: dict[str, int]) -> State:
        i = packet["i"]
        calls.hit(f"w{i}")
        got = [interrupt(f"w{i}-{j}") for j in range(questions_each)]
        return {"log": [f"w{i}"], "answers": [(i, tuple(got))]}

    graph = StateGraph(State)
    graph.add_node("worker", worker)
    graph.add_conditional_edges(START, lambda state: [Send("worker", {"i": i}) for i in range(count)])
    return graph.compile(checkpointer=InMemorySaver())


def ids_by_question(interrupts: tuple[Interrupt, ...]) -> dict[Any, str]:
    return {item.value: item.id for item in interrupts}


# -- 4.1 the first interrupt() call raises and stops the run ---------------------------------------


def test_first_interrupt_call_stops_the_run_and_invoke_returns_state_with_an_interrupt_tuple() -> None:
    calls = Calls()
    app = chain(calls, ["approve?"])

    result = app.invoke({"log": ["in"]}, config())

    assert set(result) == {"log", "answers", "__interrupt__"}
    assert result["log"] == ["in", "before"]
    assert result["answers"] == []
    assert isinstance(result["__interrupt__"], tuple)
    (raised,) = result["__interrupt__"]
    assert isinstance(raised, Interrupt)
    assert raised.value == "approve?"
    assert calls["after"] == 0
    assert app.get_state(config()).next == ("ask",)


def test_code_after_the_unanswered_interrupt_call_does_not_run() -> None:
    reached: list[str] = []
    graph = StateGraph(State)
    graph.add_node("ask", asker("ask", ["first", "second"], Calls(), reached))
    graph.add_edge(START, "ask")
    app = graph.compile(checkpointer=InMemorySaver())

    app.invoke({"log": []}, config())
    assert reached == []
    app.invoke(Command(resume=1), config())
    assert reached == ["ask after interrupt 0"]


def test_stream_updates_yields_the_interrupt_as_a_tuple_after_the_finished_nodes() -> None:
    app = chain(Calls(), ["approve?"])

    chunks = list(app.stream({"log": ["in"]}, config()))

    assert chunks[0] == {"before": {"log": ["before"]}}
    assert list(chunks[-1]) == ["__interrupt__"]
    assert isinstance(chunks[-1]["__interrupt__"], tuple)
    assert [i.value for i in chunks[-1]["__interrupt__"]] == ["approve?"]
    assert len(chunks) == 2


def test_stream_values_ends_with_the_state_and_the_interrupt() -> None:
    app = chain(Calls(), ["approve?"])

    chunks = list(app.stream({"log": ["in"]}, config(), stream_mode="values"))

    last = chunks[-1]
    assert last["log"] == ["in", "before"]
    assert [i.value for i in last["__interrupt__"]] == ["approve?"]
    assert all("__interrupt__" not in chunk for chunk in chunks[:-1])


def test_the_interrupt_value_is_surfaced_unchanged() -> None:
    question = {"action": "transfer", "amount": 12.5, "to": ["alice", "bob"], "urgent": False}
    app = chain(Calls(), [question])

    result = app.invoke({"log": []}, config())

    assert result["__interrupt__"][0].value == question
    assert app.get_state(config()).interrupts[0].value == question


# -- 4.2 / 4.3 resume re-executes the node; the i-th interrupt gets the i-th answer ----------------


def test_resumed_node_reruns_from_its_first_line_and_interrupt_returns_the_resume_value() -> None:
    calls = Calls()
    app = chain(calls, ["approve?"])
    app.invoke({"log": ["in"]}, config())

    result = app.invoke(Command(resume="yes"), config())

    assert calls["ask"] == 2
    assert calls["before"] == 1
    assert calls["after"] == 1
    assert result == {"log": ["in", "before", "ask", "after"], "answers": ["yes"]}
    assert app.get_state(config()).next == ()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_a_node_with_k_interrupts_runs_k_plus_one_times_over_k_resumes(k: int) -> None:
    calls = Calls()
    questions = [f"question {i}" for i in range(k)]
    app = chain(calls, questions)

    result = app.invoke({"log": []}, config())
    asked = [result["__interrupt__"][0]]
    for i in range(k):
        result = app.invoke(Command(resume=f"answer {i}"), config())
        if i < k - 1:
            asked.append(result["__interrupt__"][0])

    assert [item.value for item in asked] == questions
    assert len({item.id for item in asked}) == k
    assert calls["ask"] == k + 1
    assert "__interrupt__" not in result
    assert result["answers"] == [f"answer {i}" for i in range(k)]


def test_resumes_that_interrupt_again_add_no_checkpoint() -> None:
    app = chain(Calls(), ["one", "two", "three"])
    app.invoke({"log": []}, config())
    before = [s.config for s in app.get_state_history(config())]

    app.invoke(Command(resume=1), config())
    app.invoke(Command(resume=2), config())

    assert [s.config for s in app.get_state_history(config())] == before


def test_answers_of_one_task_never_reach_the_interrupt_of_the_next_task() -> None:
    calls = Calls()
    graph = StateGraph(State)
    graph.add_node("first", asker("first", ["q1"], calls))
    graph.add_node("second", asker("second", ["q2"], calls))
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    app = graph.compile(checkpointer=InMemorySaver())
    app.invoke({"log": []}, config())

    result = app.invoke(Command(resume="for q1"), config())

    assert [i.value for i in result["__interrupt__"]] == ["q2"]
    assert result["answers"] == ["for q1"]
    result = app.invoke(Command(resume="for q2"), config())
    assert result["answers"] == ["for q1", "for q2"]


def test_a_node_visited_again_in_a_loop_asks_afresh() -> None:
    calls = Calls()

    def ask(state: State) -> State:
        calls.hit("ask")
        return {"answers": [interrupt(f"visit {len(state.get('answers', []))}")]}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", lambda s: "ask" if len(s["answers"]) < 2 else END)
    app = graph.compile(checkpointer=InMemorySaver())

    first = app.invoke({"log": []}, config())["__interrupt__"][0]
    second = app.invoke(Command(resume="a"), config())["__interrupt__"][0]
    result = app.invoke(Command(resume="b"), config())

    assert (first.value, second.value) == ("visit 0", "visit 1")
    assert first.id != second.id
    assert result["answers"] == ["a", "b"]


# -- 4.4 interrupt ids ------------------------------------------------------------------------------


def test_interrupt_ids_are_32_lowercase_hex_characters() -> None:
    app = parallel(Calls(), ["a", "b"], [])
    result = app.invoke({"log": []}, config())

    ids = [i.id for i in result["__interrupt__"]]
    assert len(ids) == 2
    assert all(HEX32.fullmatch(i) for i in ids)
    assert len(set(ids)) == 2


def test_the_interrupt_id_is_the_same_on_invoke_stream_and_get_state() -> None:
    app = chain(Calls(), ["approve?"])

    (from_invoke,) = app.invoke({"log": []}, config())["__interrupt__"]
    state = app.get_state(config())
    (task,) = [t for t in state.tasks if t.name == "ask"]
    (from_stream,) = next(c for c in app.stream(None, config()) if "__interrupt__" in c)["__interrupt__"]

    assert task.interrupts == (from_invoke,)
    assert state.interrupts == (from_invoke,)
    assert from_stream == from_invoke


def test_the_second_interrupt_of_a_task_keeps_its_own_id_on_every_report() -> None:
    app = chain(Calls(), ["one", "two"])
    (first,) = app.invoke({"log": []}, config())["__interrupt__"]

    (second,) = app.invoke(Command(resume="1"), config())["__interrupt__"]

    assert second.id != first.id
    assert app.get_state(config()).interrupts == (second,)
    assert app.invoke(None, config())["__interrupt__"] == (second,)


def test_interrupt_ids_survive_closing_and_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    calls = Calls()
    with SqliteSaver.from_conn_string(str(path)) as saver:
        before = parallel(calls, ["a", "b"], ["c"], saver).invoke({"log": []}, config())["__interrupt__"]
    ids = ids_by_question(before)

    with SqliteSaver.from_conn_string(str(path)) as saver:
        reopened = parallel(calls, ["a", "b"], ["c"], saver)
        state = reopened.get_state(config())
        result = reopened.invoke(Command(resume={ids["q-a"]: "A", ids["q-b"]: "B"}), config())

    assert ids_by_question(state.interrupts) == ids
    assert {t.name: ids_by_question(t.interrupts) for t in state.tasks if t.interrupts} == {
        "a": {"q-a": ids["q-a"]},
        "b": {"q-b": ids["q-b"]},
    }
    assert result["answers"] == ["A", "B"]
    assert calls["c"] == 1


# -- 4.5 / 4.11 writes of finished siblings ---------------------------------------------------------


def test_invoke_returns_the_finished_siblings_writes_with_the_interrupts() -> None:
    app = parallel(Calls(), ["ask"], ["done"])

    result = app.invoke({"log": ["in"]}, config())

    assert result["log"] == ["in", "done"]
    assert [i.value for i in result["__interrupt__"]] == ["q-ask"]


def test_get_state_shows_pending_sibling_writes_applied_and_leaves_those_tasks_out_of_next() -> None:
    app = parallel(Calls(), ["ask"], ["done", "other"])
    app.invoke({"log": ["in"]}, config())

    state = app.get_state(config())

    assert state.values["log"] == ["in", "done", "other"]
    assert state.next == ("ask",)
    assert {t.name for t in state.tasks} == {"ask", "done", "other"}
    assert [i.value for i in state.interrupts] == ["q-ask"]


def test_resume_reapplies_finished_siblings_writes_without_running_them_again() -> None:
    calls = Calls()
    app = parallel(calls, ["ask"], ["done", "other"])
    app.invoke({"log": ["in"]}, config())

    result = app.invoke(Command(resume="ok"), config())

    assert (calls["done"], calls["other"], calls["ask"], calls["end"]) == (1, 1, 2, 1)
    assert result == {"log": ["in", "ask", "done", "other", "end"], "answers": ["ok"]}


# -- 4.6 what counts as a resume value ---------------------------------------------------------------


@pytest.mark.parametrize("value", [0, False, "", [], 0.0, ()], ids=repr)
def test_falsy_values_are_valid_resume_values(value: Any) -> None:
    calls = Calls()
    app = chain(calls, ["anything?"])
    app.invoke({"log": []}, config())

    result = app.invoke(Command(resume=value), config())

    assert "__interrupt__" not in result
    assert result["answers"] == [value]
    assert type(result["answers"][0]) is type(value)
    assert calls["ask"] == 2


@pytest.mark.parametrize(
    "value",
    [{"approved": True}, {"0" * 31: 1}, {"A" * 32: "upper-case is not an id"}, {"f" * 32: 1, "note": "x"}],
    ids=["plain-keys", "31-hex", "upper-hex", "mixed"],
)
def test_a_dict_whose_keys_are_not_all_interrupt_ids_is_one_resume_value(value: dict[str, Any]) -> None:
    app = chain(Calls(), ["what?"])
    app.invoke({"log": []}, config())

    result = app.invoke(Command(resume=value), config())

    assert result["answers"] == [value]


def test_a_dict_mixing_a_pending_id_with_other_keys_is_one_resume_value() -> None:
    app = chain(Calls(), ["what?"])
    (pending,) = app.invoke({"log": []}, config())["__interrupt__"]
    value = {pending.id: "yes", "comment": "not a map"}

    result = app.invoke(Command(resume=value), config())

    assert result["answers"] == [value]


# -- 4.7 several pending interrupts ------------------------------------------------------------------


def test_parallel_interrupts_answered_all_at_once_by_id() -> None:
    calls = Calls()
    app = parallel(calls, ["a", "b", "c"], ["d"])
    ids = ids_by_question(app.invoke({"log": []}, config())["__interrupt__"])

    result = app.invoke(Command(resume={ids["q-a"]: "A", ids["q-b"]: "B", ids["q-c"]: "C"}), config())

    assert "__interrupt__" not in result
    assert result["log"] == ["a", "b", "c", "d", "end"]
    assert result["answers"] == ["A", "B", "C"]
    assert [calls[n] for n in ("a", "b", "c", "d", "end")] == [2, 2, 2, 1, 1]


def test_a_partial_resume_map_finishes_answered_tasks_and_reinterrupts_the_rest_with_the_same_ids() -> None:
    calls = Calls()
    app = parallel(calls, ["a", "b", "c"], ["d"])
    ids = ids_by_question(app.invoke({"log": []}, config())["__interrupt__"])

    result = app.invoke(Command(resume={ids["q-b"]: "B"}), config())

    assert ids_by_question(result["__interrupt__"]) == {"q-a": ids["q-a"], "q-c": ids["q-c"]}
    assert result["log"] == ["b", "d"]
    assert app.get_state(config()).next == ("a", "c")
    assert [calls[n] for n in ("a", "b", "c", "d")] == [2, 2, 2, 1]

    result = app.invoke(Command(resume={ids["q-c"]: "C"}), config())

    assert ids_by_question(result["__interrupt__"]) == {"q-a": ids["q-a"]}
    assert [calls[n] for n in ("a", "b", "c", "d")] == [3, 2, 3, 1]

    result = app.invoke(Command(resume={ids["q-a"]: "A"}), config())

    assert "__interrupt__" not in result
    assert result["answers"] == ["A", "B", "C"]
    assert [calls[n] for n in ("a", "b", "c", "d", "end")] == [4, 2, 3, 1, 1]


def test_a_single_resume_value_with_several_pending_interrupts_raises_and_changes_nothing() -> None:
    calls = Calls()
    app = parallel(calls, ["a", "b"], ["d"])
    ids = ids_by_question(app.invoke({"log": []}, config())["__interrupt__"])
    store = app.checkpointer.store  # type: ignore[union-attr]
    events_before = store.head("t")
    state_before = app.get_state(config())

    with pytest.raises(ResumeError) as raised:
        app.invoke(Command(resume="for everyone"), config())

    assert isinstance(raised.value, RuntimeError)
    assert "multiple pending interrupts" in str(raised.value)
    assert ids["q-a"] in str(raised.value) and ids["q-b"] in str(raised.value)
    assert store.head("t") == events_before
    assert app.get_state(config()) == state_before
    assert (calls["a"], calls["b"]) == (1, 1)


# -- 4.9 invoke(None) is not an answer --------------------------------------------------------------


def test_invoke_none_on_an_interrupted_thread_reruns_the_node_and_asks_again() -> None:
    calls = Calls()
    app = chain(calls, ["approve?"])
    (first,) = app.invoke({"log": ["in"]}, config())["__interrupt__"]

    result = app.invoke(None, config())

    assert result["__interrupt__"] == (first,)
    assert result["log"] == ["in", "before"]
    assert calls["ask"] == 2
    assert calls["before"] == 1
    assert app.get_state(config()).interrupts == (first,)


# -- 4.12 Command(resume=..., update=...) -----------------------------------------------------------


def test_command_update_is_applied_before_the_resumed_node_reruns() -> None:
    seen: list[str | None] = []

    def ask(state: State) -> State:
        seen.append(state.get("note"))
        return {"answers": [interrupt("note?")]}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    app = graph.compile(checkpointer=InMemorySaver())
    app.invoke({"log": [], "note": "original"}, config())

    result = app.invoke(Command(resume="ok", update={"note": "edited", "log": ["by caller"]}), config())

    assert seen == ["original", "edited"]
    assert result == {"log": ["by caller"], "answers": ["ok"], "note": "edited"}


# -- 4.13 interrupts in Send tasks -----------------------------------------------------------------


def test_send_tasks_interrupt_each_in_their_own_scope_and_are_answered_by_id() -> None:
    calls = Calls()
    app = fan_out(calls, 3)
    ids = ids_by_question(app.invoke({"log": []}, config())["__interrupt__"])
    assert set(ids) == {"w0-0", "w1-0", "w2-0"}

    result = app.invoke(Command(resume={ids["w1-0"]: "one"}), config())
    assert ids_by_question(result["__interrupt__"]) == {"w0-0": ids["w0-0"], "w2-0": ids["w2-0"]}
    assert app.get_state(config()).values["answers"] == [(1, ("one",))]

    result = app.invoke(Command(resume={ids["w0-0"]: "zero", ids["w2-0"]: "two"}), config())

    assert "__interrupt__" not in result
    assert result["answers"] == [(0, ("zero",)), (1, ("one",)), (2, ("two",))]
    assert [calls[f"w{i}"] for i in range(3)] == [3, 2, 3]


def test_send_tasks_with_several_interrupts_get_their_own_answers_in_order() -> None:
    app = fan_out(Calls(), 2, questions_each=2)
    pending = ids_by_question(app.invoke({"log": []}, config())["__interrupt__"])

    rounds = 0
    while pending:
        result = app.invoke(Command(resume={pid: f"answer to {q}" for q, pid in pending.items()}), config())
        rounds += 1
        pending = ids_by_question(result.get("__interrupt__", ()))

    assert rounds == 2
    assert result["answers"] == [
        (0, ("answer to w0-0", "answer to w0-1")),
        (1, ("answer to w1-0", "answer to w1-1")),
    ]


# -- values the log cannot hold ----------------------------------------------------------------------


def test_an_unencodable_resume_value_is_rejected_before_anything_is_recorded() -> None:
    calls = Calls()
    app = chain(calls, ["approve?"])
    (pending,) = app.invoke({"log": []}, config())["__interrupt__"]
    store = app.checkpointer.store  # type: ignore[union-attr]
    events = store.head("t")

    with pytest.raises(SerializationError, match="object"):
        app.invoke(Command(resume=object()), config())

    assert store.head("t") == events
    assert app.get_state(config()).interrupts == (pending,)
    assert app.invoke(Command(resume="fine"), config())["answers"] == ["fine"]


def test_an_unencodable_interrupt_value_fails_the_step_without_recording_any_of_it() -> None:
    calls = Calls()
    graph = StateGraph(State)
    graph.add_node("bad", asker("bad", [object()], calls))
    graph.add_node("done", writer("done", calls))
    graph.add_edge(START, "bad")
    graph.add_edge(START, "done")
    app = graph.compile(checkpointer=InMemorySaver())

    with pytest.raises(SerializationError, match="'bad'"):
        app.invoke({"log": ["in"]}, config())

    state = app.get_state(config())
    assert state.values["log"] == ["in"]
    assert state.next == ("bad", "done")
    assert state.interrupts == ()


# -- 4.1 / 3.4 without a checkpointer; interrupt() outside a node -----------------------------------


def test_interrupt_without_a_checkpointer_still_surfaces() -> None:
    graph = StateGraph(State)
    graph.add_node("ask", asker("ask", ["approve?"], Calls()))
    graph.add_edge(START, "ask")
    app = graph.compile()

    result = app.invoke({"log": ["in"]})

    assert result["log"] == ["in"]
    assert [i.value for i in result["__interrupt__"]] == ["approve?"]


def test_command_resume_without_a_checkpointer_raises_runtime_error() -> None:
    graph = StateGraph(State)
    graph.add_node("ask", asker("ask", ["approve?"], Calls()))
    graph.add_edge(START, "ask")
    app = graph.compile()
    app.invoke({"log": []})

    with pytest.raises(RuntimeError, match="checkpointer"):
        app.invoke(Command(resume="yes"))
    with pytest.raises(RuntimeError, match="checkpointer"):
        list(app.stream(Command(resume="yes")))


def test_interrupt_outside_a_node_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        interrupt("who is asking?")


def test_interrupt_in_a_worker_thread_outside_a_node_raises_runtime_error() -> None:
    errors: list[BaseException] = []

    def call() -> None:
        try:
            interrupt("from a plain thread")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()

    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


def test_the_interrupt_of_a_graph_without_a_checkpointer_cannot_leak_into_the_next_call() -> None:
    calls = Calls()
    graph = StateGraph(State)
    graph.add_node("ask", asker("ask", ["approve?"], calls))
    graph.add_edge(START, "ask")
    app = graph.compile()

    app.invoke({"log": ["one"]})
    result = app.invoke({"log": ["two"]})

    assert result["log"] == ["two"]
    assert [i.value for i in result["__interrupt__"]] == ["approve?"]


def test_interrupts_of_different_threads_are_independent() -> None:
    app = chain(Calls(), ["approve?"])
    (a,) = app.invoke({"log": ["a"]}, config("a"))["__interrupt__"]
    (b,) = app.invoke({"log": ["b"]}, config("b"))["__interrupt__"]

    result = app.invoke(Command(resume="yes for a"), config("a"))

    assert a.id != b.id
    assert result["answers"] == ["yes for a"]
    assert app.get_state(config("b")).interrupts == (b,)


def test_the_graph_waits_at_the_end_node_only_after_every_answer() -> None:
    calls = Calls()
    app = parallel(calls, ["a", "b"], [])
    ids = ids_by_question(app.invoke({"log": []}, config())["__interrupt__"])

    app.invoke(Command(resume={ids["q-a"]: 1}), config())
    assert calls["end"] == 0
    app.invoke(Command(resume={ids["q-b"]: 2}), config())
    assert calls["end"] == 1
    assert app.get_state(config()).next == ()
