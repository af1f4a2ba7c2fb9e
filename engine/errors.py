"""The engine's errors, in one module. Names match LangGraph's where LangGraph has one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.types import Interrupt


class GraphInterrupt(Exception):
    """Raised inside a node by ``interrupt()``; the engine catches it and pauses the run."""

    def __init__(self, interrupts: Sequence[Interrupt] = ()) -> None:
        super().__init__(tuple(interrupts))
        self.interrupts: tuple[Interrupt, ...] = tuple(interrupts)


class InvalidUpdateError(Exception):
    """A node, input or manual update tried to write something the graph does not accept."""


class GraphRecursionError(RecursionError):
    """The run took more supersteps than ``config["recursion_limit"]`` allows."""


class EmptyInputError(Exception):
    """The call carried nothing to do (an empty ``Command()``)."""


class ResumeError(RuntimeError):
    """A resume does not match what the thread is waiting for: it says what is pending."""


class CheckpointNotFound(LookupError):
    """A config names a checkpoint id that does not exist on that thread."""


class TaskError(Exception):
    """A task's failure as the log recorded it: the exception's type name and message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
