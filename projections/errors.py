"""Every error the projections layer and its CLI raise, in one small hierarchy.

Each error carries the exit code the ``ledgergraph`` command ends with, so
scripts can tell "not found" from "tampered" from "bad arguments".
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
"""A check failed (``verify`` found a broken chain) or an unexpected error."""
EXIT_USAGE = 2
"""Bad command-line usage (click's own code)."""
EXIT_NOT_FOUND = 3
"""The database file, thread, checkpoint or projection does not exist."""
EXIT_BAD_GRAPH = 4
"""``--graph module:attribute`` does not name a loadable graph."""
EXIT_BAD_DATABASE = 5
"""The file is not a ledgergraph log, or it cannot be read or written."""


class LedgerError(Exception):
    """Base class of the errors of the projections layer."""

    exit_code = EXIT_FAILED


class NotFoundError(LedgerError, LookupError):
    """A database file, thread, checkpoint or projection that does not exist."""

    exit_code = EXIT_NOT_FOUND


class DatabaseNotFound(NotFoundError):
    """The log's database file does not exist (it is never created by a read)."""


class UnknownThread(NotFoundError):
    """No thread of that id in the log."""


class UnknownCheckpoint(NotFoundError):
    """No checkpoint of that id on the thread."""


class UnknownProjection(NotFoundError):
    """No projection of that name is registered with the runner."""


class ThreadExists(LedgerError):
    """A fork was asked to create a thread id that is already taken."""


class GraphReferenceError(LedgerError):
    """``module:attribute`` cannot be imported or is not a graph."""

    exit_code = EXIT_BAD_GRAPH


class BadDatabase(LedgerError):
    """The file is not a ledgergraph log, is newer than this code, or refused a read or write."""

    exit_code = EXIT_BAD_DATABASE


class DemoRefused(LedgerError):
    """The demo would overwrite a database that it did not write."""

    exit_code = EXIT_FAILED
