"""The scenarios of a tight budget, through the public API: what each step needs is what the model sees."""

from __future__ import annotations

import json
from itertools import pairwise

from contextos import (
    Agent,
    Budget,
    ContextItem,
    Conversation,
    ModelClient,
    StaticSource,
    TiktokenCounter,
)

CONDITIONS = ["clear", "partly cloudy", "overcast", "light rain", "showers", "fog"]
WINDS = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]


def get_report(city: str) -> str:
    """The hour-by-hour weather report for a city.

    Args:
        city: The city name, e.g. "Oslo".
    """
    lines = [f"Weather report for {city}, hour by hour:"]
    for h in range(24):
        lines.append(
            f"{h:02d}:00 {CONDITIONS[h * 5 % 6]}, {4 + h % 9} C, wind {2 + h % 5} m/s "
            f"from the {WINDS[h % 8]}, humidity {60 + h % 30}%, rain {h % 4 * 0.3:.1f} mm"
        )
    return "\n".join(lines)


def notes(n: int = 80) -> StaticSource:
    facts = [
        "prefers metric units",
        "lives near the coast",
        "asked about trains last week",
        "likes short answers",
        "works from home on Fridays",
        "has a dog called Rex",
        "follows football",
        "reads on the bus",
    ]
    return StaticSource(
        "memory",
        [
            ContextItem(
                id=f"note-{i}",
                source="memory",
                content=f"Note {i}: the user {facts[i % len(facts)]} (seen in session {i}).",
                score=0.3,
            )
            for i in range(n)
        ],
    )


def test_the_report_is_about_700_tokens_and_each_note_one_line():
    counter = TiktokenCounter(encoding="o200k_base")
    assert 600 <= counter.count(get_report("Oslo")) <= 800
    assert all(counter.count(item.content) < 25 for item in notes().items)


def test_the_newest_tool_result_beats_eighty_cheap_notes():
    agent = Agent(
        ModelClient("offline/demo"),
        tools=[get_report],
        sources=[notes()],
        budget=Budget(context_window=1500, reserve_output=200),
    )
    result = agent.run('What is the weather report for "Oslo"?')
    assert result.stop_reason == "final_answer" and len(result.steps) <= 3
    assert sum(len(s.tool_calls) for s in result.steps) == 1
    assert "Weather report for Oslo" in result.answer
    second = result.steps[1].context
    result_item = next(i for i in second.items if i.role == "tool")
    # the newest block is last, as the model must see it
    assert second.messages[-1]["role"] == "tool"
    assert second.decision(result_item.id).status.value in {"included", "truncated"}
    assert second.usage.request_tokens <= agent.budget.available
    kept_notes = second.usage.per_source["memory"].kept
    assert 0 < kept_notes < 80  # the notes fill what is left, not the room the result needs


def test_a_report_too_large_for_the_budget_is_shortened_with_a_note_and_kept_whole_in_the_trace():
    agent = Agent(
        ModelClient("offline/demo"),
        tools=[get_report],
        sources=[notes()],
        budget=Budget(context_window=700, reserve_output=100),
    )
    result = agent.run('What is the weather report for "Oslo"?')
    assert result.stop_reason == "final_answer" and len(result.steps) == 2
    context = result.steps[1].context
    shown = context.messages[-1]
    assert shown["role"] == "tool" and "tokens cut, from line" in shown["content"]
    item = next(i for i in context.items if i.role == "tool")
    decision = context.decision(item.id)
    assert decision.status.value == "truncated" and decision.tokens_after < decision.tokens_before
    assert item.metadata["contextos.full_content"] == result.steps[0].tool_results[0].content
    assert context.usage.request_tokens <= agent.budget.available


def test_a_pinned_task_larger_than_the_budget_stops_the_run_with_a_reason():
    agent = Agent(
        ModelClient("offline/demo"),
        tools=[get_report],
        budget=Budget(context_window=300, reserve_output=50),
    )
    result = agent.run("Summarise this: " + "lorem ipsum dolor sit amet " * 200)
    assert result.stop_reason == "context_overflow" and result.steps == []
    assert "pinned items need" in result.stop_message and "250" in result.stop_message


def test_in_a_long_chat_only_the_current_task_is_pinned():
    chat = Conversation()
    agent = Agent(
        ModelClient("offline/demo"),
        tools=[get_report],
        budget=Budget(context_window=1200, reserve_output=100),
    )
    cities = ["Oslo", "Bergen", "Tromsø", "Bodø", "Ålesund"]
    for city in cities:
        result = agent.run(f'What is the weather report for "{city}"?', conversation=chat)
        assert result.stop_reason == "final_answer"
    last = result.steps[-1].context
    pinned = [d.id for d in last.decisions if d.reason == "pinned"]
    task = next(i.id for i in chat.items if i.pinned and cities[-1] in i.content)
    assert [p for p in pinned if p.startswith("turn-")] == [task]
    users = [m["content"] for m in last.messages if m["role"] == "user"]
    assert f'"{cities[-1]}"' in users[-1] and not any(f'"{cities[0]}"' in u for u in users)
    roles = [m["role"] for m in last.messages if m["role"] != "system"]
    assert roles[0] == "user" and all(
        not (a == b and a in ("user", "assistant")) for a, b in pairwise(roles)
    )


def test_the_trace_keeps_the_full_text_of_a_shortened_result(tmp_path):
    from contextos.tracing import configure_tracing
    from contextos.tracing.store import TraceStore

    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        agent = Agent(
            ModelClient("offline/demo"),
            tools=[get_report],
            budget=Budget(context_window=700, reserve_output=100),
        )
        result = agent.run('What is the weather report for "Oslo"?')
    finally:
        tracing.shutdown()
    store = TraceStore(tmp_path)
    assemblies = [
        s for s in store.spans(store.resolve(result.run_id)) if s.name == "contextos.assemble"
    ]
    items = json.loads(assemblies[1].attributes["contextos.context.items"])
    shortened = next(i for i in items if i["role"] == "tool")
    assert "tokens cut" in shortened["content"]
    assert shortened["full_content"] == result.steps[0].tool_results[0].content
