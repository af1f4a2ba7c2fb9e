"""The demo's application: an expense-approval workflow, written as any LangGraph program would be.

``check -> auto_approve | manager_review -> pay``: requests up to
``AUTO_APPROVAL_LIMIT`` are approved by policy; larger ones stop in
``interrupt()`` until a manager answers ``{"approve": bool, "note": str}``
(the manager's name comes from the run's metadata, ``config["metadata"]["user"]``).
Approved requests are paid through a ``PaymentGateway``, which can be down.

``graph`` (compiled without a checkpointer) is what ``--graph
projections.expenses:graph`` loads to show the demo's state values.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from engine import END, START, CompiledStateGraph, StateGraph, interrupt

AUTO_APPROVAL_LIMIT = 100


class Expense(TypedDict, total=False):
    """One expense request and what happened to it."""

    employee: str
    amount: int
    purpose: str
    decision: str
    decided_by: str
    note: str
    paid: bool
    log: Annotated[list[str], operator.add]


class PaymentGatewayDown(RuntimeError):
    """The (simulated) payment provider did not answer."""


class PaymentGateway:
    """A stand-in for a payment provider; ``up = False`` makes the next payment fail."""

    def __init__(self) -> None:
        self.up = True
        self.paid: list[tuple[str, int]] = []

    def pay(self, employee: str, amount: int) -> None:
        if not self.up:
            raise PaymentGatewayDown("payment gateway timed out")
        self.paid.append((employee, amount))


def check(state: Expense) -> dict[str, Any]:
    return {"log": [f"{state['employee']} asked for ${state['amount']}: {state['purpose']}"]}


def route_by_amount(state: Expense) -> str:
    return "auto_approve" if state["amount"] <= AUTO_APPROVAL_LIMIT else "manager_review"


def auto_approve(state: Expense) -> dict[str, Any]:
    return {
        "decision": "approved",
        "decided_by": "policy",
        "log": [f"approved automatically (${AUTO_APPROVAL_LIMIT} limit)"],
    }


def manager_review(state: Expense, config: dict[str, Any]) -> dict[str, Any]:
    answer = interrupt(
        {
            "question": f"Approve ${state['amount']} for {state['employee']}?",
            "purpose": state["purpose"],
        }
    )
    manager = str((config.get("metadata") or {}).get("user", "a manager"))
    decision = "approved" if answer.get("approve") else "rejected"
    note = str(answer.get("note", ""))
    return {"decision": decision, "decided_by": manager, "note": note, "log": [f"{decision} by {manager}: {note}"]}


def route_by_decision(state: Expense) -> str:
    return "pay" if state.get("decision") == "approved" else END


def build(gateway: PaymentGateway | None = None) -> StateGraph:
    """The workflow's graph, paying through ``gateway`` (one that is always up by default)."""
    payments = gateway if gateway is not None else PaymentGateway()

    def pay(state: Expense) -> dict[str, Any]:
        payments.pay(state["employee"], state["amount"])
        return {"paid": True, "log": [f"paid ${state['amount']} to {state['employee']}"]}

    builder = StateGraph(Expense)
    builder.add_node("check", check)
    builder.add_node("auto_approve", auto_approve)
    builder.add_node("manager_review", manager_review)
    builder.add_node("pay", pay)
    builder.add_edge(START, "check")
    builder.add_conditional_edges("check", route_by_amount, ["auto_approve", "manager_review"])
    builder.add_edge("auto_approve", "pay")
    builder.add_conditional_edges("manager_review", route_by_decision, ["pay", END])
    builder.add_edge("pay", END)
    return builder


graph: CompiledStateGraph = build().compile()
