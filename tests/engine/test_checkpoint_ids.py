"""Checkpoint ids: they sort by position, their random part never repeats, and no program setting can make it."""

from __future__ import annotations

import os
import random

import pytest

from engine.planning import checkpoint_seq, new_checkpoint_id


def test_an_id_names_its_sequence_number_and_ids_sort_by_it() -> None:
    ids = [new_checkpoint_id(seq) for seq in (9, 10, 100, 1_000_000)]
    assert [checkpoint_seq(i) for i in ids] == [9, 10, 100, 1_000_000]
    assert sorted(ids) == ids


def test_ids_at_one_position_differ() -> None:
    assert len({new_checkpoint_id(7) for _ in range(10_000)}) == 10_000


def test_seeding_the_programs_random_module_does_not_repeat_ids() -> None:
    random.seed(1234)
    first = [new_checkpoint_id(1) for _ in range(5)]
    random.seed(1234)
    assert not set(first) & {new_checkpoint_id(1) for _ in range(5)}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_process_draws_other_ids_than_its_parent() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave without running any cleanup
        os.write(write, " ".join(new_checkpoint_id(1) for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    parent = {new_checkpoint_id(1) for _ in range(5)}
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    assert len(child) == 5
    assert not parent & child
