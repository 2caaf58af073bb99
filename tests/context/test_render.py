from contextos import (
    Budget,
    ContextItem,
    InputSource,
    InstructionsSource,
    Orchestrator,
    StaticSource,
    Step,
    shared_prefix_tokens,
)
from tests.context.helpers import COUNTER, assemble, item

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def all_sources():
    return [
        item("q", "input", "What now?", role="user"),
        item("turn2", "conversation", "Sure.", role="assistant", position=2),
        item("turn1", "conversation", "Hello", role="user", position=1),
        item("doc", "documents", "A document."),
        item("web", "web", "A web page."),
        item("mem", "memory", "A memory."),
        item("demo", "demonstrations", "An example."),
        item("weather", "tools", "Weather for a city", payload=TOOL),
        item("sys", "instructions", "You are helpful.", role="system"),
    ]


def test_render_order_is_most_stable_first():
    result = assemble(all_sources(), Budget(context_window=2000))
    system = result.messages[0]
    assert system["role"] == "system"
    order = [
        system["content"].index(s)
        for s in ("You are helpful.", "An example.", "A memory.", "A document.", "A web page.")
    ]
    assert order == sorted(order)
    assert "## Examples" in system["content"] and "## Web" in system["content"]
    assert [m["content"] for m in result.messages[1:]] == ["Hello", "Sure.", "What now?"]
    assert result.tools == [TOOL]
    assert [i.id for i in result.items] == [
        "sys",
        "weather",
        "demo",
        "mem",
        "doc",
        "web",
        "turn1",
        "turn2",
        "q",
    ]


def test_rendering_ignores_candidate_order_and_scores():
    items = all_sources()
    a = assemble(items, Budget(context_window=2000))
    b = assemble(list(reversed(items)), Budget(context_window=2000))
    rescored = [i.model_copy(update={"score": 1 - i.score}) for i in items]
    c = assemble(rescored, Budget(context_window=2000))
    assert a.messages == b.messages == c.messages
    assert a.tools == b.tools == c.tools


def test_consecutive_steps_share_the_prefix_up_to_the_new_turn():
    instructions = InstructionsSource("You are a careful assistant. " * 20)
    docs = StaticSource(
        "documents",
        [ContextItem(id="d", source="documents", content="Fact: water boils at 100 C. " * 10)],
    )
    history: list[ContextItem] = []

    class Conversation:
        name = "conversation"

        async def candidates(self, step):
            return list(history)

    orchestrator = Orchestrator(
        [instructions, docs, Conversation(), InputSource()],
        Budget(context_window=4000),
        counter=COUNTER,
    )
    first = orchestrator.build_sync(Step(input="When does water boil?", index=0))
    history.extend(
        [
            ContextItem(
                id="u0",
                source="conversation",
                role="user",
                content="When does water boil?",
                position=0,
            ),
            ContextItem(
                id="a0", source="conversation", role="assistant", content="At 100 C.", position=1
            ),
        ]
    )
    second = orchestrator.build_sync(Step(input="And at altitude?", index=1))
    shared = shared_prefix_tokens(first.request(), second.request(), COUNTER)
    system_tokens = COUNTER.count(first.messages[0]["content"])
    assert shared >= system_tokens
    assert shared < COUNTER.count(second.messages[-1]["content"]) + system_tokens + 50
    assert shared_prefix_tokens(second.request(), second.request(), COUNTER) > shared


def test_shared_prefix_is_zero_when_instructions_change():
    a = {"messages": [{"role": "system", "content": "Alpha rules."}]}
    b = {"messages": [{"role": "system", "content": "Beta rules."}]}
    assert shared_prefix_tokens(a, b, COUNTER) == COUNTER.count("<|system|>")
