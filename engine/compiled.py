"""``CompiledStateGraph``: run, stream, inspect, edit, replay and fork threads of a graph."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs

from engine.channels import MISSING
from engine.checkpointer import InMemorySaver, SqliteSaver
from engine.constants import DEFAULT_RECURSION_LIMIT, END, INTERRUPT_KEY, START
from engine.detach import detached
from engine.errors import InvalidUpdateError
from engine.events import CHECKPOINT, CheckpointCommitted, Routing, StateUpdated, TaskCompleted, Write
from engine.history_walk import walk_history
from engine.loop import Invocation
from engine.planning import in_path_order, new_checkpoint_id, next_names
from engine.replay import Replayer, resolve_checkpoint
from engine.snapshot_audit import SnapshotReport, verify_snapshots
from engine.snapshots import build_snapshot, checkpoint_config, checkpoint_metadata, empty_snapshot, snapshot_at
from engine.tasks import Router
from engine.types import Command, StateSnapshot
from engine.views import CheckpointRecord, ThreadView
from eventstore import ConcurrencyError, ThreadNotFound, decode_event, encode_event

if TYPE_CHECKING:
    from engine.graph import StateGraph

STREAM_MODES = ("values", "updates", "custom")
DURABILITY = ("sync", "async", "exit")
"""When a run's steps are stored: before the next step runs (our default), beside it, or when the run ends."""
CONFLICT_RETRIES = 20
_EXCLUDED_CONFIGURABLE = ("thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map")


@attrs.frozen(kw_only=True)
class Address:
    """Which saver, thread and checkpoint a config names: all a read needs."""

    saver: SqliteSaver
    thread_id: str
    checkpoint_id: str | None


@attrs.frozen(kw_only=True)
class RunSettings(Address):
    """Everything one call needs, resolved from the caller's config once."""

    metadata: dict[str, Any]
    recursion_limit: int
    modes: tuple[str, ...]
    interrupt_before: tuple[str, ...]
    interrupt_after: tuple[str, ...]
    config: Mapping[str, Any]
    durability: str = "sync"
    values_each_step: bool = True
    """False for ``invoke``: the run yields ``values`` only where it ends (the one chunk ``invoke`` returns)."""

    def node_config(self, checkpoint_id: str | None) -> dict[str, Any]:
        """The config a node (or conditional edge) receives as its second argument."""
        configurable = {
            **(self.config.get("configurable") or {}),
            "thread_id": self.thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": checkpoint_id,
        }
        return {
            **self.config,
            "configurable": configurable,
            "metadata": dict(self.config.get("metadata") or {}),
            "recursion_limit": self.recursion_limit,
        }


@attrs.frozen(kw_only=True)
class ForkPoint:
    """One link of a thread's lineage: ``thread_id`` was forked from ``parent_thread_id`` at a checkpoint."""

    thread_id: str
    parent_thread_id: str | None
    parent_checkpoint_id: str | None
    parent_seq: int | None


def run_metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar entries of ``config["metadata"]`` and ``config["configurable"]`` (as LangGraph copies them)."""
    metadata: dict[str, Any] = {}
    for key, value in (config.get("configurable") or {}).items():
        if key in _EXCLUDED_CONFIGURABLE or key.startswith(("langgraph_", "__")):
            continue
        if isinstance(value, (str, int, float, bool)) or value is None:
            metadata[key] = value
    for key, value in (config.get("metadata") or {}).items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            metadata[key] = value
    return metadata


class CompiledStateGraph:
    """A validated graph bound to a checkpointer (LangGraph's ``CompiledStateGraph``)."""

    def __init__(
        self,
        builder: StateGraph,
        *,
        checkpointer: SqliteSaver | None,
        interrupt_before: tuple[str, ...],
        interrupt_after: tuple[str, ...],
        name: str | None,
        on_conflict: str = "raise",
    ) -> None:
        if on_conflict not in ("raise", "retry"):
            raise ValueError(f"on_conflict must be 'raise' or 'retry', not {on_conflict!r}")
        self.on_conflict = on_conflict
        self.builder = builder
        self.checkpointer = checkpointer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.name = name or "LangGraph"
        self.channels = builder.schema.channels
        self._keys = tuple(self.channels)
        self.join_specs = {j.key: (j.sources, j.target) for j in builder.joins}
        self.router = Router(builder)
        self.replayer = Replayer(self.channels, self.join_specs, builder.schema.initial_values())
        self._pool: ThreadPoolExecutor | None = None

    # -- plumbing ------------------------------------------------------------------

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="lg")
        return self._pool

    def output(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """State values as callers see them: every key that has a value, in schema order.

        A frame holds no ``MISSING`` (a fold stores only written values), so one that
        holds every key in schema order is copied as it is: the usual case once a
        thread is going, and each step's values and each history checkpoint pass here.
        """
        if tuple(values) == self._keys:
            return dict(values)
        return {key: value for key in self.channels if (value := values.get(key, MISSING)) is not MISSING}

    def _address(self, config: Mapping[str, Any] | None, *, needs_thread: bool = True) -> Address:
        """The saver, thread and checkpoint ``config`` names, with a clear error for a malformed one."""
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(
                "config must be a dict such as {'configurable': {'thread_id': ...}}, "
                f"not {type(config).__qualname__}: {config!r:.80}"
            )
        configurable = (config or {}).get("configurable") or {}
        if not isinstance(configurable, Mapping):
            raise TypeError("config['configurable'] must be a dict")
        saver = self.checkpointer
        if saver is None:
            saver = InMemorySaver()
            thread_id = str(configurable.get("thread_id", "__ephemeral__"))
        else:
            if "thread_id" not in configurable and needs_thread:
                raise ValueError(
                    "Checkpointer requires one or more of the following 'configurable' keys: thread_id, "
                    "checkpoint_ns, checkpoint_id (pass config={'configurable': {'thread_id': ...}})"
                )
            thread_id = str(configurable.get("thread_id", ""))
        checkpoint_id = configurable.get("checkpoint_id")
        return Address(saver=saver, thread_id=thread_id, checkpoint_id=str(checkpoint_id) if checkpoint_id else None)

    def _settings(
        self,
        config: Mapping[str, Any] | None,
        modes: Sequence[str],
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        *,
        needs_thread: bool = True,
        durability: str | None = None,
        values_each_step: bool = True,
    ) -> RunSettings:
        address = self._address(config, needs_thread=needs_thread)
        config = dict(config or {})
        limit = config.get("recursion_limit", DEFAULT_RECURSION_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"recursion_limit must be an integer of at least 1, not {limit!r}")
        for mode in modes:
            if mode not in STREAM_MODES:
                raise ValueError(f"unknown stream_mode {mode!r}; ledgergraph streams {STREAM_MODES}")
        if durability is None:
            durability = "sync"
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {DURABILITY}, not {durability!r}")
        return RunSettings(
            saver=address.saver,
            thread_id=address.thread_id,
            checkpoint_id=address.checkpoint_id,
            metadata=run_metadata(config),
            recursion_limit=limit,
            modes=tuple(modes),
            interrupt_before=tuple(interrupt_before) if interrupt_before else self.interrupt_before,
            interrupt_after=tuple(interrupt_after) if interrupt_after else self.interrupt_after,
            config=config,
            durability=durability,
            values_each_step=values_each_step,
        )

    # -- running -------------------------------------------------------------------

    def stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        durability: str | None = None,
        **_: Any,
    ) -> Iterator[Any]:
        """Run the graph and yield chunks: ``updates`` by default, or the modes asked for."""
        single = stream_mode is None or isinstance(stream_mode, str)
        modes = (
            ("updates",)
            if stream_mode is None
            else (stream_mode,)
            if isinstance(stream_mode, str)
            else tuple(stream_mode)
        )
        settings = self._settings(config, modes, interrupt_before, interrupt_after, durability=durability)
        for mode, chunk in self._run(input, settings):
            if mode in modes:
                # The engine's own objects: the caller gets copies (``engine.detach``), custom chunks as written.
                own = chunk if mode == "custom" else detached(chunk)
                yield own if single else (mode, own)

    def invoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: str = "values",
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        durability: str | None = None,
        **_: Any,
    ) -> Any:
        """Run the graph to its end (or first interrupt) and return the final state values."""
        settings = self._settings(
            config, ("values",), interrupt_before, interrupt_after, durability=durability, values_each_step=False
        )
        latest: Any = None
        for mode, chunk in self._run(input, settings):
            if mode == "values":
                latest = chunk
        return detached(latest)  # the caller's copy of the engine's objects (``engine.detach``)

    def _run(self, input: Any, settings: RunSettings) -> Iterator[tuple[str, Any]]:
        """One call's chunks; with ``on_conflict="retry"``, a call that lost a race goes on from the new head."""
        if isinstance(input, Command) and input.resume is not None and self.checkpointer is None:
            raise RuntimeError("Cannot use Command(resume=...) without a checkpointer")
        attempt = 0
        while True:
            invocation = Invocation(self, settings)
            try:
                yield from invocation.run(input)
                return
            except ConcurrencyError:
                attempt += 1
                if self.on_conflict != "retry" or attempt > CONFLICT_RETRIES:
                    raise
                if invocation.committed:
                    input = None  # our earlier steps landed: continue from the new head
                time.sleep(min(0.5, 0.005 * 2**attempt) * random.random())

    # -- async wrappers over the same core -------------------------------------------

    async def ainvoke(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """``invoke`` on a worker thread, so an event loop is never blocked by a run."""
        return await asyncio.to_thread(self.invoke, input, config, **kwargs)

    async def astream(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """``stream`` on a worker thread; chunks arrive as the run produces them."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def produce() -> None:
            try:
                for chunk in self.stream(input, config, **kwargs):
                    loop.call_soon_threadsafe(chunks.put_nowait, ("chunk", chunk))
            except BaseException as exc:  # handed to the awaiting side, raised there
                loop.call_soon_threadsafe(chunks.put_nowait, ("error", exc))
            else:
                loop.call_soon_threadsafe(chunks.put_nowait, ("end", None))

        worker = loop.run_in_executor(None, produce)
        while True:
            kind, item = await chunks.get()
            if kind == "chunk":
                yield item
            elif kind == "error":
                await worker
                raise item
            else:
                await worker
                return

    async def aget_state(self, config: Mapping[str, Any], **kwargs: Any) -> StateSnapshot:
        return await asyncio.to_thread(self.get_state, config, **kwargs)

    async def aget_state_history(self, config: Mapping[str, Any], **kwargs: Any) -> AsyncIterator[StateSnapshot]:
        for snapshot in await asyncio.to_thread(lambda: list(self.get_state_history(config, **kwargs))):
            yield snapshot

    async def aupdate_state(self, config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self.update_state, config, values, as_node)

    # -- reading -------------------------------------------------------------------

    def _view(self, settings: Address) -> tuple[ThreadView, bool]:
        store = settings.saver.store
        cache = settings.saver.frames(self)
        if settings.checkpoint_id is None:
            return self.replayer.load(store, settings.thread_id, cache=cache), True
        return self.replayer.load_checkpoint(store, settings.thread_id, settings.checkpoint_id, cache), False

    def _parent(self, settings: Address, checkpoint: CheckpointRecord) -> CheckpointRecord | None:
        parent_seq = checkpoint.event.parent_seq
        if parent_seq is None:
            return None
        known = settings.saver.frames(self).record(settings.thread_id, parent_seq)
        if known is not None:
            return known
        for record in settings.saver.store.read(settings.thread_id, from_seq=parent_seq, to_seq=parent_seq):
            return CheckpointRecord.from_record(record)
        return None

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state: live at its head, or as recorded at ``configurable.checkpoint_id``."""
        settings = self._address(config)
        view, live = self._view(settings)
        if view.checkpoint is None:
            return empty_snapshot(dict(config))
        return build_snapshot(self, view, live=live, parent=self._parent(settings, view.checkpoint))

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """Every checkpoint of the thread, on every branch, newest first."""
        settings = self._address(config)
        filters = _validated_filter(filter)
        store = settings.saver.store
        if store.head(settings.thread_id) == 0:
            return
        before_seq: int | None = None
        if before is not None:
            before_id = (before.get("configurable") or {}).get("checkpoint_id")
            if before_id is not None:
                before_seq = resolve_checkpoint(store, settings.thread_id, str(before_id)).seq
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise TypeError(f"limit must be an integer or None, not {type(limit).__qualname__}: {limit!r:.40}")
        if limit is not None and limit <= 0:
            return
        yielded = 0
        cache = settings.saver.frames(self)
        thread_id = settings.thread_id
        for checkpoint, frame, pending, parent in walk_history(
            self.replayer, store, thread_id, before_seq=before_seq, cache=cache
        ):
            metadata = checkpoint_metadata(checkpoint)
            if filters and any(key not in metadata or metadata[key] != value for key, value in filters.items()):
                continue
            if parent is None and checkpoint.event.parent_seq is not None:
                parent = self._parent(settings, checkpoint)
            yield snapshot_at(self, thread_id, checkpoint, frame, pending, live=False, parent=parent, metadata=metadata)
            yielded += 1
            if limit is not None and yielded >= limit:
                return

    # -- editing, branching, forking -------------------------------------------------

    def update_state(self, config: Mapping[str, Any], values: Any, as_node: str | None = None) -> dict[str, Any]:
        """Record a manual edit as if ``as_node`` returned ``values``; returns the new checkpoint's config."""
        settings = self._settings(config, ())
        store = settings.saver.store
        cache = settings.saver.frames(self)
        settings.saver.check_integrity(settings.thread_id)
        head_view = self.replayer.load(store, settings.thread_id, cache=cache)
        if settings.checkpoint_id is not None and (
            head_view.checkpoint is None or settings.checkpoint_id != head_view.checkpoint.id
        ):
            view = self.replayer.load_checkpoint(store, settings.thread_id, settings.checkpoint_id, cache)
            view = attrs.evolve(view, last_seq=head_view.last_seq)
            siblings: list[tuple[int, TaskCompleted]] = []
            commands: list[int] = []
        else:
            view = head_view
            siblings = sorted(view.pending.completed.values(), key=lambda item: item[0])
            commands = [seq for seq, _ in view.pending.commands]
        frame = self.replayer.effective(view)
        if as_node is None:
            as_node = self._infer_as_node(settings, view)
        if as_node not in self.builder.nodes and as_node not in (START, END):
            raise InvalidUpdateError(f"as_node {as_node!r} is not a node of this graph")
        update = self.builder.schema.update_from(values, "update_state values") or {}
        writes = tuple(Write(key=k, value=v) for k, v in update.items())
        clear = as_node == END
        routing = (
            Routing()
            if clear
            else self.router.route(as_node, frame.values, writes, [], partial(settings.node_config, None))
        )
        base_seq = view.last_seq
        checkpoint = view.checkpoint
        event = StateUpdated(
            checkpoint_seq=checkpoint.seq if checkpoint else None,
            kind="update_state",
            as_node=as_node,
            writes=writes,
            routing=routing,
            clear_tasks=clear,
            actor=settings.metadata,
        )
        applied = (*commands, *(seq for seq, _ in in_path_order(siblings)), base_seq + 1)
        checkpoint_seq = base_seq + 2
        new = CheckpointCommitted(
            id=new_checkpoint_id(checkpoint_seq),
            step=frame.step + 1,
            source="update",
            parent_seq=checkpoint.seq if checkpoint else None,
            applied=applied,
            next=(),
            metadata=settings.metadata,
        )
        writes_by_seq: dict[int, Any] = {seq: e for seq, e in siblings}
        writes_by_seq.update({seq: c for seq, c in view.pending.commands})
        writes_by_seq[base_seq + 1] = event
        new_frame = self.replayer.apply_checkpoint(view.frame, new, writes_by_seq)
        new = attrs.evolve(new, next=next_names(new_frame))
        store.append(settings.thread_id, [encode_event(event), encode_event(new)], expected_seq=base_seq)
        settings.saver.mark_verified(settings.thread_id, base_seq + 2)
        cache[(settings.thread_id, checkpoint_seq)] = new_frame
        return checkpoint_config(settings.thread_id, new.id)

    def _infer_as_node(self, settings: RunSettings, view: ThreadView) -> str:
        checkpoint = view.checkpoint
        if checkpoint is None or not checkpoint.event.applied:
            return START
        writers: set[str] = set()
        for seq in checkpoint.event.applied:
            for record in settings.saver.store.read(settings.thread_id, from_seq=seq, to_seq=seq):
                event = decode_event(record)
                if isinstance(event, TaskCompleted):
                    writers.add(event.node)
                elif isinstance(event, StateUpdated) and event.as_node:
                    writers.add(event.as_node)
        if len(writers) > 1:
            raise InvalidUpdateError(
                f"Ambiguous update, specify as_node: the last step was written by {sorted(writers)}"
            )
        return writers.pop() if writers else START

    def fork(self, config: Mapping[str, Any], new_thread_id: str | None = None) -> dict[str, Any]:
        """Start a new thread from the checkpoint in ``config`` (or the head), copying no events."""
        settings = self._address(config)
        store = settings.saver.store
        if store.head(settings.thread_id) == 0:
            raise ThreadNotFound(settings.thread_id)
        settings.saver.check_integrity(settings.thread_id)
        if settings.checkpoint_id is not None:
            at = resolve_checkpoint(store, settings.thread_id, settings.checkpoint_id).seq
        else:
            at = store.head(settings.thread_id)
        new_id = (
            str(new_thread_id) if new_thread_id is not None else f"{settings.thread_id}-fork-{uuid.uuid4().hex[:8]}"
        )
        store.fork(settings.thread_id, at, new_id)
        head = next(store.read_backward(new_id, types=[CHECKPOINT]), None)
        if head is None:
            return {"configurable": {"thread_id": new_id, "checkpoint_ns": ""}}
        return checkpoint_config(new_id, CheckpointRecord.from_record(head).id)

    def verify_snapshots(self, config: Mapping[str, Any] | None = None) -> SnapshotReport:
        """Replay the thread in ``config`` (or every thread) from its first event and compare each snapshot."""
        saver = self.checkpointer
        if saver is None:
            raise ValueError("verify_snapshots needs a graph compiled with a checkpointer")
        if config is None:
            thread_ids = [info.thread_id for info in saver.store.list_threads()]
        else:
            thread_ids = [self._address(config).thread_id]
        return verify_snapshots(self.replayer, saver.store, thread_ids)

    def lineage(self, config: Mapping[str, Any]) -> list[ForkPoint]:
        """The thread and its ancestors: for each, the (thread, checkpoint) it was forked from."""
        settings = self._address(config)
        store = settings.saver.store
        chain: list[ForkPoint] = []
        thread_id: str | None = settings.thread_id
        while thread_id is not None:
            info = store.thread(thread_id)
            parent_checkpoint = None
            if info.parent_thread_id is not None and info.parent_seq is not None:
                record = next(
                    store.read_backward(info.parent_thread_id, before_seq=info.parent_seq + 1, types=[CHECKPOINT]),
                    None,
                )
                parent_checkpoint = CheckpointRecord.from_record(record).id if record is not None else None
            chain.append(
                ForkPoint(
                    thread_id=thread_id,
                    parent_thread_id=info.parent_thread_id,
                    parent_checkpoint_id=parent_checkpoint,
                    parent_seq=info.parent_seq,
                )
            )
            thread_id = info.parent_thread_id
        return chain


def _validated_filter(filter: Mapping[str, Any] | None) -> dict[str, Any]:
    if filter is None:
        return {}
    if not isinstance(filter, Mapping):
        raise TypeError("filter must be a dict of metadata keys to values")
    for key in filter:
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"metadata filter key {key!r} is not a plain identifier")
    return dict(filter)


__all__ = ["INTERRUPT_KEY", "CompiledStateGraph", "ForkPoint"]
