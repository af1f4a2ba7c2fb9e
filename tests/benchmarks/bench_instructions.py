"""Instructions per unit of work, ours and LangGraph's, counted by valgrind: a ratio that no other load can move.

    python tests/benchmarks/bench_instructions.py              # linear step and full history, both engines
    python tests/benchmarks/bench_instructions.py --only history

Wall times on a shared machine move by 10-30% within the hour, and the two
engines are not moved alike. This runs each workload in a child process under
``valgrind --tool=callgrind`` twice, with ``--low`` and ``--high`` units of work,
and takes the difference over the extra units: start-up, imports and the
database's first pages cancel out, and what remains is the instructions one
unit costs. The units are one superstep of the linear workload (an ``invoke``
of the 10-node chain on a new thread, over its 10 steps) and one checkpoint of
``list(get_state_history(...))`` on the 2,000-step loop thread of workload 2,
read from a freshly opened saver each time. The graphs are the ones
``bench_vs_langgraph.py`` runs (``_workloads.py``).

Instructions are not time. Neither the kernel's side of a commit nor waiting is
counted: not the plain-sqlite limit, not LangGraph's hand-offs to its
checkpoint-writer thread, not cache misses. For a read (history), which is
all CPU, the ratio is close to the time ratio of a quiet machine; for a write
it only shows what each engine asks of the CPU. Either way, repeatably.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _engines import Engine, langgraph, ledgergraph, remove_db
from _workloads import cfg, linear_graph, loop_graph, saver_at

WORKLOADS = {
    "linear": ("superstep", 5, 15),  # unit, default --low and --high (invokes)
    "history": ("checkpoint", 1, 3),  # (full history walks)
}
LINEAR_NODES = 10
WARM_THREADS = 30
HISTORY_STEPS = 2000


def _engine(label: str) -> Engine:
    return ledgergraph("NORMAL") if label == "ours" else langgraph()


def child(label: str, workload: str, count: int, work: Path) -> None:
    """The measured process: warm up, then ``count`` repetitions of the workload."""
    e = _engine(label)
    if workload == "linear":
        path = work / "linear.db"
        remove_db(path)  # every run starts on new threads (the long thread below is built once and kept)
        with saver_at(e, path) as saver:
            graph = linear_graph(e, LINEAR_NODES).compile(checkpointer=saver)
            for t in range(WARM_THREADS):  # enough to fill our frame cache: both runs evict alike
                graph.invoke({"n": 0, "tag": "warm"}, cfg(f"warm{t}"))
            for t in range(count):
                graph.invoke({"n": 0, "tag": "small"}, cfg(f"t{t}"))
        return
    path = work / "long.db"
    if not path.exists():
        with saver_at(e, path) as saver:
            loop_graph(e).compile(checkpointer=saver).invoke({"i": 0, "limit": HISTORY_STEPS}, cfg("long"))
    for _ in range(count):
        with saver_at(e, path) as saver:
            walked = len(list(loop_graph(e).compile(checkpointer=saver).get_state_history(cfg("long"))))
    if count:
        print(f"checkpoints {walked}", file=sys.stderr)


def _instructions(label: str, workload: str, count: int, work: Path) -> tuple[int, str]:
    """Instructions of one child run, and what it printed."""
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            label,
            workload,
            str(count),
            str(work),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected\s*:\s*(\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run of {label} {workload} x{count} failed:\n{run.stderr[-2000:]}")
    return int(found.group(1)), run.stderr


def per_unit(label: str, workload: str, low: int, high: int) -> float:
    """Instructions per unit: the difference between ``high`` and ``low`` repetitions over the extra units."""
    with tempfile.TemporaryDirectory() as work:
        _instructions(label, workload, 0, Path(work))  # builds the long thread, if needed, outside the measurement
        low_count, _ = _instructions(label, workload, low, Path(work))
        high_count, said = _instructions(label, workload, high, Path(work))
    if workload == "linear":
        units = (high - low) * LINEAR_NODES
    else:
        walked = re.search(r"checkpoints (\d+)", said)
        assert walked is not None, said
        units = (high - low) * int(walked.group(1))
    return (high_count - low_count) / units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS))
    parser.add_argument("--low", type=int, help="repetitions of the smaller run (default per workload)")
    parser.add_argument("--high", type=int, help="repetitions of the larger run (default per workload)")
    parser.add_argument("--child", nargs=4, metavar=("ENGINE", "WORKLOAD", "COUNT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        label, workload, count, work = args.child
        child(label, workload, int(count), Path(work))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions with callgrind")
    print(f"{'workload':<10} {'unit':<11} {'ours':>12} {'LangGraph':>12} {'ratio':>7}")
    for workload in args.only:
        unit, low, high = WORKLOADS[workload]
        low, high = args.low or low, args.high or high
        ours = per_unit("ours", workload, low, high)
        theirs = per_unit("langgraph", workload, low, high)
        print(f"{workload:<10} {unit:<11} {ours:>12,.0f} {theirs:>12,.0f} {ours / theirs:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
