"""``StateGraph``: the builder. It collects nodes and edges, then ``compile()`` validates them."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from engine.constants import END, RESERVED_CHARS, START
from engine.schema import StateSchema

if TYPE_CHECKING:
    from engine.compiled import CompiledStateGraph


@attrs.frozen
class NodeSpec:
    """A node: its name, its function, and whether the function wants the run config."""

    name: str
    fn: Callable[..., Any]
    wants_config: bool


@attrs.frozen
class Branch:
    """A conditional edge: ``path(state)`` picks the next node(s), optionally through ``path_map``."""

    source: str
    path: Callable[..., Any]
    path_map: dict[Hashable, str] | None
    wants_config: bool


@attrs.frozen
class Join:
    """A join edge: ``target`` runs once every node in ``sources`` has finished."""

    key: str
    sources: frozenset[str]
    target: str


def _wants_config(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.name == "config" for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 and positional[1].default is inspect.Parameter.empty


class StateGraph:
    """A graph of nodes over a typed state, run in supersteps (mirrors LangGraph's ``StateGraph``)."""

    def __init__(self, state_schema: Any, *args: Any, **kwargs: Any) -> None:
        self.schema = StateSchema(state_schema)
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.joins: list[Join] = []
        self.branches: list[Branch] = []
        self.compiled = False

    def add_node(
        self, node: str | Callable[..., Any], action: Callable[..., Any] | None = None, **_: Any
    ) -> StateGraph:
        """Add a node by name and function, or by function alone (named after it)."""
        if action is None:
            if isinstance(node, str) or not callable(node):
                raise ValueError(f"add_node({node!r}) needs a function")
            action, name = node, getattr(node, "__name__", None)
            if not name or name == "<lambda>":
                raise ValueError("a node given as a lambda needs a name: add_node('name', fn)")
        elif isinstance(node, str):
            name = node
        else:
            raise ValueError(f"node name must be a string, not {node!r}")
        if not callable(action):
            raise ValueError(f"node {name!r}: action must be callable, not {action!r}")
        if name in (START, END):
            raise ValueError(f"node name {name!r} is reserved")
        if any(ch in name for ch in RESERVED_CHARS):
            raise ValueError(f"node name {name!r} must not contain any of {RESERVED_CHARS}")
        if name in self.nodes:
            raise ValueError(f"node {name!r} is already present")
        self.nodes[name] = NodeSpec(name=name, fn=action, wants_config=_wants_config(action))
        return self

    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> StateGraph:
        """Run ``end_key`` after ``start_key``; a list of sources is a join (after all of them)."""
        if isinstance(start_key, str):
            if start_key == END:
                raise ValueError("END cannot be the start of an edge")
            if end_key == START:
                raise ValueError("START cannot be the end of an edge")
            self.edges.append((start_key, end_key))
            return self
        sources = tuple(start_key)
        if not sources:
            raise ValueError("a join edge needs at least one source")
        if START in sources or END in sources or end_key == START:
            raise ValueError("START and END cannot be sources of a join edge, nor START its target")
        if len(sources) == 1:
            return self.add_edge(sources[0], end_key)
        key = "+".join(sorted(sources)) + "->" + end_key
        self.joins.append(Join(key=key, sources=frozenset(sources), target=end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: dict[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """After ``source``, call ``path(state)`` on the state including ``source``'s writes to route."""
        if not callable(path):
            raise ValueError(f"conditional edge from {source!r}: path must be callable")
        mapping: dict[Hashable, str] | None
        if path_map is None:
            mapping = None
        elif isinstance(path_map, dict):
            mapping = dict(path_map)
        else:
            mapping = {name: name for name in path_map}
        self.branches.append(Branch(source=source, path=path, path_map=mapping, wants_config=_wants_config(path)))
        return self

    def set_entry_point(self, key: str) -> StateGraph:
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self, path: Callable[..., Any], path_map: dict[Hashable, str] | Sequence[str] | None = None
    ) -> StateGraph:
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> StateGraph:
        return self.add_edge(key, END)

    def validate(self, interrupt: Sequence[str] = ()) -> None:
        """Check every edge and breakpoint names a node and the graph has an entry point."""
        known = set(self.nodes)
        for source, target in self.edges:
            if source != START and source not in known:
                raise ValueError(f"edge {source!r} -> {target!r}: unknown node {source!r}")
            if target != END and target not in known:
                raise ValueError(f"edge {source!r} -> {target!r}: unknown node {target!r}")
        for join in self.joins:
            for name in (*join.sources, *([join.target] if join.target != END else [])):
                if name not in known:
                    raise ValueError(f"join edge {sorted(join.sources)} -> {join.target!r}: unknown node {name!r}")
        for branch in self.branches:
            if branch.source != START and branch.source not in known:
                raise ValueError(f"conditional edge from unknown node {branch.source!r}")
            for target in (branch.path_map or {}).values():
                if target != END and target not in known:
                    raise ValueError(f"conditional edge from {branch.source!r}: unknown node {target!r} in path_map")
        if not any(s == START for s, _ in self.edges) and not any(b.source == START for b in self.branches):
            raise ValueError(
                "Graph must have an entrypoint: add at least one edge from START to another node "
                "(add_edge(START, name) or set_entry_point(name))"
            )
        for name in interrupt:
            if name != "*" and name not in known:
                raise ValueError(f"interrupt_before/after names unknown node {name!r}")

    def compile(
        self,
        checkpointer: Any = None,
        *,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        name: str | None = None,
        on_conflict: Literal["raise", "retry"] = "raise",
        **_: Any,
    ) -> CompiledStateGraph:
        """Validate the graph and return a runnable ``CompiledStateGraph``.

        ``on_conflict`` says what a call does when another writer appended to its
        thread first: ``"raise"`` a ``ConcurrencyError`` (nothing of that step is
        written), or ``"retry"``: reload the thread and go on from its new head.
        """
        from engine.compiled import CompiledStateGraph

        before = _as_list(interrupt_before)
        after = _as_list(interrupt_after)
        self.validate([*before, *after])
        self.compiled = True
        return CompiledStateGraph(
            self,
            checkpointer=checkpointer or None,
            interrupt_before=before,
            interrupt_after=after,
            name=name,
            on_conflict=on_conflict,
        )


def _as_list(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)
