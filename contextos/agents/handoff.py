"""Handoffs: another agent offered to the model as a ``transfer_to_<name>`` tool."""

from __future__ import annotations

from collections.abc import Mapping

from contextos.tools.tool import Tool, valid_tool_name

HANDOFF_PREFIX = "transfer_to_"


def handoff_tools(handoffs: Mapping[str, str] | None) -> dict[str, tuple[str, str]]:
    """Tool name to (agent name, description) for the agents a run may hand over to."""
    return {valid_tool_name(HANDOFF_PREFIX + n): (n, d) for n, d in (handoffs or {}).items()}


def handoff_tool(tool_name: str, agent: str, description: str) -> Tool:
    """The tool the model calls to hand the conversation to ``agent``."""
    text = f"Hand the conversation over to the agent {agent!r}" + (
        f": {description}" if description else "."
    )
    return Tool(name=tool_name, description=text)
