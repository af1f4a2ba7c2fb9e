"""ledgergraph's event log: an immutable, hash-chained, concurrency-safe store of threads of events.

It knows nothing of graphs. Other packages declare attrs event classes, register
them with ``register_event``, turn them into ``NewEvent`` payloads with
``encode_event`` and back with ``decode_event``.
"""

from eventstore.codec import (
    Value,
    converter,
    decode_event,
    encode_event,
    register_array_record,
    register_event,
    register_upcaster,
)
from eventstore.errors import (
    ConcurrencyError,
    CorruptLogError,
    EventStoreError,
    SchemaError,
    SerializationError,
    StorageError,
    ThreadNotFound,
)
from eventstore.hashing import GENESIS, chain_hash
from eventstore.protocol import EventStore
from eventstore.records import (
    BrokenLink,
    EventPayload,
    EventRecord,
    NewEvent,
    SnapshotRecord,
    StoredEvent,
    ThreadInfo,
    VerifyReport,
)
from eventstore.slot_init import maker, slot_init
from eventstore.sqlite import SqliteEventStore
from eventstore.values import decode_value, encode_value, register_class, register_schema_types, register_type

__all__ = [
    "GENESIS",
    "BrokenLink",
    "ConcurrencyError",
    "CorruptLogError",
    "EventPayload",
    "EventRecord",
    "EventStore",
    "EventStoreError",
    "NewEvent",
    "SchemaError",
    "SerializationError",
    "SnapshotRecord",
    "SqliteEventStore",
    "StorageError",
    "StoredEvent",
    "ThreadInfo",
    "ThreadNotFound",
    "Value",
    "VerifyReport",
    "chain_hash",
    "converter",
    "decode_event",
    "decode_value",
    "encode_event",
    "encode_value",
    "maker",
    "register_array_record",
    "register_class",
    "register_event",
    "register_schema_types",
    "register_type",
    "register_upcaster",
    "slot_init",
]
