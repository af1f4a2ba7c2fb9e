"""The public value types of the graph API: Interrupt, Command, Send, StateSnapshot, PregelTask."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

import attrs

N = TypeVar("N", bound=Hashable)


@attrs.frozen
class Interrupt:
    """A question a node asked with ``interrupt(value)``; ``id`` answers it in ``Command(resume={id: ...})``."""

    value: Any
    id: str


@attrs.frozen
class Send:
    """Run ``node`` in the next superstep with ``arg`` as its whole input (fan-out)."""

    node: str
    arg: Any


_UNSET: Any = object()


@attrs.frozen(init=False)
class Command(Generic[N]):
    """What a caller sends to a thread (resume, update, goto) or a node returns (update, goto)."""

    PARENT: ClassVar[str] = "__parent__"

    graph: str | None
    update: Any
    resume: Any
    goto: Any

    def __init__(
        self,
        *,
        graph: str | None = None,
        update: Any | None = None,
        resume: Any | None = None,
        goto: Send | Sequence[Send | N] | N = (),
    ) -> None:
        self.__attrs_init__(graph=graph, update=update, resume=resume, goto=goto)

    def __repr__(self) -> str:
        names = ("graph", "update", "resume")
        parts = [f"{name}={getattr(self, name)!r}" for name in names if getattr(self, name) is not None]
        if self.goto:
            parts.append(f"goto={self.goto!r}")
        return f"Command({', '.join(parts)})"


class PregelTask(NamedTuple):
    """One task of a checkpoint's step: what ran (or will), its result, error and interrupts."""

    id: str
    name: str
    path: tuple[str | int, ...]
    error: Exception | None = None
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any = None


class StateSnapshot(NamedTuple):
    """A thread's state at one checkpoint, as ``get_state`` and ``get_state_history`` return it."""

    values: dict[str, Any] | Any
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = ()
