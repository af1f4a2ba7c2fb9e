"""Read models folded from the log into plain SQLite tables, and the ``ledgergraph`` CLI.

``ProjectionRunner`` keeps projections (anything following the ``Projection``
protocol) up to date with a log; the built-ins are ``threads``,
``interrupt_inbox``, ``audit_trail`` and ``node_stats``. ``Ledger`` opens an
existing log for the library calls behind every CLI command.
"""

from projections.builtins import BUILTIN_NAMES, builtin_projections
from projections.errors import (
    BadDatabase,
    DatabaseNotFound,
    GraphReferenceError,
    LedgerError,
    NotFoundError,
    ThreadExists,
    UnknownCheckpoint,
    UnknownProjection,
    UnknownThread,
)
from projections.facts import Fact, LoggedEvent, ThreadForked
from projections.ledger import Ledger
from projections.protocol import Projection
from projections.runner import POSITIONS, Position, ProjectionRunner

__all__ = [
    "BUILTIN_NAMES",
    "POSITIONS",
    "BadDatabase",
    "DatabaseNotFound",
    "Fact",
    "GraphReferenceError",
    "Ledger",
    "LedgerError",
    "LoggedEvent",
    "NotFoundError",
    "Position",
    "Projection",
    "ProjectionRunner",
    "ThreadExists",
    "ThreadForked",
    "UnknownCheckpoint",
    "UnknownProjection",
    "UnknownThread",
    "builtin_projections",
]
