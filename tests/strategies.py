"""Hypothesis strategies shared by the whole test suite, one section per layer.

Import from here rather than defining strategies in test modules, so that every
layer's tests draw from the same vocabulary. Sections:

- event store: thread ids, event types, JSON payloads, ``NewEvent`` batches
- codec values: every kind of value the log accepts, plus the sample classes they use
- engine graphs: resume values, answer batches, and small random graphs with a builder
- projections: random user sessions (``RunOp`` scripts) and catch-up chunk sizes
- time travel: small DAGs whose nodes ask questions, inputs, and fork/update/replay scripts
- hostile databases: payload rows an attacker could write, and crafted tagged objects naming code
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict, TypeVar

import attrs
import orjson
from hypothesis import strategies as st

from eventstore import NewEvent, register_type

if TYPE_CHECKING:
    from engine import StateGraph

# ---------------------------------------------------------------------------------------------
# event store
# ---------------------------------------------------------------------------------------------

thread_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/ é", min_size=1, max_size=12)
event_types = st.sampled_from(["TaskWritten", "StepCommitted", "Interrupted", "Resumed", "StateUpdated"])

_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_objects: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        _json_leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)
"""A JSON object, the shape of every stored event payload."""


def new_events(types: st.SearchStrategy[str] = event_types) -> st.SearchStrategy[NewEvent]:
    """An event ready to append, with a JSON-object payload."""
    return st.builds(
        NewEvent,
        type=types,
        payload=json_objects.map(orjson.dumps),
        schema_version=st.integers(min_value=1, max_value=3),
    )


event_batches = st.lists(new_events(), min_size=1, max_size=4)
"""The events of one append (one superstep)."""

# ---------------------------------------------------------------------------------------------
# codec values
# ---------------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = ("blue", 3)


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    DRAFT = "draft"
    FINAL = "final"


@attrs.frozen
class Point:
    """A hashable attrs record (usable in sets and as a dict key)."""

    x: int
    y: int


@attrs.define
class Pair:
    """A mutable attrs record holding any values, with a private attribute (init alias ``note``)."""

    left: Any
    right: Any
    _note: str = ""
    derived: int = attrs.field(init=False, default=7)


@dataclasses.dataclass
class Box:
    """A dataclass holding any value, with a field computed after ``__init__``."""

    value: Any
    label: str = "box"
    size: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        self.size = len(self.label)


@dataclasses.dataclass(frozen=True)
class Tag:
    """A hashable dataclass."""

    name: str


class Money:
    """A plain class the log accepts only because it is registered with ``register_type``."""

    def __init__(self, amount: decimal.Decimal, currency: str) -> None:
        self.amount = amount
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.amount, self.currency) == (other.amount, other.currency)

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money({self.amount!r}, {self.currency!r})"


register_type(
    Money,
    to_data=lambda m: (m.amount, m.currency),
    from_data=lambda data: Money(*data),
    name="tests.strategies.Money",
)

# Leaves ---------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
"""Values JSON holds as they are."""

big_ints = st.integers(min_value=2**64) | st.integers(max_value=-(2**63) - 1)
non_finite_floats = st.sampled_from([math.nan, -math.nan, math.inf, -math.inf])
awkward_strings = st.text(st.characters(categories=["Cs"]) | st.characters() | st.just("\x00"), min_size=1)
"""Strings with lone surrogates and NUL characters."""

# Whole-second offsets: CPython 3.11's fromisoformat misreads "+00:00:00.000001" (sub-second offsets, which
# no real zone has, are the one tzinfo the codec does not round-trip exactly).
fixed_offsets = st.builds(
    dt.timezone, st.integers(min_value=-86_399, max_value=86_399).map(lambda s: dt.timedelta(seconds=s))
)
any_timezone = fixed_offsets | st.timezones() | st.just(dt.UTC)
datetimes = st.datetimes() | st.datetimes(timezones=any_timezone)
times = st.times() | st.times(timezones=fixed_offsets | st.timezones())
decimals = st.decimals(allow_nan=True, allow_infinity=True)
money = st.builds(Money, st.decimals(allow_nan=False, allow_infinity=False), st.sampled_from(["EUR", "USD"]))

hashable_values = st.recursive(
    json_scalars
    | big_ints
    | non_finite_floats
    | awkward_strings
    | st.binary(max_size=8)
    | st.dates()
    | times
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.sampled_from(Color)
    | st.sampled_from(Priority)
    | st.sampled_from(Mode)
    | st.builds(Point, st.integers(), st.integers())
    | st.builds(Tag, st.text(max_size=5))
    | money,
    lambda inner: st.lists(inner, max_size=3).map(tuple) | st.frozensets(inner, max_size=3),
    max_leaves=5,
)
"""Values usable as set members and dict keys."""

leaf_values = (
    hashable_values
    | st.floats()
    | datetimes
    | decimals
    | st.binary(max_size=16).map(bytearray)
    | st.just({"__lg__": "not a tag, just a key"})
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        | st.dictionaries(hashable_values, inner, max_size=3)
        | st.dictionaries(st.just("__lg__") | st.text(max_size=3), inner, min_size=1, max_size=2)
        | st.sets(hashable_values, max_size=3)
        | st.frozensets(hashable_values, max_size=3)
        | st.builds(Pair, inner, inner, st.text(max_size=4))
        | st.builds(Box, inner, st.text(max_size=4))
    )


values = st.recursive(leaf_values, _containers, max_leaves=12)
"""Any value the codec accepts, nested in any of its containers."""

# ---------------------------------------------------------------------------------------------
# engine graphs
# ---------------------------------------------------------------------------------------------

T = TypeVar("T")

_answer_leaves = (
    json_scalars.filter(lambda v: not (isinstance(v, float) and math.isnan(v)))
    | big_ints
    | st.dates()
    | st.builds(Point, st.integers(), st.integers())
    | st.builds(Tag, st.text(max_size=5))
)
resume_values: st.SearchStrategy[Any] = st.recursive(
    _answer_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
).filter(lambda v: v is not None and v != {})
"""Anything a person could answer an interrupt with.

Never ``None`` (``Command(resume=None)`` resumes nothing) nor ``{}`` (an empty
resume map); text keys are at most 6 characters, so no dict looks like an id map.
"""


def batches(items: Sequence[T]) -> st.SearchStrategy[list[list[T]]]:
    """``items`` in a random order, cut into non-empty batches (answers given a few at a time)."""

    @st.composite
    def build(draw: st.DrawFn) -> list[list[T]]:
        order = draw(st.permutations(list(items)))
        result: list[list[T]] = []
        while order:
            size = draw(st.integers(min_value=1, max_value=len(order)))
            result.append(order[:size])
            order = order[size:]
        return result

    return build()


class EngineState(TypedDict, total=False):
    """The state of the random graphs: two reducer keys and two last-value keys."""

    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    last: str
    count: int


@attrs.frozen
class NodeSpec:
    """A deterministic node: appends ``<name><len(log)>``, adds to ``total``; may set the last-value keys or ask."""

    name: str
    weight: int
    writes_last: bool
    asks: bool


@attrs.frozen
class LayerSpec:
    """Nodes that run in one superstep: all of them (fan-out, joined afterwards) or, if ``routed``, one."""

    nodes: tuple[NodeSpec, ...]
    routed: bool


@attrs.frozen
class GraphSpec:
    layers: tuple[LayerSpec, ...]

    @property
    def nodes(self) -> list[NodeSpec]:
        return [node for layer in self.layers for node in layer.nodes]


@st.composite
def graph_specs(draw: st.DrawFn, *, max_nodes: int = 5, asking: bool = False) -> GraphSpec:
    """Chains of layers (1..max_nodes nodes in all): fan-outs joined by barrier edges, and routed branches.

    A routed layer follows a single node (or START); in a fan-out layer at most one
    node writes the last-value keys, so no step has a write conflict. With
    ``asking`` some nodes call ``interrupt()`` once.
    """
    total = draw(st.integers(min_value=1, max_value=max_nodes))
    layers: list[LayerSpec] = []
    made = 0
    previous_size = 1
    while made < total:
        size = draw(st.integers(min_value=1, max_value=min(3, total - made)))
        routed = size > 1 and previous_size == 1 and draw(st.booleans())
        nodes = []
        for i in range(size):
            may_write_last = routed or i == 0
            nodes.append(
                NodeSpec(
                    name=f"n{made + i}",
                    weight=draw(st.integers(min_value=-3, max_value=5)),
                    writes_last=may_write_last and draw(st.booleans()),
                    asks=asking and draw(st.booleans()),
                )
            )
        layers.append(LayerSpec(nodes=tuple(nodes), routed=routed))
        made += size
        previous_size = size
    return GraphSpec(layers=tuple(layers))


engine_inputs: st.SearchStrategy[EngineState] = st.fixed_dictionaries(
    {"log": st.lists(st.text(alphabet="xyz", max_size=3), max_size=3), "total": st.integers(-5, 5)},
    optional={"count": st.integers(0, 3)},
)  # type: ignore[assignment]
"""A graph input for ``EngineState`` (through the reducers)."""


def _engine_node(spec: NodeSpec, ask: Callable[[str], Any]) -> Callable[[EngineState], EngineState]:
    def node(state: EngineState) -> EngineState:
        seen = len(state["log"])
        entry = f"{spec.name}{seen}"
        if spec.asks:
            entry += f"={ask(f'{spec.name}?')}"
        update: EngineState = {"log": [entry], "total": spec.weight * (seen + 1)}
        if spec.writes_last:
            update["last"] = f"{spec.name}@{state['total']}"
            update["count"] = state.get("count", 0) + 1
        return update

    return node


def build_engine_graph(spec: GraphSpec, ask: Callable[[str], Any] | None = None) -> StateGraph:
    """The graph a ``GraphSpec`` describes; asking nodes call ``ask`` (default ``interrupt``, or a stand-in)."""
    from engine import START, StateGraph, interrupt  # imported here: the event store's tests never load the engine

    ask = ask or interrupt
    graph = StateGraph(EngineState)
    for node in spec.nodes:
        graph.add_node(node.name, _engine_node(node, ask))
    previous = [START]
    joined = False
    for layer in spec.layers:
        names = [node.name for node in layer.nodes]
        if layer.routed:
            graph.add_conditional_edges(previous[0], _router(names))
        else:
            for name in names:
                if joined:
                    graph.add_edge(previous, name)
                else:
                    for source in previous:
                        graph.add_edge(source, name)
        previous = names
        joined = not layer.routed and len(names) > 1
    return graph


def _router(names: list[str]) -> Callable[[EngineState], str]:
    return lambda state: names[state["total"] % len(names)]


def engine_answer(question: Any) -> str:
    """The answer the random graphs' askers get: derived from the question, so any run can reproduce it."""
    return f"<{question}>"


# ---------------------------------------------------------------------------------------------
# the barrier: one step's updates applied to a frame
# ---------------------------------------------------------------------------------------------


@st.composite
def barrier_inputs(draw: st.DrawFn) -> Any:
    """A frame, channels, join edges and one step's updates, as ``engine.planning.barrier`` takes them.

    Mostly the shape a lone task's step has (one update, no Send, no join edge under way),
    with the other shapes mixed in.
    """
    from engine.channels import LastValue, Reducer
    from engine.events import Routing, SendPacket, Write
    from engine.planning import Frame

    keys = ["i", "log", "n"]
    channels = {"i": LastValue("i"), "n": LastValue("n"), "log": Reducer("log", operator.add, list)}
    nodes = st.sampled_from(["a", "b", "c", "__end__"])
    joins = draw(
        st.dictionaries(
            st.sampled_from(["a+b->c", "b+c->a"]),
            st.tuples(st.frozensets(nodes, min_size=1, max_size=2), nodes),
            max_size=2,
        )
    )
    value = st.integers(-3, 3) | st.lists(st.integers(0, 3), max_size=2)
    frame = Frame(
        values=draw(st.dictionaries(st.sampled_from(keys), value, max_size=3)),
        pull=tuple(draw(st.lists(nodes, max_size=2))),
        push=tuple(draw(st.lists(st.builds(SendPacket, node=nodes, arg=value), max_size=1))),
        joins=draw(st.just({}) | st.dictionaries(st.sampled_from(list(joins) or ["a+b->c"]), st.frozensets(nodes))),
        has_input=draw(st.booleans()),
        start_input=draw(st.none() | value),
        step=draw(st.integers(-1, 5)),
    )
    routing = st.builds(Routing, triggers=st.lists(nodes, max_size=3).map(tuple)) | st.builds(
        Routing,
        triggers=st.lists(nodes, max_size=2).map(tuple),
        sends=st.lists(st.builds(SendPacket, node=nodes, arg=value), max_size=1).map(tuple),
        joins=st.lists(st.sampled_from(list(joins) or ["a+b->c"]), max_size=1).map(tuple),
    )
    key = st.sampled_from(keys) | st.just("unknown")  # a write to a key the graph lacks: now and then
    writes = st.lists(st.builds(Write, key=key, value=value), max_size=3).map(tuple)
    updates = draw(st.lists(st.tuples(writes, routing, nodes), min_size=1, max_size=2))
    return frame, channels, joins, updates, draw(st.booleans()), draw(st.integers(0, 9))


# ---------------------------------------------------------------------------------------------
# time travel: small DAGs that ask questions, and what is done to their threads afterwards
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class TravelGraphSpec:
    """A DAG of nodes over a ``log`` list: entry nodes, forward edges, questions asked, static breakpoints.

    Node ``i`` asks ``asks[i]`` questions (``interrupt()`` calls) in turn; a node with
    no outgoing edge goes to END. Edges only point forward, so every run ends.
    """

    nodes: tuple[str, ...]
    entry: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    asks: tuple[int, ...]
    interrupt_before: tuple[str, ...]


@st.composite
def travel_graph_specs(draw: st.DrawFn, *, max_nodes: int = 5, max_asks: int = 2) -> TravelGraphSpec:
    count = draw(st.integers(min_value=1, max_value=max_nodes))
    nodes = tuple(f"n{i}" for i in range(count))
    entry = tuple(draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2, unique=True)))
    pairs = [(nodes[i], nodes[j]) for i in range(count) for j in range(i + 1, count)]
    chosen = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    return TravelGraphSpec(
        nodes=nodes,
        entry=entry,
        edges=tuple(pair for pair, keep in zip(pairs, chosen, strict=True) if keep),
        asks=tuple(draw(st.integers(min_value=0, max_value=max_asks)) for _ in nodes),
        interrupt_before=tuple(draw(st.lists(st.sampled_from(nodes), max_size=1))),
    )


travel_inputs = st.lists(st.text(alphabet="xyz", min_size=1, max_size=2), min_size=1, max_size=3)
"""The inputs given to one thread in turn, each a new run on top of the last."""

TRAVEL_OPS = ("fork", "update", "replay", "input")
travel_ops = st.lists(
    st.tuples(st.sampled_from(TRAVEL_OPS), st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
    min_size=1,
    max_size=8,
)
"""What is done to a family of threads: ``(kind, which thread, which checkpoint, which node)``, read modulo."""

# ---------------------------------------------------------------------------------------------
# projections: random runs of a workflow
# ---------------------------------------------------------------------------------------------

RUN_OP_KINDS = ("start", "resume", "continue", "update", "abandon", "replay", "fork")


@attrs.frozen
class RunOp:
    """One thing a user does to a thread: start one, answer, continue, edit, abandon, go back, fork.

    ``thread`` picks among the threads started so far; ``amount`` is the input
    (or picks the answer, the edit, or the past checkpoint); ``user`` is the
    run's metadata.
    """

    kind: str
    thread: int
    amount: int
    user: str | None


run_ops = st.builds(
    RunOp,
    kind=st.sampled_from(RUN_OP_KINDS),
    thread=st.integers(min_value=0, max_value=5),
    amount=st.integers(min_value=0, max_value=250),
    user=st.sampled_from([None, "ann", "bo"]),
)
run_scripts = st.lists(run_ops, min_size=1, max_size=12)
"""A user's session with a workflow: what they did, in order."""

chunk_sizes = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=12)
"""How many events a projection runner may apply per call, one call after each action (cycled)."""

# ---------------------------------------------------------------------------------------------
# hostile databases: what an attacker with write access to the file could put in a payload row
# ---------------------------------------------------------------------------------------------

DANGEROUS_NAMES = (
    "os.system",
    "os.popen",
    "subprocess.Popen",
    "subprocess.run",
    "builtins.eval",
    "builtins.exec",
    "builtins.__import__",
    "importlib.import_module",
    "pickle.loads",
    "posix.system",
    "shutil.rmtree",
    "ctypes.CDLL",
    "__builtins__",
    "os",
)
"""Names of code a crafted payload may try to reach."""


def crafted_objects(canary: str) -> st.SearchStrategy[Any]:
    """Tagged objects naming code (each would create ``canary`` if run), and malformed tagged objects."""
    command = f"touch {canary}"
    argv = ["touch", canary]
    named = st.sampled_from(DANGEROUS_NAMES)
    code_calls = st.one_of(
        st.builds(lambda t: {"__lg__": "obj", "type": t, "fields": {"command": command}}, named),
        st.builds(lambda t: {"__lg__": "obj", "type": t, "fields": {"args": argv, "shell": False}}, named),
        st.builds(lambda t: {"__lg__": "custom", "type": t, "v": argv}, named),
        st.builds(lambda t: {"__lg__": "custom", "type": t, "v": command}, named),
        st.builds(lambda t: {"__lg__": "enum", "type": t, "v": command}, named),
        st.builds(lambda t: {"__lg__": t, "type": t, "v": command, "args": argv}, named),
        st.builds(lambda t: {"__lg__": "datetime", "v": "2024-01-01T00:00:00", "tz": t}, named),
        st.just({"__lg__": "datetime", "v": "2024-01-01T00:00:00", "tz": "../../../../etc/passwd"}),
        st.just({"__lg__": "obj", "type": ["os", "system"], "fields": {"command": command}}),
        st.just({"__lg__": "obj", "type": {"__lg__": "str", "utf8": "b3Muc3lzdGVt"}, "fields": {}}),
        st.just({"__lg__": "obj", "type": "engine.types.Command", "fields": {"goto": command}}),
    )
    malformed = st.sampled_from(
        [
            {"__lg__": "tuple", "items": 5},
            {"__lg__": "tuple"},
            {"__lg__": "dict", "items": [[[1, 2], 3]]},
            {"__lg__": "dict", "items": [[1]]},
            {"__lg__": "set", "items": [[1], {"a": 1}]},
            {"__lg__": "frozenset", "items": "abc"},
            {"__lg__": "str", "utf8": "not base64!"},
            {"__lg__": "str", "utf8": 7},
            {"__lg__": "int", "v": "9" * 5000},
            {"__lg__": "int", "hex": "0x" + "f" * 20},
            {"__lg__": "int", "hex": 5},
            {"__lg__": "int", "v": "__import__('os')"},
            {"__lg__": "float", "v": "1e999"},
            {"__lg__": "float", "v": 1.5},
            {"__lg__": "bytes", "b64": "%%%"},
            {"__lg__": "bytearray", "b64": None},
            {"__lg__": "date", "v": "yesterday"},
            {"__lg__": "time", "v": "25:61"},
            {"__lg__": "datetime", "v": 0},
            {"__lg__": "timedelta", "v": [10**18, 0, 0]},
            {"__lg__": "timedelta", "v": "1 day"},
            {"__lg__": "uuid", "v": "not-a-uuid"},
            {"__lg__": "decimal", "v": ["1"]},
            {"__lg__": "decimal", "v": "1e999999999999999999"},
            {"__lg__": "obj", "type": "tests.strategies.Point", "fields": {"nope": 1}},
            {"__lg__": "obj", "type": "tests.strategies.Point", "fields": [1, 2]},
            {"__lg__": "enum", "type": "tests.strategies.Color", "v": "purple"},
            {"__lg__": "custom", "type": "tests.strategies.Money", "v": {"__lg__": "os.system"}},
            {"__lg__": None},
            {"__lg__": 1},
            {"__lg__": ["tuple"]},
            {"__lg__": "unknown-tag"},
        ]
    )
    return code_calls | malformed


def hostile_json(canary: str) -> st.SearchStrategy[Any]:
    """Arbitrary JSON with crafted tagged objects anywhere inside it."""
    leaves = json_scalars | st.text(max_size=4) | crafted_objects(canary)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    )


def hostile_payloads(canary: str) -> st.SearchStrategy[bytes]:
    """Whole payload rows: random bytes, broken JSON, JSON of the wrong shape, or hostile JSON."""
    return st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [b"", b"{", b"[]", b"null", b"1e999999", b'{"a": 1}x', b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000]
        ),
        hostile_json(canary).map(lambda v: orjson.dumps(v)),
    )


@attrs.frozen
class RowMutation:
    """How to rewrite one event row: which row, and what to put in its payload, type and schema version.

    ``graft`` replaces one value inside the row's real payload (the ``at``-th node of
    its JSON tree, modulo their number) rather than the whole payload; ``rechain``
    recomputes the hash chain from that row on, as an attacker who knows the layout would.
    """

    row: int
    payload: bytes | None
    graft: Any
    at: int
    type: str | None
    schema_version: Any
    rechain: bool


def row_mutations(canary: str, event_types: Sequence[str]) -> st.SearchStrategy[RowMutation]:
    return st.builds(
        RowMutation,
        row=st.integers(min_value=0, max_value=10_000),
        payload=st.none() | hostile_payloads(canary),
        graft=hostile_json(canary),
        at=st.integers(min_value=0, max_value=10_000),
        type=st.none() | st.sampled_from(list(event_types)) | st.text(max_size=6),
        schema_version=st.none()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | st.sampled_from(["1", "x", 1.5]),
        rechain=st.booleans(),
    )
