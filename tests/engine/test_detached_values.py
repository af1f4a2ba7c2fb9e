"""A thread's state is what its log says, whatever code outside the engine does with the values it touched.

The engine caches frames between calls and snapshots them, so each test
changes, in place, a value that crossed the engine's edge (an input, a node's
return value, a result, a streamed chunk, a state read) and then checks that
the thread in this process, the thread read by a fresh process, and every
snapshot all agree with the log.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from hypothesis import given
from hypothesis import strategies as st

from engine import END, START, Command, Send, SqliteSaver, StateGraph, interrupt
from engine.detach import detached


class Chat(TypedDict):
    msgs: Annotated[list[Any], operator.add]
    last: dict[str, Any]


def _cfg(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _reply(state: Chat) -> dict[str, Any]:
    return {"msgs": [f"reply {len(state['msgs'])}"], "last": {"tags": ["bot"]}}


def _chat(node: Any = _reply) -> StateGraph:
    builder = StateGraph(Chat)
    builder.add_node("bot", node)
    builder.add_edge(START, "bot")
    builder.add_edge("bot", END)
    return builder


def _as_the_log_says(builder: StateGraph, path: Path, live: SqliteSaver, config: dict[str, Any]) -> dict[str, Any]:
    """The thread's values read by a fresh process, after checking the live process and the snapshots agree."""
    with SqliteSaver(path) as fresh:
        graph = builder.compile(checkpointer=fresh)
        assert graph.verify_snapshots(config).mismatches == ()
        logged = graph.get_state(config).values
    assert builder.compile(checkpointer=live).get_state(config).values == logged
    return logged


def test_changing_what_invoke_returned_changes_nothing(tmp_path: Path) -> None:
    builder = _chat()
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        out = graph.invoke({"msgs": ["hi"]}, _cfg())
        out["msgs"].append("changed")
        out["last"]["tags"].append("changed")
        again = graph.invoke({"msgs": ["again"]}, _cfg())
        assert again == {"msgs": ["hi", "reply 1", "again", "reply 3"], "last": {"tags": ["bot"]}}
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == again


def test_changing_the_input_after_the_call_changes_nothing(tmp_path: Path) -> None:
    builder = _chat()
    sent = {"msgs": ["hi"], "last": {"tags": ["sent"]}}
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke(sent, _cfg())
        sent["msgs"].append("changed")
        sent["last"]["tags"].append("changed")
        _, after_input, the_input = graph.get_state_history(_cfg())
        assert after_input.values == {"msgs": ["hi"], "last": {"tags": ["sent"]}}
        replayed = graph.invoke(None, the_input.config)  # the input's step runs again: it reads the input
        assert replayed == {"msgs": ["hi", "reply 1"], "last": {"tags": ["bot"]}}
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == replayed


def test_a_node_that_changes_its_input_in_place_changes_only_what_it_returns(tmp_path: Path) -> None:
    def sneaky(state: Chat) -> dict[str, Any]:
        state["msgs"].append("in place")
        state["last"]["tags"] = ["in place"]
        return {"msgs": ["returned"]}

    builder = _chat(sneaky)
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"msgs": ["hi"], "last": {"tags": []}}, _cfg())
        out = graph.invoke({"msgs": ["again"]}, _cfg())
        assert out == {"msgs": ["hi", "returned", "again", "returned"], "last": {"tags": []}}
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == out


def test_a_node_that_keeps_and_later_changes_what_it_returned_changes_nothing(tmp_path: Path) -> None:
    kept: list[Any] = []

    def hoarder(state: Chat) -> dict[str, Any]:
        for earlier in kept:
            earlier["tags"].append("changed later")
        reply: dict[str, Any] = {"tags": [len(state["msgs"])]}
        kept.append(reply)
        return {"msgs": [reply], "last": reply}

    builder = _chat(hoarder)
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        for turn in range(3):
            out = graph.invoke({"msgs": [turn]}, _cfg())
        assert out["msgs"] == [0, {"tags": [1]}, 1, {"tags": [3]}, 2, {"tags": [5]}]
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == out


def test_a_conditional_edge_that_changes_the_state_changes_nothing(tmp_path: Path) -> None:
    def route(state: Chat) -> str:
        state["last"]["tags"].append("from the edge")
        return END

    builder = StateGraph(Chat)
    builder.add_node("bot", _reply)
    builder.add_edge(START, "bot")
    builder.add_conditional_edges("bot", route, [END])
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"msgs": ["hi"]}, _cfg())
        assert graph.get_state(_cfg()).values["last"] == {"tags": ["bot"]}
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg())["last"] == {"tags": ["bot"]}


def test_changing_streamed_chunks_changes_nothing(tmp_path: Path) -> None:
    builder = _chat()
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        for mode, chunk in graph.stream({"msgs": ["hi"]}, _cfg(), stream_mode=["values", "updates"]):
            if mode == "values":
                chunk["msgs"].append("changed")
            elif "bot" in chunk:
                chunk["bot"]["msgs"].append("changed")
                chunk["bot"]["last"]["tags"].append("changed")
        out = graph.invoke({"msgs": ["again"]}, _cfg())
        assert out == {"msgs": ["hi", "reply 1", "again", "reply 3"], "last": {"tags": ["bot"]}}
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == out


def test_changing_state_read_back_changes_nothing(tmp_path: Path) -> None:
    builder = _chat()
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"msgs": ["hi"]}, _cfg())
        graph.get_state(_cfg()).values["msgs"].append("changed")
        for snapshot in graph.get_state_history(_cfg()):
            snapshot.values.get("msgs", []).append("changed")
            for task in snapshot.tasks:
                if task.result:
                    task.result["msgs"].append("changed")
        assert graph.get_state(_cfg()).values["msgs"] == ["hi", "reply 1"]
        out = graph.invoke({"msgs": ["again"]}, _cfg())
        assert out["msgs"] == ["hi", "reply 1", "again", "reply 3"]
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == out


def test_changing_update_state_values_after_the_call_changes_nothing(tmp_path: Path) -> None:
    builder = _chat()
    edit = {"msgs": ["edited"], "last": {"tags": ["edit"]}}
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"msgs": ["hi"]}, _cfg())
        graph.update_state(_cfg(), edit, as_node="bot")
        edit["msgs"].append("changed")
        edit["last"]["tags"].append("changed")
        expected = {"msgs": ["hi", "reply 1", "edited"], "last": {"tags": ["edit"]}}
        assert graph.get_state(_cfg()).values == expected
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == expected


class Fan(TypedDict):
    results: Annotated[list[Any], operator.add]


def test_send_args_are_the_receivers_own(tmp_path: Path) -> None:
    shared = {"seen": []}

    def fan_out(state: Fan) -> list[Send]:
        return [Send("work", shared), Send("work", shared)]

    def work(arg: dict[str, Any]) -> dict[str, Any]:
        arg["seen"].append("x")  # each receiver changes its own copy
        return {"results": [len(arg["seen"])]}

    builder = StateGraph(Fan)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, fan_out, ["work"])
    builder.add_edge("work", END)
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        assert graph.invoke({"results": []}, _cfg())["results"] == [1, 1]
        assert shared == {"seen": []}
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg())["results"] == [1, 1]


class Asked(TypedDict):
    answers: Annotated[list[Any], operator.add]


def test_resume_values_and_interrupt_values_are_copies(tmp_path: Path) -> None:
    def ask(state: Asked) -> dict[str, Any]:
        first = interrupt({"question": ["first"]})
        first["notes"].append("changed by the node")  # the node may change the answer it got
        second = interrupt({"question": ["second"]})
        return {"answers": [first, second]}

    builder = StateGraph(Asked)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    answer = {"notes": ["given"]}
    with SqliteSaver(tmp_path / "t.db") as saver:
        graph = builder.compile(checkpointer=saver)
        asked = graph.invoke({"answers": []}, _cfg())
        asked["__interrupt__"][0].value["question"].append("changed by the caller")
        graph.invoke(Command(resume=answer), _cfg())
        answer["notes"].append("changed by the caller")
        task = graph.get_state(_cfg()).tasks[0]
        assert task.interrupts[0].value == {"question": ["second"]}
        out = graph.invoke(Command(resume="two"), _cfg())
        assert out["answers"] == [{"notes": ["given", "changed by the node"]}, "two"]
        assert _as_the_log_says(builder, tmp_path / "t.db", saver, _cfg()) == out


# -- detached itself ----------------------------------------------------------------------------

_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), st.binary())
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
        st.tuples(inner, inner),
        st.frozensets(st.integers(), max_size=3),
        st.sets(st.text(max_size=3), max_size=3),
    ),
    max_leaves=20,
)
_MUTABLE = (list, dict, set)


def _mutable_parts(value: Any) -> list[Any]:
    found = [value] if isinstance(value, _MUTABLE) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    for child in children:
        found.extend(_mutable_parts(child))
    return found


@given(_values)
def test_a_detached_value_is_equal_and_shares_no_mutable_part(value: Any) -> None:
    copied = detached(value)
    assert copied == value
    assert type(copied) is type(value)
    originals = {id(part) for part in _mutable_parts(value)}
    assert not any(id(part) in originals for part in _mutable_parts(copied))


def test_detached_shares_immutable_parts_and_copies_other_objects() -> None:
    class Note:
        def __init__(self) -> None:
            self.lines = ["a"]

    text, frozen, note = "x" * 100, (1, "a", (2, 3)), Note()
    copied = detached({"text": text, "frozen": frozen, "note": note})
    assert copied["text"] is text and copied["frozen"] is frozen
    assert copied["note"] is not note and copied["note"].lines == ["a"] and copied["note"].lines is not note.lines


def test_a_value_that_contains_itself_is_copied_whole() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    copied = detached(loop)
    assert copied is not loop and copied[1] is copied and copied[0] == 1


def test_a_value_too_deep_to_copy_is_left_for_the_encoder_to_refuse() -> None:
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    assert detached(deep) is deep
