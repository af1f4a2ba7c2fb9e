"""The barrier's shortcut for a lone task's step gives what the full barrier gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from engine.errors import InvalidUpdateError
from engine.planning import barrier, full_barrier
from tests.strategies import barrier_inputs


def _outcome(fn: Any, args: Any) -> Any:
    frame, channels, joins, updates, consume, step = args
    try:
        return fn(frame, channels, joins, updates, consume=consume, step=step)
    except InvalidUpdateError as exc:
        return ("error", str(exc))


@given(args=barrier_inputs())
def test_the_barrier_and_the_full_barrier_agree(args: Any) -> None:
    assert _outcome(barrier, args) == _outcome(full_barrier, args)
