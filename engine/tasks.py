"""Running one task: call the node, turn what it returns into writes, and work out where control goes."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from engine.channels import MISSING
from engine.constants import END, START
from engine.context import TaskScope, enter_scope
from engine.detach import detached
from engine.errors import GraphInterrupt, InvalidUpdateError
from engine.events import Routing, SendPacket, TaskRef, Write
from engine.planning import Frame, PlannedTask, apply_writes
from engine.types import Command, Interrupt, Send
from eventstore import maker, slot_init

if TYPE_CHECKING:
    from engine.graph import Branch, StateGraph


@slot_init
@attrs.frozen(kw_only=True)
class TaskOutcome:
    """How a task ended: done (writes and routing), interrupted, failed, or rejected (bad output)."""

    ref: TaskRef
    status: str
    writes: tuple[Write, ...] = ()
    routing: Routing = attrs.Factory(Routing)
    update: Any = None
    interrupt: Interrupt | None = None
    error: BaseException | None = None
    duration_ms: float = 0.0


_new_outcome = maker(TaskOutcome)  # made every step: without calling the class (``maker``)
_new_write = maker(Write)


class Router:
    """Static edges, join edges and conditional edges of a graph, as routing decisions."""

    def __init__(self, builder: StateGraph) -> None:
        self.builder = builder
        self.schema = builder.schema
        self.edges: dict[str, list[str]] = {}
        for source, target in builder.edges:
            self.edges.setdefault(source, []).append(target)
        self.joins_of: dict[str, list[str]] = {}
        for join in builder.joins:
            for source in join.sources:
                self.joins_of.setdefault(source, []).append(join.key)
        self.nodes = set(builder.nodes)
        self.branches_of: dict[str, list[Branch]] = {}
        for branch in builder.branches:
            self.branches_of.setdefault(branch.source, []).append(branch)
        self._fixed: dict[str, Routing] = {}
        """By node: the routing of a node with no conditional edges whose return named no ``goto`` (immutable)."""

    def route(
        self,
        node: str,
        frame_values: Any,
        writes: Sequence[Write],
        goto: Sequence[Any],
        config: Callable[[], dict[str, Any]],
    ) -> Routing:
        """Where control goes after ``node`` wrote ``writes``: its edges, branches and ``goto``."""
        if not goto:
            fixed = self._fixed.get(node)
            if fixed is not None:
                return fixed
        triggers: list[str] = [t for t in self.edges.get(node, ()) if t != END]
        sends: list[SendPacket] = []
        chosen: list[Any]
        self._add_destinations(node, goto, triggers, sends, "Command.goto")
        branches = self.branches_of.get(node)
        if branches:
            fresh = apply_writes(self.schema.channels, frame_values, writes)
            state = self.schema.as_node_input(fresh)
            for branch in branches:
                result = awaited(branch.path(state, config()) if branch.wants_config else branch.path(state))
                chosen = _as_list(result)
                if branch.path_map is not None:
                    mapped: list[Any] = []
                    for item in chosen:
                        if isinstance(item, Send):
                            mapped.append(item)
                            continue
                        if not isinstance(item, Hashable) or item not in branch.path_map:
                            raise InvalidUpdateError(
                                f"conditional edge from {node!r} returned {item!r}, which is not in its path_map "
                                f"{sorted(map(str, branch.path_map))}"
                            )
                        mapped.append(branch.path_map[item])
                    chosen = mapped
                self._add_destinations(node, chosen, triggers, sends, "conditional edge")
        routing = Routing(
            triggers=tuple(dict.fromkeys(triggers)), sends=tuple(sends), joins=tuple(self.joins_of.get(node, ()))
        )
        if not goto and not branches:
            self._fixed[node] = routing
        return routing

    def command_input(self, command: Command[Any]) -> tuple[tuple[Write, ...], Routing]:
        """The writes and routing of a ``Command(update=..., goto=...)`` sent as graph input."""
        update = _command_update(self, command.update, "Command input") or {}
        writes = tuple(Write(key=k, value=v) for k, v in update.items())
        triggers: list[str] = []
        sends: list[SendPacket] = []
        self._add_destinations("Command input", _as_list(command.goto), triggers, sends, "goto")
        return writes, Routing(triggers=tuple(triggers), sends=tuple(sends))

    def _add_destinations(
        self, node: str, items: Sequence[Any], triggers: list[str], sends: list[SendPacket], what: str
    ) -> None:
        for item in items:
            if isinstance(item, Send):
                if item.node not in self.nodes:
                    raise InvalidUpdateError(f"{what} of {node!r} sent to unknown node {item.node!r}")
                sends.append(SendPacket(node=item.node, arg=detached(item.arg)))
            elif item is None or item == END:
                continue
            elif isinstance(item, str) and item in self.nodes:
                triggers.append(item)
            else:
                raise InvalidUpdateError(
                    f"{what} of {node!r} names unknown node {item!r}; nodes are {sorted(self.nodes)} or END"
                )


def awaited(value: Any) -> Any:
    """The result of an ``async def`` node or edge function, run to completion in this worker thread."""
    if inspect.iscoroutine(value):
        return asyncio.run(value)
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def run_task(
    router: Router,
    task: PlannedTask,
    frame: Frame,
    resume_values: list[Any],
    writer: Callable[[Any], None],
    make_config: Callable[[], dict[str, Any]],
) -> TaskOutcome:
    """Run one task to an outcome; never raises for what the node does.

    ``make_config`` makes the config the node (or a conditional edge, or ``get_config()``) is given, when
    one asks for it.
    """
    scope = TaskScope(
        task_id=task.ref.id, node=task.ref.name, resume_values=resume_values, writer=writer, make_config=make_config
    )
    return contextvars.copy_context().run(_run_in_scope, router, task, frame, scope)


def _run_in_scope(router: Router, task: PlannedTask, frame: Frame, scope: TaskScope) -> TaskOutcome:
    enter_scope(scope)
    t0 = time.perf_counter()
    try:
        if task.is_start:
            update = router.schema.update_from(frame.start_input, "the graph input")
            goto: list[Any] = []
            node_name = START
        else:
            spec = router.builder.nodes[task.ref.name]
            arg = router.schema.as_node_input(frame.values) if task.send_arg is MISSING else detached(task.send_arg)
            returned = awaited(spec.fn(arg, scope.config()) if spec.wants_config else spec.fn(arg))
            update, goto = _interpret_return(router, task.ref.name, returned)
            node_name = task.ref.name
        writes = tuple([_new_write(key=k, value=v) for k, v in update.items()]) if update else ()
        routing = router.route(node_name, frame.values, writes, goto, scope.config)
    except GraphInterrupt as raised:
        return TaskOutcome(
            ref=task.ref,
            status="interrupted",
            interrupt=raised.interrupts[0] if raised.interrupts else None,
            duration_ms=_ms_since(t0),
        )
    except InvalidUpdateError as exc:
        return TaskOutcome(ref=task.ref, status="rejected", error=exc, duration_ms=_ms_since(t0))
    except Exception as exc:
        return TaskOutcome(ref=task.ref, status="failed", error=exc, duration_ms=_ms_since(t0))
    return _new_outcome(
        ref=task.ref,
        status="done",
        writes=writes,
        routing=routing,
        update=update,
        duration_ms=_ms_since(t0),
    )


def _ms_since(t0: float) -> float:
    """Milliseconds since ``t0``, to the whole microsecond (truncated: ``round`` to 3 places costs twice as much)."""
    return int((time.perf_counter() - t0) * 1_000_000) / 1000


def _interpret_return(router: Router, node: str, returned: Any) -> tuple[dict[str, Any] | None, list[Any]]:
    """A node's return value as (update, goto): a dict, None, a Command, or a list of those."""
    where = f"node {node!r} return value"
    if type(returned) is dict:  # the usual return: one update, nothing to merge
        return router.schema.update_from(returned, where) or None, []
    items = returned if isinstance(returned, list) else [returned]
    if isinstance(returned, list) and not all(isinstance(i, (Command, dict)) or i is None for i in returned):
        raise InvalidUpdateError(f"{where} must be a dict, None, a Command or a list of those, got {returned!r:.200}")
    update: dict[str, Any] | None = None
    goto: list[Any] = []
    for item in items:
        if isinstance(item, Command):
            if item.graph is not None:
                raise InvalidUpdateError(f"{where}: Command(graph=...) needs subgraphs, which ledgergraph does not run")
            if item.resume is not None:
                raise InvalidUpdateError(f"{where}: a node cannot return Command(resume=...)")
            part = _command_update(router, item.update, where)
            goto.extend(_as_list(item.goto))
        else:
            part = router.schema.update_from(item, where)
        if part:
            if update is None:
                update = {}
            for key, value in part.items():
                if key in update:
                    raise InvalidUpdateError(f"{where} writes key {key!r} twice")
                update[key] = value
    return update, goto


def _command_update(router: Router, update: Any, where: str) -> dict[str, Any] | None:
    if isinstance(update, (list, tuple)):
        try:
            update = dict(update)
        except (TypeError, ValueError):
            raise InvalidUpdateError(
                f"{where}: Command.update must be a dict or a list of (key, value) pairs"
            ) from None
    return router.schema.update_from(update, f"{where} (Command.update)")
