"""Gathering reports from test worker processes: one report each, and every process exits cleanly."""

from __future__ import annotations

import queue
import time
from typing import Any


def drain(processes: list[Any], results: Any, timeout: float = 120) -> list[Any]:
    """One report from each started process (from ``results``, a multiprocessing queue)."""
    reports: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(reports) < len(processes) and time.monotonic() < deadline:
            try:
                reports.append(results.get(timeout=0.1))
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    break
    finally:
        for p in processes:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    assert len(reports) == len(processes)
    return reports
