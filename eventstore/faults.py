"""Named fault points on the write path: they do nothing unless a test arms them.

Crash tests arm a point in a child process through the ``LEDGERGRAPH_FAULT``
environment variable (``name`` or ``name@N`` for the N-th hit) and the process
kills itself there with SIGKILL, exactly as a power cut or OOM kill would.
In-process tests use ``armed(name, action)``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_actions: dict[str, Callable[[], None]] = {}
_hits: dict[str, int] = {}


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm_from_environment() -> None:
    spec = os.environ.get("LEDGERGRAPH_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition("@")
    target = int(nth) if nth else 1

    def action() -> None:
        if _hits[name] == target:
            _kill_self()

    _actions[name] = action


_arm_from_environment()


def hit(name: str) -> None:
    """Mark that execution reached fault point ``name``; run its armed action, if any."""
    if not _actions:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        action = _actions.get(name)
    if action is not None:
        action()


@contextmanager
def armed(name: str, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` each time fault point ``name`` is reached inside the block."""
    with _lock:
        _actions[name] = action
        _hits[name] = 0
    try:
        yield
    finally:
        with _lock:
            _actions.pop(name, None)
