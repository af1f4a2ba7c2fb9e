"""ledgergraph against LangGraph on the same workloads, in one process and one run.

    pip install -e '.[bench]'
    python tests/benchmarks/bench_vs_langgraph.py            # the full run (a few minutes)
    python tests/benchmarks/bench_vs_langgraph.py --quick    # a smoke run of about a minute
    python tests/benchmarks/bench_vs_langgraph.py --profile linear   # cProfile our side of one workload

Repetitions are interleaved: each repetition runs every workload on every
engine back to back, rotating which engine goes first, so drift of a noisy
machine lands on all engines alike. The table gives min and median over the
repetitions and the ratio of medians ours/LangGraph. See README.md beside this
file for what each row means.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _engines
import _report
import _workloads as w
from _engines import Engine

WORKLOADS = ("linear", "long", "big", "interrupt", "fanout")
"""``long`` covers the long thread (2) and time travel on it (5); ``linear`` includes the plain-sqlite limit (7)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 repetitions (about a minute)")
    parser.add_argument("--reps", type=int, help="repetitions per workload and engine (default 5, quick 3)")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, help="run only these workloads")
    parser.add_argument("--no-full", action="store_true", help="skip ledgergraph with synchronous=FULL")
    parser.add_argument(
        "--no-async",
        action="store_true",
        help='skip ledgergraph with synchronous=FULL and durability="async" (LangGraph\'s default durability)',
    )
    parser.add_argument("--workdir", type=Path, help="where the databases go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the databases after the run")
    parser.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    parser.add_argument(
        "--profile",
        choices=WORKLOADS,
        help="instead of the comparison, run one workload on ledgergraph (NORMAL) under cProfile",
    )
    parser.add_argument("--profile-out", type=Path, help="with --profile: save the raw profile here")
    for field in w.Sizes.__dataclass_fields__:
        default = getattr(w.Sizes(), field)
        parser.add_argument(
            f"--{field.replace('_', '-')}", type=int, dest=f"size_{field}", metavar="N", help=f"default {default}"
        )
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> w.Sizes:
    sizes = w.QUICK if args.quick else w.Sizes()
    overrides = {f: getattr(args, f"size_{f}") for f in w.Sizes.__dataclass_fields__}
    return replace(sizes, **{k: v for k, v in overrides.items() if v is not None})


class Run:
    """One repetition's worth of every workload on every engine, recorded into ``samples``."""

    def __init__(self, engines: list[Engine], sizes: w.Sizes, work: Path, only: tuple[str, ...]) -> None:
        self.engines = engines
        self.sizes = sizes
        self.work = work
        self.only = only
        self.samples: _report.Samples = {}

    def record(self, label: str, metrics: w.Metrics) -> None:
        for key, value in metrics.items():
            self.samples.setdefault(label, {}).setdefault(key, []).append(value)

    def dir_for(self, e: Engine) -> Path:
        path = self.work / e.label.replace(" ", "-")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def workload(self, name: str, e: Engine) -> w.Metrics:
        """Run one workload once on one engine."""
        if name == "long":
            metrics, long_db = w.long_thread(e, self.dir_for(e), self.sizes)
            metrics.update(w.time_travel(e, self.dir_for(e), self.sizes, long_db))
            return metrics
        run = {"linear": w.linear, "big": w.big_state, "interrupt": w.interrupt_round_trip, "fanout": w.fan_out}
        return run[name](e, self.dir_for(e), self.sizes)

    def repetition(self, rep: int) -> None:
        k = rep % len(self.engines)
        order = self.engines[k:] + self.engines[:k]
        for name in WORKLOADS:
            if name not in self.only:
                continue
            for e in order:
                started = time.perf_counter()
                self.record(e.label, self.workload(name, e))
                print(f"  rep {rep + 1} {name:<9} {e.label:<12} {time.perf_counter() - started:6.1f} s", flush=True)
                if name == "linear" and e.is_ours:
                    self._limit(e)

    def _limit(self, ours: Engine) -> None:
        """The plain-sqlite floor, measured right after ``ours`` ran linear (so both see the same machine)."""
        transactions = w.superstep_transactions(self.dir_for(ours) / "linear.db", "t0")
        plain = self.work / "plain"
        plain.mkdir(exist_ok=True)
        synchronous = "FULL" if "FULL" in ours.label else "NORMAL"
        measured = w.plain_sqlite(plain, self.sizes, transactions, synchronous=synchronous)
        self.record("plain sqlite3", {f"limit.step_time@{ours.label}": measured["limit.step_time"]})


def profile(args: argparse.Namespace, sizes: w.Sizes, work: Path) -> None:
    e = _engines.ledgergraph("NORMAL")
    run = Run([e], sizes, work, (args.profile,))
    run.workload(args.profile, e)  # warm: imports, first-call caches, the file system
    profiler = cProfile.Profile()
    profiler.enable()
    print(run.workload(args.profile, e))
    profiler.disable()
    if args.profile_out:
        profiler.dump_stats(args.profile_out)
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    reps = args.reps or (3 if args.quick else 5)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.profile:
            profile(args, sizes, work)
            return 0
        engines = [_engines.ledgergraph("NORMAL")]
        if not args.no_full:
            engines.append(_engines.ledgergraph("FULL"))
        if not args.no_full and not args.no_async:
            engines.append(_engines.ledgergraph("FULL", "async"))
        engines.append(_engines.langgraph())
        only = tuple(args.only or WORKLOADS)
        print(
            f"ledgergraph vs {_engines.langgraph_version()}; Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.machine()}; {reps} repetitions; workdir {work}"
        )
        print(f"sizes: {asdict(sizes)}", flush=True)
        run = Run(engines, sizes, work, only)
        started = time.perf_counter()
        for rep in range(reps):
            run.repetition(rep)
        _report.derive(run.samples)
        labels = [e.label for e in engines]
        text, misses = _report.table(run.samples, sizes, labels)
        print(f"\n{text}\n")
        print(f"{len(misses)} missed target(s)" + (":" if misses else ""))
        for miss in misses:
            print(f"  MISS {miss}")
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
        if args.json:
            args.json.write_text(json.dumps({"sizes": asdict(sizes), "samples": run.samples}, indent=1))
        return 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
