"""Small catalogs for the tools tests (real LanceDB in tmp folders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROWS = [
    {
        "id": "w1",
        "name": "Weather API: current",
        "description": "Current weather conditions (temperature, rain, wind) for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "group": "Weather API",
    },
    {
        "id": "w2",
        "name": "Weather API: forecast",
        "description": "Weather forecast for the next days in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        },
        "group": "Weather API",
    },
    {
        "id": "f1",
        "name": "Flights: searchFlights",
        "description": "Find flights between two airports on a date.",
        "parameters": {
            "type": "object",
            "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}},
        },
        "group": "Flights",
    },
    {
        "id": "f2",
        "name": "Flights: bookFlight",
        "description": "Book a seat on a flight for a passenger.",
        "parameters": {"type": "object", "properties": {"flightId": {"type": "string"}}},
        "group": "Flights",
    },
    {
        "id": "c1",
        "name": "convert_currency",
        "description": "Convert an amount of money from one currency to another at today's exchange rate.",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
        },
    },
    {
        "id": "s1",
        "name": "send_sms",
        "description": "Send a text message to a phone number.",
        "parameters": {
            "type": "object",
            "properties": {"phone_number": {"type": "string"}, "text": {"type": "string"}},
        },
    },
    {
        "id": "r1",
        "name": "Recipes: searchRecipes",
        "description": "Search cooking recipes by ingredient or dish name.",
        "parameters": {"type": "object", "properties": {"ingredient": {"type": "string"}}},
        "group": "Recipes",
    },
    {
        "id": "n1",
        "name": "news_headlines",
        "description": "Latest news headlines for a country or topic.",
        "parameters": {"type": "object", "properties": {"topic": {"type": "string"}}},
    },
]


@pytest.fixture
def rows() -> list[dict]:
    return json.loads(json.dumps(ROWS))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def catalog_file(tmp_path, rows) -> Path:
    return write_jsonl(tmp_path / "tools.jsonl", rows)
