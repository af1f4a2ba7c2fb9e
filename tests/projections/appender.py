"""A second process for the concurrency test: runs workflow requests on a log file as fast as it can.

``python -m tests.projections.appender PATH COUNT`` starts COUNT requests
(every third one waits for a human and is answered), then exits.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine import Command
from tests.projections.workflow import config, open_graph


def append(path: Path, count: int) -> None:
    saver, graph = open_graph(path)
    try:
        for i in range(count):
            thread_id = f"w{i}"
            graph.invoke({"amount": 500 if i % 3 == 0 else i}, config(thread_id, "writer"))
            if i % 3 == 0:
                graph.invoke(Command(resume="yes"), config(thread_id, "approver"))
    finally:
        saver.close()


if __name__ == "__main__":
    append(Path(sys.argv[1]), int(sys.argv[2]))
