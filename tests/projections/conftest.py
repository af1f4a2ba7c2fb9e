"""Fixtures shared by the CLI and demo tests: the demo's database, made once, and copies to change."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import pytest

from projections.demo import DemoResult, run_demo


@attrs.frozen
class Demo:
    path: Path
    output: str
    result: DemoResult


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The database ``ledgergraph demo`` leaves, and what it printed (read-only: copy it to change it)."""
    path = tmp_path_factory.mktemp("demo") / "expenses.db"
    lines: list[str] = []
    result = run_demo(path, echo=lines.append)
    return Demo(path=path, output="\n".join(lines), result=result)


@pytest.fixture
def demo_copy(demo: Demo, tmp_path: Path) -> Path:
    """A private copy of the demo's database, for commands that write to it."""
    copy = tmp_path / "expenses.db"
    for suffix in ("", "-wal"):
        source = Path(f"{demo.path}{suffix}")
        if source.exists():
            shutil.copy(source, Path(f"{copy}{suffix}"))
    return copy
