"""Every error the event store raises, in one small hierarchy callers can catch."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class of every error raised by the event store."""


class ConcurrencyError(EventStoreError):
    """An append expected a head the thread no longer has, or a thread already exists.

    Nothing was written: the caller re-reads the thread and decides again.
    """

    def __init__(self, message: str, *, thread_id: str, expected: int | None = None, actual: int | None = None):
        super().__init__(message)
        self.thread_id = thread_id
        self.expected = expected
        self.actual = actual


class ThreadNotFound(EventStoreError, LookupError):
    """The named thread does not exist in this store."""

    def __init__(self, thread_id: str):
        super().__init__(f"thread {thread_id!r} does not exist")
        self.thread_id = thread_id


class CorruptLogError(EventStoreError):
    """The log is not what was written: a broken hash chain or a payload that cannot be decoded."""


class SchemaError(EventStoreError):
    """The database file is not a ledgergraph log, or was written by a newer version."""


class SerializationError(EventStoreError, TypeError):
    """A value cannot be encoded into (or decoded from) a payload."""


class StorageError(EventStoreError):
    """The database refused a write or read (disk full, read-only file, I/O error).

    The failed operation wrote nothing; the log is as it was before.
    """
