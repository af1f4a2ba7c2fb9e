"""``--graph module:attribute``: load the application's graph and bind it to the log being inspected."""

from __future__ import annotations

import importlib
import os
import sys

from engine import CompiledStateGraph, SqliteSaver, StateGraph
from eventstore import EventStore
from projections.errors import GraphReferenceError


def load_graph(reference: str, store: EventStore) -> CompiledStateGraph:
    """Import ``module:attribute`` (a ``StateGraph`` or a compiled graph) and compile it onto ``store``.

    The working directory is importable, as with ``python -m``. The graph's own
    checkpointer, if any, is not used: the result reads and writes ``store``.
    """
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise GraphReferenceError(f"--graph takes module:attribute (for example myapp.graphs:graph), not {reference!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise GraphReferenceError(f"cannot import module {module_name!r} for --graph: {exc!r}") from None
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise GraphReferenceError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if isinstance(target, CompiledStateGraph):
        builder = target.builder
        before, after = target.interrupt_before, target.interrupt_after
    elif isinstance(target, StateGraph):
        builder, before, after = target, (), ()
    else:
        kind = type(target).__qualname__
        raise GraphReferenceError(f"{reference} is a {kind}, not a StateGraph or a compiled graph")
    return builder.compile(checkpointer=SqliteSaver(store), interrupt_before=before, interrupt_after=after)
