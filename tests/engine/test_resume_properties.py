"""Properties of interrupts and resumes, and of folding the log (Hypothesis, bounded by the "ci" profile).

1. A node with k interrupts gets its k answers in order and runs k+1 times.
2. Parallel interrupting Send tasks answered in random batches by id each get
   their own answer and no other.
3. Closing and reopening the database between every resume ends in the same
   state as a run whose answers were given up front.
4. Folding a thread's log from its first event reproduces the live state at
   every checkpoint.
"""

from __future__ import annotations

import operator
import threading
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Command, CompiledStateGraph, InMemorySaver, Send, SqliteSaver, StateGraph, interrupt
from tests.strategies import (
    GraphSpec,
    batches,
    build_engine_graph,
    engine_answer,
    engine_inputs,
    graph_specs,
    resume_values,
)

CONFIG = {"configurable": {"thread_id": "t"}}


class State(TypedDict, total=False):
    answers: Annotated[list[Any], operator.add]


class Calls:
    def __init__(self) -> None:
        self.counts: Counter[Any] = Counter()
        self.lock = threading.Lock()

    def hit(self, key: Any) -> None:
        with self.lock:
            self.counts[key] += 1


def without_interrupts(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "__interrupt__"}


# -- 1. k interrupts in one node ----------------------------------------------------------------------


@given(answers=st.lists(resume_values, min_size=1, max_size=4), plain=st.lists(st.booleans(), min_size=4, max_size=4))
def test_a_node_with_k_interrupts_gets_its_answers_in_order_and_runs_k_plus_one_times(
    answers: list[Any], plain: list[bool]
) -> None:
    k = len(answers)
    calls = Calls()

    def ask(state: State) -> State:
        calls.hit("ask")
        return {"answers": [tuple(interrupt(f"question {i}") for i in range(k))]}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.set_entry_point("ask")
    app = graph.compile(checkpointer=InMemorySaver())

    result = app.invoke({"answers": []}, CONFIG)
    asked = [result["__interrupt__"]]
    for answer, as_plain_input in zip(answers, plain, strict=False):
        result = app.invoke(answer if as_plain_input else Command(resume=answer), CONFIG)
        asked.append(result.get("__interrupt__", ()))

    assert [[i.value for i in a] for a in asked] == [[f"question {i}"] for i in range(k)] + [[]]
    assert result == {"answers": [tuple(answers)]}
    assert calls.counts["ask"] == k + 1
    assert app.get_state(CONFIG).next == ()


# -- 2. parallel Send tasks answered in batches ----------------------------------------------------------


@given(data=st.data(), m=st.integers(min_value=1, max_value=5))
def test_parallel_send_tasks_answered_in_random_batches_each_get_their_own_answer(data: st.DataObject, m: int) -> None:
    answers = data.draw(st.lists(resume_values, min_size=m, max_size=m), label="answers")
    order = data.draw(batches(range(m)), label="batches")
    calls = Calls()

    def worker(packet: dict[str, int]) -> State:
        calls.hit(packet["i"])
        return {"answers": [(packet["i"], interrupt(f"worker {packet['i']}"))]}

    graph = StateGraph(State)
    graph.add_node("worker", worker)
    graph.add_conditional_edges("__start__", lambda state: [Send("worker", {"i": i}) for i in range(m)])
    app = graph.compile(checkpointer=InMemorySaver())

    first = app.invoke({"answers": []}, CONFIG)
    ids = {i.value: i.id for i in first["__interrupt__"]}
    assert sorted(ids) == sorted(f"worker {i}" for i in range(m))

    answered: list[int] = []
    for round_no, batch in enumerate(order):
        result = app.invoke(Command(resume={ids[f"worker {i}"]: answers[i] for i in batch}), CONFIG)
        answered.extend(batch)
        still = {i.value: i.id for i in result.get("__interrupt__", ())}
        assert still == {f"worker {i}": ids[f"worker {i}"] for i in range(m) if i not in answered}
        got = dict(without_interrupts(result)["answers"])
        assert got == {i: answers[i] for i in answered}
        for i in batch:
            assert calls.counts[i] == round_no + 2

    assert result == {"answers": [(i, answers[i]) for i in range(m)]}
    assert len(list(app.get_state_history(CONFIG))) == 3


# -- 3. reopening the database between resumes ----------------------------------------------------------


def _open(path: Path, spec: GraphSpec) -> tuple[SqliteSaver, CompiledStateGraph]:
    saver = SqliteSaver(str(path))
    return saver, build_engine_graph(spec).compile(checkpointer=saver)


@given(spec=graph_specs(asking=True), start=engine_inputs, data=st.data())
def test_reopening_the_database_between_every_resume_ends_like_an_uninterrupted_run(
    spec: GraphSpec, start: dict[str, Any], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    expected = build_engine_graph(spec, ask=engine_answer).compile(checkpointer=InMemorySaver()).invoke(start, CONFIG)
    path = tmp_path_factory.mktemp("reopen") / "thread.db"

    saver, app = _open(path, spec)
    with saver:
        app.invoke(start, CONFIG)
    for _ in range(len(spec.nodes) + 1):
        saver, app = _open(path, spec)
        with saver:
            pending = app.get_state(CONFIG).interrupts
            if not pending:
                break
            chosen = data.draw(st.lists(st.sampled_from(pending), min_size=1, unique=True), label="answer now")
            app.invoke(Command(resume={i.id: engine_answer(i.value) for i in chosen}), CONFIG)

    saver, app = _open(path, spec)
    with saver:
        final = app.get_state(CONFIG)
    assert final.interrupts == ()
    assert final.next == ()
    assert final.values == expected


# -- 4. folding the log reproduces the live state -------------------------------------------------------


def _run_live(app: CompiledStateGraph, start: dict[str, Any]) -> list[dict[str, Any]]:
    """Run to the end, answering every interrupt; the values after each step, as the values stream showed them.

    Left out: the chunk that reports an interrupt, and the first chunk of a resume,
    which restates the checkpoint the resume continues from (as LangGraph does).
    """
    steps = [c for c in app.stream(start, CONFIG, stream_mode="values") if "__interrupt__" not in c]
    while pending := app.get_state(CONFIG).interrupts:
        resume = Command(resume={i.id: engine_answer(i.value) for i in pending})
        chunks = list(app.stream(resume, CONFIG, stream_mode="values"))
        steps += [c for c in chunks[1:] if "__interrupt__" not in c]
    return steps


@given(
    spec=graph_specs(asking=True),
    inputs=st.lists(engine_inputs, min_size=1, max_size=2),
    snapshot_every=st.integers(min_value=1, max_value=3),
)
def test_folding_the_log_from_its_first_event_reproduces_the_live_state_at_every_checkpoint(
    spec: GraphSpec,
    inputs: list[dict[str, Any]],
    snapshot_every: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = tmp_path_factory.mktemp("fold") / "thread.db"
    with SqliteSaver(str(path), snapshot_every=snapshot_every) as saver:
        app = build_engine_graph(spec).compile(checkpointer=saver)
        live_steps = [values for start in inputs for values in _run_live(app, start)]
        live_history = list(app.get_state_history(CONFIG))
        live_head = app.get_state(CONFIG)

    with SqliteSaver(str(path)) as saver:
        with_snapshots = list(build_engine_graph(spec).compile(checkpointer=saver).get_state_history(CONFIG))

    with SqliteSaver(str(path)) as saver:
        saver.store.delete_snapshots()
        fresh = build_engine_graph(spec).compile(checkpointer=saver)
        from_scratch = list(fresh.get_state_history(CONFIG))
        head = fresh.get_state(CONFIG)

    loop_values = [s.values for s in reversed(from_scratch) if (s.metadata or {})["source"] == "loop"]
    assert loop_values == live_steps
    assert from_scratch == live_history
    assert with_snapshots == live_history
    assert head == live_head
