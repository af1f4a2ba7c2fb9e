"""A pydantic state schema works as in LangGraph, and its models come back as themselves from the log."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel

from engine import END, START, Command, CompiledStateGraph, SqliteSaver, StateGraph, interrupt
from eventstore import decode_value, encode_value


class Item(BaseModel):
    name: str
    qty: int = 1


class Cart(BaseModel):
    items: Annotated[list[Item], operator.add] = []
    note: str = ""


seen: list[Any] = []


def add(state: Cart) -> dict[str, Any]:
    seen.append(state)
    return {"items": [Item(name=f"item-{len(state.items)}")], "note": interrupt("checkout?")}


def cart_graph(path: Path) -> CompiledStateGraph:
    builder = StateGraph(Cart)
    builder.add_node("add", add)
    builder.add_edge(START, "add")
    builder.add_edge("add", END)
    return builder.compile(checkpointer=SqliteSaver(path))


def test_nodes_receive_the_pydantic_model_and_reducers_apply_to_its_fields(tmp_path: Path) -> None:
    seen.clear()
    config = {"configurable": {"thread_id": "cart"}}
    first = cart_graph(tmp_path / "c.db").invoke({"items": [Item(name="tea", qty=3)]}, config)

    assert isinstance(seen[-1], Cart) and seen[-1].items == [Item(name="tea", qty=3)]
    assert first["items"] == [Item(name="tea", qty=3)]
    assert [i.value for i in first["__interrupt__"]] == ["checkout?"]


def test_pydantic_values_come_back_as_models_after_reopening_the_database(tmp_path: Path) -> None:
    config = {"configurable": {"thread_id": "cart"}}
    cart_graph(tmp_path / "c.db").invoke({"items": [Item(name="tea", qty=3)]}, config)

    final = cart_graph(tmp_path / "c.db").invoke(Command(resume="yes"), config)

    assert final == {"items": [Item(name="tea", qty=3), Item(name="item-1")], "note": "yes"}
    assert all(type(item) is Item for item in final["items"])


def test_a_pydantic_model_round_trips_through_the_codec_exactly() -> None:
    value = {"cart": Cart(items=[Item(name="a", qty=2)], note="x")}
    assert decode_value(encode_value(value)) == value
