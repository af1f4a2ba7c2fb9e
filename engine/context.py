"""What a running task can reach: ``interrupt()`` and ``get_stream_writer()``.

Each task runs with its own scope in a context variable, so resume values
never leak between tasks, even when tasks of one step run on several threads.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import attrs

from engine.detach import detached
from engine.errors import GraphInterrupt
from engine.planning import interrupt_id
from engine.types import Interrupt


@attrs.define
class TaskScope:
    """The running task's id, its recorded resume values, where custom stream chunks go, and its config."""

    task_id: str
    node: str
    resume_values: list[Any]
    writer: Callable[[Any], None]
    make_config: Callable[[], dict[str, Any]]
    calls: int = 0
    _config: dict[str, Any] | None = attrs.field(default=None, init=False)

    def config(self) -> dict[str, Any]:
        """The task's config, made the first time it is asked for (most nodes never ask)."""
        if self._config is None:
            self._config = self.make_config()
        return self._config


_scope: ContextVar[TaskScope | None] = ContextVar("ledgergraph_task_scope", default=None)


def enter_scope(scope: TaskScope) -> None:
    _scope.set(scope)


def interrupt(value: Any) -> Any:
    """Pause the graph and ask ``value``; on resume, return the answer given for this call.

    The node re-runs from its first line when resumed, and its i-th call to
    ``interrupt()`` returns the i-th answer recorded for this task.
    """
    scope = _scope.get()
    if scope is None:
        raise RuntimeError("interrupt() can only be called from inside a graph node (or a conditional edge)")
    index = scope.calls
    scope.calls += 1
    if index < len(scope.resume_values):
        return detached(scope.resume_values[index])  # the answer as recorded, whatever the node does with it
    raise GraphInterrupt((Interrupt(value=value, id=interrupt_id(scope.task_id, index)),))


def _discard(_: Any) -> None:
    return None


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends chunks to ``stream_mode="custom"``; a no-op when nobody streams them."""
    scope = _scope.get()
    return scope.writer if scope is not None else _discard


def get_config() -> dict[str, Any]:
    """The run config of the task that is running."""
    scope = _scope.get()
    if scope is None:
        raise RuntimeError("get_config() can only be called from inside a graph node")
    return scope.config()
