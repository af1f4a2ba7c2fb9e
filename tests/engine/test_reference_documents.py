"""The two reference documents run as written, with only their import lines changed to ``engine``.

``reference/interrupt-tutorial.md`` (a LangGraph tutorial chapter) and
``reference/interrupt-reference.md`` (LangGraph's ``interrupt`` reference page)
are reproduced below block by block; each test asserts that the program prints
what the document says it prints, line by line. Interrupt ids are not stable
across runs, so any 32-hex id (or the tutorial's elided ``id='...'``) in the
documented output matches any 32-hex id.

This module deliberately has no ``from __future__ import annotations``: the
documents' state classes are defined inside the tests, as in a script, and
their annotations must be real objects.
"""

import re

import pytest

_DOCUMENTED_ID = re.compile(r"id='(?:[0-9a-f]{32}|\.\.\.)'")
_ANY_ID = "id='[0-9a-f]{32}'"


def _line_pattern(documented: str) -> str:
    parts = _DOCUMENTED_ID.split(documented)
    return _ANY_ID.join(re.escape(part) for part in parts)


def assert_printed(capsys: pytest.CaptureFixture[str], documented_output: str) -> None:
    """What the program printed since the last check is the documented output, line by line."""
    printed = capsys.readouterr().out.splitlines()
    expected = documented_output.strip("\n").splitlines()
    assert len(printed) == len(expected), f"printed {printed!r}, the document shows {expected!r}"
    for got, want in zip(printed, expected, strict=True):
        assert re.fullmatch(_line_pattern(want), got), f"printed {got!r}, the document shows {want!r}"


def test_interrupt_tutorial_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    # ### 2. Define the State and the "Approval" Node
    from typing_extensions import TypedDict

    class AgentState(TypedDict):
        approval: str

    from engine import interrupt

    def ask_for_approval(state):
        print("---ASKING FOR APPROVAL---")
        # The value passed to interrupt() is sent to the user.
        response = interrupt("Do you approve this action?")

        # When resumed, `response` will be the value the user provides.
        return {"approval": response}

    # ### 3. Build and Run the Graph (The Pause)
    from engine import END, START, InMemorySaver, StateGraph  # noqa: F401  (START: unused in the document too)

    # A checkpointer is required for interrupts.
    checkpointer = InMemorySaver()

    workflow = StateGraph(AgentState)
    workflow.add_node("approval_node", ask_for_approval)
    workflow.set_entry_point("approval_node")
    workflow.add_edge("approval_node", END)

    app = workflow.compile(checkpointer=checkpointer)

    import uuid

    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    result = app.invoke(None, config)

    assert_printed(capsys, "---ASKING FOR APPROVAL---")

    print(result)

    assert_printed(capsys, "{'__interrupt__': (Interrupt(value='Do you approve this action?', id='...'),)}")

    # ### 4. Resuming the Graph
    user_response = "Yes, I approve."
    resume_result = app.invoke(user_response, config)

    print(resume_result)

    assert_printed(
        capsys,
        """
---ASKING FOR APPROVAL---
{'approval': 'Yes, I approve.'}
""",
    )


def test_interrupt_reference_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    import uuid
    from typing import Optional

    from typing_extensions import TypedDict

    from engine import START, Command, InMemorySaver, StateGraph, interrupt

    class State(TypedDict):
        """The graph state."""

        foo: str
        human_value: Optional[str]  # noqa: UP045  (as the document writes it)
        """Human value will be updated using an interrupt."""

    def node(state: State):
        answer = interrupt(
            # This value will be sent to the client
            # as part of the interrupt information.
            "what is your age?"
        )
        print(f"> Received an input from the interrupt: {answer}")
        return {"human_value": answer}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")

    # A checkpointer must be enabled for interrupts to work!
    checkpointer = InMemorySaver()
    graph = builder.compile(checkpointer=checkpointer)

    config = {
        "configurable": {
            "thread_id": uuid.uuid4(),
        }
    }

    for chunk in graph.stream({"foo": "abc"}, config):
        print(chunk)

    # > {'__interrupt__': (Interrupt(value='what is your age?', id='45fda8478b2ef754419799e10992af06'),)}
    assert_printed(
        capsys, "{'__interrupt__': (Interrupt(value='what is your age?', id='45fda8478b2ef754419799e10992af06'),)}"
    )

    command = Command(resume="some input from a human!!!")  # noqa: F841  (unused in the document too)

    for chunk in graph.stream(Command(resume="some input from a human!!!"), config):
        print(chunk)

    # > Received an input from the interrupt: some input from a human!!!
    # > {'node': {'human_value': 'some input from a human!!!'}}
    assert_printed(
        capsys,
        """
> Received an input from the interrupt: some input from a human!!!
{'node': {'human_value': 'some input from a human!!!'}}
""",
    )
