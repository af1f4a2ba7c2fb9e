"""The built-in projections, in the order the runner keeps them."""

from __future__ import annotations

from projections.audit import AuditTrailProjection
from projections.inbox import InterruptInboxProjection
from projections.node_stats import NodeStatsProjection
from projections.protocol import Projection
from projections.threads import ThreadsProjection


def builtin_projections() -> list[Projection]:
    """Fresh instances of ``threads``, ``interrupt_inbox``, ``audit_trail`` and ``node_stats``."""
    return [ThreadsProjection(), InterruptInboxProjection(), AuditTrailProjection(), NodeStatsProjection()]


BUILTIN_NAMES = ("threads", "interrupt_inbox", "audit_trail", "node_stats")
