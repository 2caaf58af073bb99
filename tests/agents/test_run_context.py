"""Tools that ask for a RunContext get the run's deps, id and step; the model never sees the parameter."""

from __future__ import annotations

from dataclasses import dataclass

from contextos import Agent
from contextos.testing import Reply, ScriptedModel
from contextos.tools import Tool
from contextos.tools.run_context import RunContext


@dataclass
class Orders:
    rows: dict[str, str]


seen: list[RunContext] = []


def lookup_order(ctx: RunContext[Orders], order_id: str) -> str:
    """Where an order is."""
    seen.append(ctx)
    return ctx.deps.rows.get(order_id, "unknown order")


async def async_lookup(order_id: str, ctx: RunContext[Orders]) -> str:
    """Where an order is (async)."""
    return ctx.deps.rows[order_id].upper()


def test_the_context_parameter_is_not_in_the_schema():
    assert Tool.from_function(lookup_order).parameters["properties"].keys() == {"order_id"}
    assert Tool.from_function(async_lookup).parameters["required"] == ["order_id"]


def test_tools_receive_the_runs_deps_id_and_step():
    model = ScriptedModel(
        [
            Reply.tool_call("lookup_order", {"order_id": "A-1001"}),
            Reply.tool_call("async_lookup", {"order_id": "A-1001"}),
            Reply.text("It ships today."),
        ]
    )
    orders = Orders({"A-1001": "shipped from Oslo"})
    result = Agent(model, name="support", tools=[lookup_order, async_lookup]).run(
        "Where is A-1001?", deps=orders
    )
    assert result.steps[0].tool_results[0].content == "shipped from Oslo"
    assert result.steps[1].tool_results[0].content == "SHIPPED FROM OSLO"
    ctx = seen[-1]
    assert (
        ctx.deps is orders
        and ctx.run_id == result.run_id
        and ctx.step == 0
        and ctx.agent == "support"
    )
