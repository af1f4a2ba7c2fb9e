"""The async API wraps the same core: a LangGraph program using ainvoke/astream and async nodes ports."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import END, START, Command, CompiledStateGraph, InMemorySaver, StateGraph, interrupt


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    answer: str


async def fetch(state: State) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"log": ["fetched"]}


def ask(state: State) -> dict[str, Any]:
    return {"answer": interrupt("proceed?"), "log": ["asked"]}


async def route(state: State) -> str:
    await asyncio.sleep(0)
    return "ask" if "fetched" in state["log"] else END


def graph() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("fetch", fetch)
    builder.add_node("ask", ask)
    builder.add_edge(START, "fetch")
    builder.add_conditional_edges("fetch", route)
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


CONFIG = {"configurable": {"thread_id": "async"}}


def test_ainvoke_runs_async_nodes_and_edges_and_resumes_an_interrupt() -> None:
    app = graph()

    async def scenario() -> tuple[Any, Any]:
        first = await app.ainvoke({"log": []}, CONFIG)
        second = await app.ainvoke(Command(resume="yes"), CONFIG)
        return first, second

    first, second = asyncio.run(scenario())
    assert first["log"] == ["fetched"]
    assert [i.value for i in first["__interrupt__"]] == ["proceed?"]
    assert second == {"log": ["fetched", "asked"], "answer": "yes"}


def test_astream_yields_the_same_chunks_as_stream_in_order() -> None:
    app = graph()

    async def collect() -> list[Any]:
        return [chunk async for chunk in app.astream({"log": []}, CONFIG, stream_mode=["updates", "values"])]

    chunks = asyncio.run(collect())
    expected = list(graph().stream({"log": []}, CONFIG, stream_mode=["updates", "values"]))
    assert [mode for mode, _ in chunks] == [mode for mode, _ in expected]
    assert chunks[-1][1]["log"] == ["fetched"]


def test_astream_raises_what_the_run_raised() -> None:
    app = graph()

    async def collect() -> list[Any]:
        return [chunk async for chunk in app.astream({"nope": 1}, CONFIG)]

    with pytest.raises(Exception, match="unknown state key"):
        asyncio.run(collect())


def test_async_reads_and_edits_match_the_sync_ones() -> None:
    app = graph()
    app.invoke({"log": []}, CONFIG)

    async def scenario() -> tuple[Any, list[Any], Any]:
        state = await app.aget_state(CONFIG)
        history = [s async for s in app.aget_state_history(CONFIG)]
        edited = await app.aupdate_state(CONFIG, {"answer": "by hand"}, as_node="ask")
        return state, history, edited

    before = app.get_state(CONFIG)
    state, history, edited = asyncio.run(scenario())
    assert state == before
    assert state.next == ("ask",) and [i.value for i in state.interrupts] == ["proceed?"]
    assert [s.config for s in history] == [s.config for s in app.get_state_history(CONFIG)][1:]
    assert app.get_state(edited).values["answer"] == "by hand"
