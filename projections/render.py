"""Readable output for the CLI: aligned text tables and compact cells."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

MAX_CELL = 60
TIME_COLUMNS = frozenset({"at", "since", "created_at", "updated_at", "recorded_at"})


def cell(value: Any, width: int = MAX_CELL) -> str:
    """One value as table text: empty for None, JSON for containers, cut to ``width`` characters."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.2f}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, wide: Sequence[str] = (), empty: str = "(none)"
) -> str:
    """Rows as an aligned table with a header (``wide`` columns may hold longer text); ``empty`` if none."""
    if not rows:
        return empty
    cells = [[_format(column, row.get(column), column in wide) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(w) for column, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip() for line in cells)
    return "\n".join(lines)


def as_json(value: Any) -> str:
    """Machine output: indented JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _format(column: str, value: Any, wide: bool) -> str:
    if column in TIME_COLUMNS:
        return _time(value)
    return cell(value, 2 * MAX_CELL if wide else MAX_CELL)


def _time(value: Any) -> str:
    """An ISO-8601 UTC timestamp as ``YYYY-MM-DD HH:MM:SS`` (the --json output keeps it whole)."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        return value[:10] + " " + value[11:19]
    return cell(value)
