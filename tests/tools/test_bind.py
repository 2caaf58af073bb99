"""Functions bound to catalog tools by name: typed arguments converted, failures told to the model."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from pydantic import BaseModel

from contextos.llm.types import ToolCall
from contextos.tools import Tool, ToolExecutor, implementations


class Address(BaseModel):
    street: str
    city: str


class Speed(str, Enum):  # noqa: UP042 - the (str, Enum) form users write must bind too
    standard = "standard"
    express = "express"


def ship(to: Address, speed: Speed, on: dt.date) -> str:
    assert isinstance(to, Address) and isinstance(speed, Speed) and isinstance(on, dt.date)
    return f"{speed.value} to {to.city} on {on:%d %b}"


SHIP = Tool(
    name="ship",
    description="Ship a parcel.",
    parameters={
        "type": "object",
        "properties": {
            "to": {"type": "object"},
            "speed": {"type": "string"},
            "on": {"type": "string"},
        },
        "required": ["to", "speed", "on"],
    },
)
SMS = Tool(
    name="send_sms", description="Send a text.", parameters={"type": "object", "properties": {}}
)


def call(name: str, arguments: dict) -> ToolCall:
    return ToolCall(id="c1", name=name, arguments=arguments, raw_arguments="{}")


async def test_arguments_are_converted_to_the_annotated_types():
    executor = ToolExecutor(fallback=implementations({"ship": ship}))
    offered = {"ship": SHIP}
    result = await executor.execute(
        call(
            "ship",
            {"to": {"street": "1 Main St", "city": "Oslo"}, "speed": "express", "on": "2026-12-24"},
        ),
        offered=offered,
    )
    assert result.ok and result.content == "express to Oslo on 24 Dec"


async def test_bad_arguments_and_missing_implementations_are_told_to_the_model():
    executor = ToolExecutor(fallback=implementations({"ship": ship}))
    offered = {"ship": SHIP, "send_sms": SMS}
    bad = await executor.execute(
        call("ship", {"to": {"city": "Oslo"}, "speed": "teleport", "on": "soon"}), offered=offered
    )
    assert not bad.ok and "invalid arguments for ship" in bad.content
    assert "to.street" in bad.content and "speed" in bad.content and "on" in bad.content
    missing = await executor.execute(call("send_sms", {}), offered=offered)
    assert not missing.ok and "has no implementation here" in missing.content


async def test_function_tools_get_their_arguments_as_annotated_types():
    # def ship(to: Address, ...) receives an Address, an enum and a date, not a dict and strings
    executor = ToolExecutor([ship])
    result = await executor.execute(
        call(
            "ship",
            {
                "to": {"street": "1 Main St", "city": "Oslo"},
                "speed": "standard",
                "on": "2026-12-24",
            },
        )
    )
    assert result.ok and result.content == "standard to Oslo on 24 Dec"
    bad = await executor.execute(
        call(
            "ship",
            {"to": {"street": "1 Main St", "city": "Oslo"}, "speed": "standard", "on": "someday"},
        )
    )
    assert not bad.ok and "on: Input should be a valid date" in bad.content
