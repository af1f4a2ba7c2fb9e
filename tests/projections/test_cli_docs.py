"""Every ``ledgergraph`` command explains itself (``--help``) and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from projections.cli import cli, commands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(commands())


def test_the_cli_has_the_commands_the_issue_asks_for() -> None:
    wanted = {"demo", "threads", "history", "show", "events", "inbox", "audit", "stats", "fork", "verify"}
    assert wanted | {"projections rebuild", "export"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_text_for_itself_and_its_options(name: str) -> None:
    command = commands()[name]
    assert command.help and command.help.strip()
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help text"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")
    assert command.help.split("\n")[0].split(".")[0] in " ".join(result.output.split())


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"ledgergraph {name}" in README


def test_the_readme_starts_with_the_demo() -> None:
    first_block = README.split("```")[1].strip().splitlines()
    assert first_block[0] == "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/ledgergraph demo"
