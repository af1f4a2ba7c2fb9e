"""Time travel: reading past checkpoints, listing history, editing state, replaying from the past.

COMPAT.md section 7 (tier C) with the deliberate differences at its end. Every
test runs on a real SQLite file; "byte-identical" claims compare raw rows of
the ``events`` table read through a separate connection.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import (
    END,
    START,
    CheckpointNotFound,
    Command,
    CompiledStateGraph,
    Interrupt,
    InvalidUpdateError,
    SqliteSaver,
    StateGraph,
    StateSnapshot,
    TaskError,
    interrupt,
)
from engine.events import StateUpdated
from eventstore import SqliteEventStore, decode_event
from tests.engine.history_helpers import checkpoint_id, event_rows, history

# ---------------------------------------------------------------------------------------------
# graphs and helpers
# ---------------------------------------------------------------------------------------------


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


class Approval(TypedDict):
    approval: str


class Recorder:
    """Nodes that append their name to ``log`` and note the state they were given, by checkpoint id."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seen: dict[str, dict[str, Any]] = {}
        self.failing: set[str] = set()

    def node(self, name: str, *, ask: bool = False) -> Callable[[Log, dict[str, Any]], dict[str, Any]]:
        def run(state: Log, config: dict[str, Any]) -> dict[str, Any]:
            self.calls.append(name)
            self.seen.setdefault(config["configurable"]["checkpoint_id"], dict(state))
            if name in self.failing:
                raise ValueError(f"{name} is broken")
            if ask:
                answer = interrupt(f"{name}?")
                return {"log": [f"{name}:{answer}"]}
            return {"log": [name]}

        return run


def chain(
    recorder: Recorder, names: str, saver: SqliteSaver, *, ask: str = "", **compile_kwargs: Any
) -> CompiledStateGraph:
    """START -> names[0] -> names[1] -> ... -> END; nodes named in ``ask`` interrupt once."""
    builder = StateGraph(Log)
    for name in names:
        builder.add_node(name, recorder.node(name, ask=name in ask))
    builder.add_edge(START, names[0])
    for first, second in itertools.pairwise(names):
        builder.add_edge(first, second)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=saver, **compile_kwargs)


def diamond(recorder: Recorder, saver: SqliteSaver, *, ask: str = "") -> CompiledStateGraph:
    """START -> a -> (b, c in one step) -> d -> END."""
    builder = StateGraph(Log)
    for name in "abcd":
        builder.add_node(name, recorder.node(name, ask=name in ask))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "c")
    builder.add_edge(["b", "c"], "d")
    builder.add_edge("d", END)
    return builder.compile(checkpointer=saver)


def thread(thread_id: str = "t", **metadata: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    if metadata:
        config["metadata"] = metadata
    return config


def at(snapshot: StateSnapshot) -> dict[str, Any]:
    """The config that addresses ``snapshot``'s checkpoint."""
    return snapshot.config


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "log.sqlite"


@pytest.fixture
def saver(db: Path) -> SqliteSaver:
    return SqliteSaver(db)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


# ---------------------------------------------------------------------------------------------
# get_state at a past checkpoint
# ---------------------------------------------------------------------------------------------


def test_every_checkpoint_of_a_finished_run_reads_back_as_the_state_seen_live(
    rec: Recorder, saver: SqliteSaver
) -> None:
    graph = diamond(rec, saver)
    streamed = list(graph.stream({"log": ["in"]}, thread(), stream_mode="values"))

    snapshots = history(graph, thread())
    loops = [s for s in reversed(snapshots) if s.metadata and s.metadata["source"] == "loop"]
    assert [s.values for s in loops] == streamed
    for snapshot in snapshots:
        seen = rec.seen.get(checkpoint_id(snapshot))
        if seen is not None:
            assert snapshot.values == seen
            assert graph.get_state(at(snapshot)).values == seen
    assert set(rec.seen) <= {checkpoint_id(s) for s in snapshots}
    assert len(rec.seen) == 3  # a, then b and c together, then d


def test_a_past_checkpoint_lists_its_step_tasks_with_their_results(rec: Recorder, saver: SqliteSaver) -> None:
    graph = diamond(rec, saver)
    graph.invoke({"log": []}, thread())

    step = next(s for s in history(graph, thread()) if set(s.next) == {"b", "c"})
    read = graph.get_state(at(step))

    assert read == step
    assert read.values == {"log": ["a"]}  # as of the step's start
    assert {t.name: t.result for t in read.tasks} == {"b": {"log": ["b"]}, "c": {"log": ["c"]}}
    assert all(t.error is None and t.interrupts == () for t in read.tasks)


def test_a_past_checkpoint_keeps_the_error_of_a_task_that_failed_there(rec: Recorder, saver: SqliteSaver) -> None:
    graph = diamond(rec, saver)
    rec.failing.add("b")
    with pytest.raises(ValueError, match="b is broken"):
        graph.invoke({"log": []}, thread())
    failed_at = graph.get_state(thread())
    rec.failing.clear()
    graph.invoke({"log": ["again"]}, thread())  # new input: the failed step is now in the past

    read = graph.get_state(at(failed_at))
    tasks = {t.name: t for t in read.tasks}
    assert isinstance(tasks["b"].error, TaskError)
    assert tasks["b"].error.error_type == "ValueError"
    assert "b is broken" in str(tasks["b"].error)
    assert tasks["b"].result is None
    assert tasks["c"].error is None
    assert tasks["c"].result == {"log": ["c"]}


def test_a_past_checkpoint_shows_the_interrupts_its_tasks_raised_after_they_were_answered(
    rec: Recorder, saver: SqliteSaver
) -> None:
    graph = chain(rec, "ab", saver, ask="a")
    raised = graph.invoke({"log": []}, thread())["__interrupt__"]
    graph.invoke(Command(resume="yes"), thread())

    asked = next(s for s in history(graph, thread()) if s.next == ("a",))
    read = graph.get_state(at(asked))

    assert read.interrupts == raised == (Interrupt(value="a?", id=raised[0].id),)
    (task,) = read.tasks
    assert task.interrupts == raised
    assert task.result == {"log": ["a:yes"]}
    assert graph.get_state(thread()).interrupts == ()


def test_the_live_view_applies_finished_siblings_but_a_checkpoint_id_shows_the_step_as_recorded(
    rec: Recorder, saver: SqliteSaver
) -> None:
    graph = diamond(rec, saver, ask="c")
    graph.invoke({"log": []}, thread())

    live = graph.get_state(thread())
    recorded = graph.get_state(at(live))

    assert live.values == {"log": ["a", "b"]}
    assert live.next == ("c",)
    assert recorded.values == {"log": ["a"]}
    assert recorded.next == ("b", "c")
    assert {t.name: t.result for t in recorded.tasks} == {"b": {"log": ["b"]}, "c": None}
    assert recorded.interrupts == live.interrupts == (Interrupt(value="c?", id=live.interrupts[0].id),)


def test_each_checkpoint_names_its_parent_and_the_first_has_none(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())

    oldest_first = list(reversed(history(graph, thread())))
    assert oldest_first[0].parent_config is None
    for parent, child in itertools.pairwise(oldest_first):
        assert child.parent_config == parent.config
        assert graph.get_state(at(child)).parent_config == parent.config


@pytest.mark.parametrize("bad_id", ["000000000099-aaaaaaaaaaaa", "not-a-checkpoint", "1f1e5942-978d-6ab8"])
def test_a_checkpoint_id_the_thread_does_not_have_is_an_error(rec: Recorder, saver: SqliteSaver, bad_id: str) -> None:
    graph = chain(rec, "ab", saver)
    graph.invoke({"log": []}, thread())
    config = {"configurable": {"thread_id": "t", "checkpoint_id": bad_id}}

    with pytest.raises(CheckpointNotFound):
        graph.get_state(config)
    with pytest.raises(CheckpointNotFound):
        graph.invoke(None, config)
    with pytest.raises(CheckpointNotFound):
        graph.update_state(config, {"log": ["x"]}, as_node="a")


def test_a_checkpoint_of_another_thread_is_not_found_on_this_one(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "ab", saver)
    graph.invoke({"log": []}, thread("one"))
    graph.invoke({"log": []}, thread("two"))
    theirs = checkpoint_id(graph.get_state(thread("one")))

    with pytest.raises(CheckpointNotFound):
        graph.get_state({"configurable": {"thread_id": "two", "checkpoint_id": theirs}})


def test_past_checkpoints_read_the_same_from_snapshots_and_from_the_log_alone(db: Path, rec: Recorder) -> None:
    saver = SqliteSaver(db, snapshot_every=1)
    graph = chain(rec, "abcd", saver, ask="c")
    graph.invoke({"log": []}, thread())
    graph.invoke(Command(resume="ok"), thread())
    live = history(graph, thread())
    assert saver.store.latest_snapshot("t") is not None

    from_snapshots = history(chain(Recorder(), "abcd", SqliteSaver(db), ask="c"), thread())
    assert saver.store.delete_snapshots() > 0
    from_the_log = history(chain(Recorder(), "abcd", SqliteSaver(db), ask="c"), thread())

    assert from_snapshots == live
    assert from_the_log == live


# ---------------------------------------------------------------------------------------------
# get_state_history
# ---------------------------------------------------------------------------------------------


def test_history_lists_every_checkpoint_newest_first(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())

    snapshots = history(graph, thread())
    assert [(s.metadata or {})["step"] for s in snapshots] == [3, 2, 1, 0, -1]
    assert [(s.metadata or {})["source"] for s in snapshots] == ["loop", "loop", "loop", "loop", "input"]
    assert [s.next for s in snapshots] == [(), ("c",), ("b",), ("a",), ("__start__",)]
    assert snapshots[0] == graph.get_state(thread())


def test_history_lists_every_branch_not_just_the_heads_lineage(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())
    original = history(graph, thread())
    before_b = next(s for s in original if s.next == ("b",))
    graph.update_state(at(before_b), {"log": ["edited"]}, as_node="a")
    graph.invoke(None, thread())
    graph.invoke(None, at(before_b))  # a replay: a third branch

    everything = history(graph, thread())
    ids = [checkpoint_id(s) for s in everything]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == len(ids)
    assert set(map(checkpoint_id, original)) <= set(ids)
    finals = [s.values for s in everything if s.next == () and (s.metadata or {})["source"] == "loop"]
    assert finals == [
        {"log": ["a", "b", "c"]},
        {"log": ["a", "edited", "b", "c"]},
        {"log": ["a", "b", "c"]},
    ]


def test_history_of_an_unknown_thread_is_empty(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "ab", saver)
    assert history(graph, thread("nobody")) == []
    assert history(graph, thread("nobody"), filter={"source": "loop"}, limit=3) == []


def test_history_filter_is_equality_on_metadata_keys(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread(user="ann"))
    graph.update_state(thread(user="bob"), {"log": ["x"]}, as_node="c")

    def steps(**filter: Any) -> list[int]:
        return [(s.metadata or {})["step"] for s in history(graph, thread(), filter=filter)]

    assert steps(source="loop") == [3, 2, 1, 0]
    assert steps(source="update") == [4]
    assert steps(step=2) == [2]
    assert steps(user="ann") == [3, 2, 1, 0, -1]
    assert steps(user="bob") == [4]
    assert steps(user="ann", source="input") == [-1]
    assert steps(user="ann", step=4) == []
    assert steps(no_such_key="loop") == []
    assert steps() == [4, 3, 2, 1, 0, -1]


@pytest.mark.parametrize(
    "key", ["user') OR 1=1 --", "user'", "a.b", "$.source", "", "metadata->>'$.user'", "two words", 1, None]
)
def test_history_filter_rejects_keys_that_are_not_plain_identifiers(db: Path, rec: Recorder, key: Any) -> None:
    statements: list[str] = []
    graph = chain(rec, "ab", SqliteSaver(SqliteEventStore(db, tracer=statements.append)))
    graph.invoke({"log": []}, thread(user="ann"))
    rows_before = event_rows(db, "t")
    statements.clear()

    with pytest.raises(ValueError, match="identifier"):
        history(graph, thread(), filter={key: "ann"})

    assert not any("1=1" in sql or (isinstance(key, str) and key and key in sql) for sql in statements)
    assert event_rows(db, "t") == rows_before
    assert len(history(graph, thread(), filter={"user": "ann"})) == 4


def test_history_before_lists_only_older_checkpoints(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())
    everything = history(graph, thread())

    for index, snapshot in enumerate(everything):
        assert history(graph, thread(), before=at(snapshot)) == everything[index + 1 :]
    assert history(graph, thread(), before=at(everything[1]), limit=2) == everything[2:4]
    assert history(graph, thread(), before=at(everything[0]), filter={"source": "input"}) == everything[-1:]


def test_history_before_a_checkpoint_on_another_branch_lists_older_checkpoints_of_every_branch(
    rec: Recorder, saver: SqliteSaver
) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())
    before_b = next(s for s in history(graph, thread()) if s.next == ("b",))
    branch = graph.update_state(at(before_b), {"log": ["edited"]}, as_node="a")
    graph.invoke(None, thread())

    older = history(graph, thread(), before=branch)
    assert [checkpoint_id(s) for s in older] == sorted(
        (checkpoint_id(s) for s in history(graph, thread()) if checkpoint_id(s) < checkpoint_id(branch)),
        reverse=True,
    )
    assert older[0].next == ()  # the original branch's final checkpoint was made just before the edit


def test_history_limit_caps_the_number_listed(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())
    everything = history(graph, thread())

    assert history(graph, thread(), limit=1) == everything[:1]
    assert history(graph, thread(), limit=3) == everything[:3]
    assert history(graph, thread(), limit=100) == everything
    assert history(graph, thread(), limit=0) == []
    loops = [s for s in everything if (s.metadata or {})["source"] == "loop"]
    assert history(graph, thread(), filter={"source": "loop"}, limit=2) == loops[:2]


# ---------------------------------------------------------------------------------------------
# checkpoint ids
# ---------------------------------------------------------------------------------------------


def test_checkpoint_ids_are_strings_that_sort_in_creation_order(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver, ask="b")
    created: list[str] = []

    def note_head() -> None:
        head = checkpoint_id(graph.get_state(thread()))
        if not created or created[-1] != head:
            created.append(head)

    graph.invoke({"log": []}, thread())
    note_head()
    graph.invoke(Command(resume="ok"), thread())
    note_head()
    past = next(s for s in history(graph, thread()) if s.next == ("b",))
    graph.update_state(at(past), {"log": ["x"]}, as_node="a")
    note_head()
    graph.invoke(None, at(past))
    note_head()
    graph.invoke({"log": ["more"]}, thread())
    note_head()

    ids = [checkpoint_id(s) for s in history(graph, thread())]
    assert all(isinstance(i, str) for i in ids)
    assert ids == sorted(ids, reverse=True)
    assert created == sorted(created)
    assert set(created) <= set(ids)


def test_checkpoint_ids_and_states_survive_reopening_the_database(db: Path, rec: Recorder) -> None:
    first = SqliteSaver(db)
    graph = chain(rec, "abc", first, ask="b")
    graph.invoke({"log": []}, thread())
    graph.invoke(Command(resume="ok"), thread())
    before = history(graph, thread())
    first.close()

    reopened = chain(Recorder(), "abc", SqliteSaver(db), ask="b")
    after = history(reopened, thread())

    assert [checkpoint_id(s) for s in after] == [checkpoint_id(s) for s in before]
    assert [s.values for s in after] == [s.values for s in before]
    assert [(s.next, s.tasks, s.interrupts, s.parent_config) for s in after] == [
        (s.next, s.tasks, s.interrupts, s.parent_config) for s in before
    ]
    for snapshot in before:
        assert reopened.get_state(at(snapshot)).values == snapshot.values


# ---------------------------------------------------------------------------------------------
# update_state
# ---------------------------------------------------------------------------------------------


def test_update_state_records_who_which_node_and_the_values_in_an_event(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread())
    head_seq = saver.store.head("t")

    graph.update_state(thread(user="ann", ticket=7), {"log": ["manual"]}, as_node="a")

    events = [decode_event(r) for r in saver.store.read("t", from_seq=head_seq + 1)]
    updates = [e for e in events if isinstance(e, StateUpdated)]
    assert len(updates) == 1
    (update,) = updates
    assert update.kind == "update_state"
    assert update.as_node == "a"
    assert [(w.key, w.value) for w in update.writes] == [("log", ["manual"])]
    assert update.actor["user"] == "ann"
    assert update.actor["ticket"] == 7
    assert not update.clear_tasks


def test_update_state_makes_a_new_update_checkpoint_one_step_after_the_addressed_one(
    rec: Recorder, saver: SqliteSaver
) -> None:
    graph = chain(rec, "abc", saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread())
    addressed = graph.get_state(thread())

    returned = graph.update_state(thread(user="ann"), {"log": ["manual"]}, as_node="a")
    head = graph.get_state(thread())

    assert returned == head.config
    assert checkpoint_id(head) > checkpoint_id(addressed)
    assert head.parent_config == addressed.config
    assert head.metadata is not None and addressed.metadata is not None
    assert head.metadata["source"] == "update"
    assert head.metadata["step"] == addressed.metadata["step"] + 1
    assert head.metadata["user"] == "ann"
    assert head.values == {"log": ["a", "manual"]}  # through the reducer


@pytest.mark.parametrize(
    ("as_node", "expected_next", "then_run"), [("a", ("b",), ["b", "c"]), ("b", ("c",), ["c"]), ("c", (), [])]
)
def test_next_after_update_state_follows_the_edges_of_as_node(
    rec: Recorder, saver: SqliteSaver, as_node: str, expected_next: tuple[str, ...], then_run: list[str]
) -> None:
    graph = chain(rec, "abc", saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread())
    assert graph.get_state(thread()).next == ("b",)

    graph.update_state(thread(), {"log": ["manual"]}, as_node=as_node)

    assert graph.get_state(thread()).next == expected_next
    rec.calls.clear()
    final = graph.invoke(None, thread())
    assert rec.calls == then_run
    assert final == {"log": ["a", "manual", *then_run]}


def test_update_state_as_end_with_no_values_clears_pending_interrupts(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "ab", saver, ask="b")
    graph.invoke({"log": []}, thread())
    assert graph.get_state(thread()).interrupts

    graph.update_state(thread(), None, as_node=END)
    cleared = graph.get_state(thread())

    assert cleared.next == ()
    assert cleared.tasks == ()
    assert cleared.interrupts == ()
    assert cleared.values == {"log": ["a"]}
    assert cleared.metadata is not None and cleared.metadata["source"] == "update"
    update = decode_event(next(saver.store.read("t", from_seq=saver.store.head("t") - 1)))
    assert isinstance(update, StateUpdated)
    assert update.as_node == END
    assert update.clear_tasks
    # new input now starts a new run: it is not taken as the answer to the cleared question
    rec.calls.clear()
    result = graph.invoke({"log": ["new"]}, thread())
    assert rec.calls == ["a", "b"]
    assert result["log"] == ["a", "new", "a"]
    assert result["__interrupt__"][0].value == "b?"


def test_update_state_without_as_node_acts_as_the_node_that_wrote_last(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread())

    graph.update_state(thread(), {"log": ["manual"]})

    assert graph.get_state(thread()).next == ("b",)  # acted as "a"


def test_update_state_without_as_node_after_a_parallel_step_is_ambiguous(rec: Recorder, saver: SqliteSaver) -> None:
    graph = diamond(rec, saver, ask="d")
    graph.invoke({"log": []}, thread())
    head_seq = saver.store.head("t")

    with pytest.raises(InvalidUpdateError, match="as_node"):
        graph.update_state(thread(), {"log": ["manual"]})
    with pytest.raises(InvalidUpdateError):
        graph.update_state(thread(), {"log": ["manual"]}, as_node="no_such_node")
    assert saver.store.head("t") == head_seq


def test_update_state_on_a_past_checkpoint_starts_a_branch_and_leaves_the_old_one_byte_identical(
    db: Path, rec: Recorder, saver: SqliteSaver
) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())
    original = history(graph, thread())
    rows_before = event_rows(db, "t")
    before_b = next(s for s in original if s.next == ("b",))

    branch = graph.update_state(at(before_b), {"log": ["edited"]}, as_node="a")

    rows_after = event_rows(db, "t")
    assert rows_after[: len(rows_before)] == rows_before
    assert len(rows_after) == len(rows_before) + 2  # the edit and its checkpoint
    head = graph.get_state(thread())
    assert head.config == branch
    assert head.parent_config == before_b.config
    assert head.values == {"log": ["a", "edited"]}
    assert head.next == ("b",)
    for snapshot in original:  # the old branch stays readable, unchanged
        assert graph.get_state(at(snapshot)) == snapshot
    assert saver.store.verify("t").ok


def test_invoke_none_after_an_update_continues_from_the_patched_state(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver)
    graph.invoke({"log": []}, thread())
    before_b = next(s for s in history(graph, thread()) if s.next == ("b",))
    graph.update_state(at(before_b), {"log": ["edited"]}, as_node="a")
    rec.calls.clear()

    final = graph.invoke(None, thread())

    assert rec.calls == ["b", "c"]
    assert final == {"log": ["a", "edited", "b", "c"]}
    assert history(graph, thread())[0].values == final


# ---------------------------------------------------------------------------------------------
# replay
# ---------------------------------------------------------------------------------------------


def test_replay_re_runs_exactly_the_nodes_after_the_checkpoint(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abcd", saver)
    graph.invoke({"log": []}, thread())
    before_c = next(s for s in history(graph, thread()) if s.next == ("c",))
    rec.calls.clear()

    final = graph.invoke(None, at(before_c))

    assert rec.calls == ["c", "d"]
    assert final == {"log": ["a", "b", "c", "d"]}


def test_replay_fires_interrupts_again_instead_of_reusing_old_answers(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abc", saver, ask="b")
    graph.invoke({"log": []}, thread())
    graph.invoke(Command(resume="first"), thread())
    before_b = next(s for s in history(graph, thread()) if s.next == ("b",))
    rec.calls.clear()

    replayed = graph.invoke(None, at(before_b))

    assert rec.calls == ["b"]
    assert replayed["log"] == ["a"]
    assert [i.value for i in replayed["__interrupt__"]] == ["b?"]
    assert graph.get_state(thread()).next == ("b",)
    final = graph.invoke(Command(resume="second"), thread())
    assert final == {"log": ["a", "b:second", "c"]}
    assert rec.calls == ["b", "b", "c"]


def test_replay_is_a_new_branch_and_the_original_stays_readable(db: Path, rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abcd", saver)
    graph.invoke({"log": []}, thread())
    original = history(graph, thread())
    rows_before = event_rows(db, "t")
    before_c = next(s for s in original if s.next == ("c",))

    graph.invoke(None, at(before_c))

    assert event_rows(db, "t")[: len(rows_before)] == rows_before
    new = [s for s in history(graph, thread()) if checkpoint_id(s) > checkpoint_id(original[0])]
    assert [(s.metadata or {})["source"] for s in reversed(new)] == ["fork", "loop", "loop"]
    assert new[-1].parent_config == before_c.config
    for child, parent in itertools.pairwise(new):
        assert child.parent_config == parent.config
    for snapshot in original:
        assert graph.get_state(at(snapshot)) == snapshot


def test_replaying_the_final_checkpoint_runs_nothing(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "ab", saver)
    final = graph.invoke({"log": []}, thread())
    rec.calls.clear()

    assert graph.invoke(None, graph.get_state(thread()).config) == final
    assert rec.calls == []


def test_steps_keep_counting_along_every_branch(rec: Recorder, saver: SqliteSaver) -> None:
    graph = chain(rec, "abcd", saver)
    graph.invoke({"log": []}, thread())
    before_c = next(s for s in history(graph, thread()) if s.next == ("c",))
    graph.invoke(None, at(before_c))
    graph.update_state(at(before_c), {"log": ["x"]}, as_node="c")
    graph.invoke(None, thread())

    by_id = {checkpoint_id(s): s for s in history(graph, thread())}
    for snapshot in by_id.values():
        if snapshot.parent_config is not None:
            parent = by_id[checkpoint_id(snapshot.parent_config)]
            assert snapshot.metadata is not None and parent.metadata is not None
            assert snapshot.metadata["step"] == parent.metadata["step"] + 1, (
                f"{snapshot.metadata['source']} checkpoint {checkpoint_id(snapshot)} is step "
                f"{snapshot.metadata['step']}, its parent is step {parent.metadata['step']}"
            )


# ---------------------------------------------------------------------------------------------
# the tutorial: approve, then go back to before the approval and decide the other way
# ---------------------------------------------------------------------------------------------


def tutorial_app(saver: SqliteSaver, asked: list[str]) -> CompiledStateGraph:
    """The graph of reference/interrupt-tutorial.md, with a list standing in for its print()."""

    def ask_for_approval(state: Approval) -> dict[str, Any]:
        asked.append("---ASKING FOR APPROVAL---")
        response = interrupt("Do you approve this action?")
        return {"approval": response}

    workflow = StateGraph(Approval)
    workflow.add_node("approval_node", ask_for_approval)
    workflow.set_entry_point("approval_node")
    workflow.add_edge("approval_node", END)
    return workflow.compile(checkpointer=saver)


def test_tutorial_approve_then_go_back_before_the_approval_and_decide_the_other_way(
    db: Path, saver: SqliteSaver
) -> None:
    asked: list[str] = []
    app = tutorial_app(saver, asked)
    config = {"configurable": {"thread_id": "tutorial"}}
    question = app.invoke(None, config)["__interrupt__"]
    assert app.invoke("Yes, I approve.", config) == {"approval": "Yes, I approve."}
    approved = app.get_state(config)
    rows_approved = event_rows(db, "tutorial")

    # go back: the checkpoint just before approval_node ran
    before = next(s for s in app.get_state_history(config) if s.next == ("approval_node",))
    assert before.values == {}
    asked.clear()
    again = app.invoke(None, before.config)
    assert asked == ["---ASKING FOR APPROVAL---"]
    assert [i.value for i in again["__interrupt__"]] == [question[0].value]
    assert app.get_state(config).next == ("approval_node",)

    decided = app.invoke("No, I do not approve.", config)

    assert decided == {"approval": "No, I do not approve."}
    assert app.get_state(config).values == {"approval": "No, I do not approve."}
    assert asked == ["---ASKING FOR APPROVAL---"] * 2
    # the approval is still in the log, readable, and its events are untouched
    assert app.get_state(approved.config) == approved
    assert event_rows(db, "tutorial")[: len(rows_approved)] == rows_approved
    finals = [s.values["approval"] for s in app.get_state_history(config) if s.next == () and s.values]
    assert finals == ["No, I do not approve.", "Yes, I approve."]


def test_tutorial_going_back_with_update_state_records_the_other_decision_on_a_branch(
    db: Path, saver: SqliteSaver
) -> None:
    asked: list[str] = []
    app = tutorial_app(saver, asked)
    config = {"configurable": {"thread_id": "tutorial"}, "metadata": {"user": "supervisor"}}
    app.invoke(None, config)
    app.invoke("Yes, I approve.", config)
    rows_approved = event_rows(db, "tutorial")
    before = next(s for s in app.get_state_history(config) if s.next == ("approval_node",))
    asked.clear()

    app.update_state(
        {**before.config, "metadata": {"user": "supervisor"}}, {"approval": "No."}, as_node="approval_node"
    )

    head = app.get_state(config)
    assert head.values == {"approval": "No."}
    assert head.next == ()
    assert head.parent_config == before.config
    assert asked == []  # a manual decision runs no node
    assert event_rows(db, "tutorial")[: len(rows_approved)] == rows_approved
    edit = next(e for e in map(decode_event, saver.store.read("tutorial")) if isinstance(e, StateUpdated))
    assert (edit.as_node, edit.actor.get("user")) == ("approval_node", "supervisor")
    finals = [s.values["approval"] for s in app.get_state_history(config) if s.next == () and s.values]
    assert finals == ["No.", "Yes, I approve."]


def test_an_update_a_reducer_cannot_apply_is_an_invalid_update_and_writes_nothing(rec: Recorder, db: Path) -> None:
    graph = chain(rec, "ab", SqliteSaver(db))
    graph.invoke({"log": []}, thread())
    before = event_rows(db, "t")

    with pytest.raises(InvalidUpdateError, match="'log'"):
        graph.update_state(thread(), {"log": 42}, as_node="a")
    assert event_rows(db, "t") == before
