"""The printed table: which metrics, their units, targets, and PASS/MISS."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from _workloads import SPREAD, Sizes

Samples = dict[str, dict[str, list[float]]]
"""engine label -> metric key -> one value per repetition."""

OURS = ("ours NORMAL", "ours FULL", "ours FULL async")
SHORT = {"ours NORMAL": "N", "ours FULL": "F", "ours FULL async": "FA"}
"""Column names of each of our engines' ratio and verdict."""
THEIRS = "LangGraph"


@dataclass(frozen=True)
class Target:
    """``ratio``: ours/LangGraph medians against ``bound``; ``own``: our own median against it."""

    kind: str  # "ratio" or "own"
    op: str  # "<=" or ">="
    bound: float
    text: str

    def met(self, value: float) -> bool:
        return value <= self.bound if self.op == "<=" else value >= self.bound


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str  # "s", "/s", "B", "x" (a plain number)
    target: Target | None = None
    compare: bool = True
    """Whether ours/LangGraph means anything for this row (not for plain numbers or the plain-sqlite limit)."""


def rows(sizes: Sizes) -> list[Row]:
    added = sizes.item_bytes
    return [
        Row("linear.sps", "1 linear: supersteps per second", "/s", Target("ratio", ">=", 5, ">= 5x LangGraph")),
        Row("linear.step_time", "1 linear: time per superstep", "s"),
        Row("limit.step_time", "7 plain sqlite3, same rows, per superstep", "s", compare=False),
        Row("linear.vs_limit", "7 linear step / plain sqlite3 step", "x", Target("own", "<=", 4, "<= 4")),
        Row("long.first", f"2 long: median step, first {sizes.window}", "s"),
        Row("long.last", f"2 long: median step, last {sizes.window} (of {sizes.long_steps})", "s"),
        Row("long.drift", "2 long: last / first (medians)", "x", Target("own", "<=", 1.2, "<= 1.2")),
        Row("long.drift_mean", "2 long: last / first (means)", "x"),
        Row("resume.long", f"2 resume {sizes.long_steps}-step thread, fresh db", "s"),
        Row("resume.short", f"2 resume {sizes.short_steps}-step thread, fresh db", "s"),
        Row("resume.ratio", "2 resume long / resume short", "x", Target("own", "<=", 1.3, "<= 1.3")),
        Row(
            "big.file_per_step",
            f"3 big: file bytes per step (+{added} B/step)",
            "B",
            Target("own", "<=", 3 * added, f"<= {3 * added} B"),
        ),
        Row("big.file_per_step_random", "3 big: file bytes per step, incompressible items", "B"),
        Row(
            "big.payload_per_step",
            "3 big: payload bytes per step",
            "B",
            Target("own", "<=", 3 * added, f"<= {3 * added} B"),
        ),
        Row("big.file_growth", "3 big: growth exponent, file", "x", Target("own", "<=", 1.1, "<= 1.1")),
        Row("big.payload_growth", "3 big: growth exponent, payload", "x", Target("own", "<=", 1.1, "<= 1.1")),
        Row("big.step_time", "3 big: time per step", "s"),
        Row("interrupt.p50", "4 interrupt round trip p50", "s", Target("ratio", "<=", 0.2, "5x faster")),
        Row("interrupt.p99", "4 interrupt round trip p99", "s"),
        Row("travel.head", "5 get_state at head", "s", Target("ratio", "<=", 1, "no slower")),
        Row("travel.open_head", "5 open the saver, then get_state at head", "s"),
        Row("travel.back", f"5 get_state {sizes.back} steps back", "s", Target("ratio", "<=", 1, "no slower")),
        Row(
            "travel.spread_mean",
            f"5 get_state, {SPREAD} checkpoints over 100 steps: mean",
            "s",
            Target("ratio", "<=", 1, "no slower"),
        ),
        Row(
            "travel.spread_max",
            f"5 get_state, {SPREAD} checkpoints over 100 steps: worst",
            "s",
            Target("ratio", "<=", 1, "no slower"),
        ),
        Row("travel.history", "5 full history", "s"),
        Row(
            "travel.history_per",
            "5 full history, per checkpoint",
            "s",
            Target("ratio", "<=", 1 / 3, "3x faster"),
        ),
        Row("travel.history10", "5 history limit=10", "s"),
        Row("travel.branch", f"5 update_state in the past + {sizes.continue_steps} steps", "s"),
        Row(
            "fanout.task_time",
            f"6 fan-out: time per task ({sizes.fanout_tasks} Sends)",
            "s",
            Target("ratio", "<=", 0.2, "5x faster"),
        ),
    ]


def derive(samples: Samples) -> None:
    """Add the metrics computed from others, per repetition."""
    limit = samples.get("plain sqlite3", {})
    for label, metrics in samples.items():
        if "linear.step_time" in metrics:
            metrics["linear.sps"] = [1 / t for t in metrics["linear.step_time"]]
        if label in OURS and "linear.step_time" in metrics:
            base = limit.get(f"limit.step_time@{label}", [])
            if base:
                metrics["limit.step_time"] = list(base)
                metrics["linear.vs_limit"] = [t / b for t, b in zip(metrics["linear.step_time"], base, strict=False)]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {suffix}"
        return f"{value / 1e-6:.3g} us"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:.3g}"


def _stats(values: list[float] | None, unit: str) -> tuple[float | None, float | None]:
    """(best, median): the best is the minimum, or for a rate the maximum (the rate at the minimum time)."""
    if not values:
        return None, None
    best = max(values) if unit == "/s" else min(values)
    return best, statistics.median(values)


def table(samples: Samples, sizes: Sizes, labels: list[str]) -> tuple[str, list[str]]:
    """The printed table and the list of missed targets."""
    header = ["metric"]
    for label in labels:
        header += [f"{label} min", "median"]
    ours_here = [ours for ours in OURS if ours in labels]
    header += [f"ratio {SHORT[ours]}" for ours in ours_here] + ["target"] + [SHORT[ours] for ours in ours_here]
    lines = [header]
    misses: list[str] = []
    for row in rows(sizes):
        if not any(samples.get(label, {}).get(row.key) for label in labels):
            continue
        cells = [row.label]
        medians: dict[str, float | None] = {}
        for label in labels:
            best, median = _stats(samples.get(label, {}).get(row.key), row.unit)
            medians[label] = median
            cells += [fmt(best, row.unit), fmt(median, row.unit)]
        theirs = medians.get(THEIRS)
        ratios: dict[str, float | None] = {}
        for ours in ours_here:
            mine = medians.get(ours)
            meaningful = row.compare and row.unit != "x" and mine is not None and theirs
            ratios[ours] = mine / theirs if meaningful else None
            cells.append(f"{ratios[ours]:.3g}" if ratios[ours] is not None else "-")
        cells.append(row.target.text if row.target else "")
        for ours in ours_here:
            target = row.target
            value = ratios[ours] if target and target.kind == "ratio" else medians.get(ours)
            if target is None or value is None:
                cells.append("")
                continue
            ok = target.met(value)
            cells.append("PASS" if ok else "MISS")
            if not ok:
                misses.append(
                    f"{row.label} [{ours}]: {fmt(value, 'x' if target.kind == 'ratio' else row.unit)} "
                    f"(target {target.text})"
                )
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out), misses
