"""The graph API and superstep executor; persistence through the event log.

A LangGraph program ports by changing its imports to these names.
"""

from engine.checkpointer import InMemorySaver, MemorySaver, SqliteSaver
from engine.compiled import CompiledStateGraph, ForkPoint
from engine.constants import END, START
from engine.context import get_config, get_stream_writer, interrupt
from engine.errors import (
    CheckpointNotFound,
    EmptyInputError,
    GraphInterrupt,
    GraphRecursionError,
    InvalidUpdateError,
    ResumeError,
    TaskError,
)
from engine.graph import StateGraph
from engine.snapshot_audit import SnapshotMismatch, SnapshotReport
from engine.types import Command, Interrupt, PregelTask, Send, StateSnapshot

__all__ = [
    "END",
    "START",
    "CheckpointNotFound",
    "Command",
    "CompiledStateGraph",
    "EmptyInputError",
    "ForkPoint",
    "GraphInterrupt",
    "GraphRecursionError",
    "InMemorySaver",
    "Interrupt",
    "InvalidUpdateError",
    "MemorySaver",
    "PregelTask",
    "ResumeError",
    "Send",
    "SnapshotMismatch",
    "SnapshotReport",
    "SqliteSaver",
    "StateGraph",
    "StateSnapshot",
    "TaskError",
    "get_config",
    "get_stream_writer",
    "interrupt",
]
