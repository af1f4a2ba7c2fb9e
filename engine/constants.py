"""Reserved names shared by the graph builder, the planner and the loop."""

from __future__ import annotations

from typing import Final

START: Final = "__start__"
"""The virtual node whose edges say where a run begins."""

END: Final = "__end__"
"""The virtual node that ends a path."""

INTERRUPT_KEY: Final = "__interrupt__"
"""The key under which invoke and stream report interrupts."""

PULL: Final = "__pregel_pull"
PUSH: Final = "__pregel_push"

RESERVED_CHARS: Final = ("|", ":")
DEFAULT_RECURSION_LIMIT: Final = 10007
