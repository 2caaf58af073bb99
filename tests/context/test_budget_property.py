"""Property tests: whatever the items, sections and budget, the rendered request fits."""

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextos import Budget, BudgetError, ContextItem, Orchestrator, Renderer, Section, TiktokenCounter
from contextos.context.tokens import load_encoding

COUNTER = TiktokenCounter(encoding="o200k_base")
ENCODING = load_encoding("o200k_base")
SOURCES = ["instructions", "tools", "demonstrations", "memory", "documents", "conversation", "web", "input"]

words = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), min_size=1, max_size=12)
texts = st.lists(st.one_of(words, st.sampled_from(["\n", "\n\n", " ", "🙂", "<|endoftext|>"])), max_size=80).map(" ".join)


@st.composite
def items(draw):
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        source = draw(st.sampled_from(SOURCES))
        fields = dict(
            id=f"i{i}", source=source, content=draw(texts), score=draw(st.floats(0, 1)),
            priority=draw(st.integers(0, 2)), pinned=draw(st.booleans()) and draw(st.booleans()),
            compressible=draw(st.booleans()), group=draw(st.sampled_from([None, None, "g1", "g2"])),
            position=draw(st.one_of(st.none(), st.integers(0, 50))),
        )
        if source == "tools":
            fields["payload"] = {"type": "function", "function": {"name": f"tool_{i}", "description": fields["content"], "parameters": {"type": "object", "properties": {}}}}
        if source in ("conversation", "input"):
            fields["role"] = draw(st.sampled_from(["user", "assistant"]))
        out.append(ContextItem(**fields))
    return out


@st.composite
def budgets(draw):
    window = draw(st.integers(20, 3000))
    reserve = draw(st.integers(0, window - 1))
    available = window - reserve
    sections = {}
    for source in draw(st.lists(st.sampled_from(SOURCES), unique=True, max_size=3)):
        cap = draw(st.one_of(st.none(), st.integers(0, available)))
        floor = draw(st.integers(0, min(cap if cap is not None else available, available // 4)))
        sections[source] = Section(floor=floor, cap=cap, weight=draw(st.floats(0.1, 3)))
    return Budget(context_window=window, reserve_output=reserve, sections=sections,
                  redundancy_penalty=draw(st.floats(0, 1)), min_truncated_tokens=draw(st.integers(1, 100)))


def independent_count(messages, tools):
    """The request's tokens counted from scratch with tiktoken (no contextos cache or helpers)."""
    def n(text):
        return len(ENCODING.encode(text, disallowed_special=()))

    def dump(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    total = 3
    for m in messages:
        total += 3
        if isinstance(m.get("content"), str):
            total += n(m["content"])
        if m.get("tool_calls"):
            total += n(dump(m["tool_calls"]))
        if m.get("tool_call_id"):
            total += n(m["tool_call_id"])
    if tools:
        total += 6 + sum(4 + n(dump(t)) for t in tools)
    return total


def pinned_ids(candidates):
    """The items that must go in: pinned ones and their groups, where in the conversation only the newest
    pinned turn counts (older pinned turns, earlier tasks of a chat, are turns like any other)."""
    turns = sorted((c for c in candidates if c.source == "conversation"), key=lambda c: (c.position is None, c.position or 0, c.id))
    newest = [c for c in turns if c.pinned][-1:]
    pinned = [c for c in candidates if c.pinned and c.source != "conversation"] + newest
    groups = {c.group for c in pinned if c.group}
    return {c.id for c in candidates if c in pinned or c.group in groups}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(), budgets())
def test_the_rendered_request_never_exceeds_the_budget(candidates, budget):
    orchestrator = Orchestrator([], budget, counter=COUNTER)
    try:
        result = asyncio.run(orchestrator.assemble(candidates))
    except BudgetError:
        # Only an impossible budget may fail: the pinned items alone, rendered, do not fit.
        # A group with a pinned member is pinned whole.
        must = pinned_ids(candidates)
        messages, tools = Renderer().render([c for c in candidates if c.id in must])
        assert independent_count(messages, tools) > budget.available
        return
    assert independent_count(result.messages, result.tools) <= budget.available
    # The usage reported is the rendered request's exact count, tool schemas included.
    assert result.usage.request_tokens == independent_count(result.messages, result.tools)

    decisions = {d.id: d for d in result.decisions}
    # One decision per candidate, except the conversation turns older than where the walk from the newest
    # stopped: never examined, only counted.
    unexamined = {c.id for c in candidates} - set(decisions)
    assert all(c.source == "conversation" for c in candidates if c.id in unexamined)
    conversation = result.usage.per_source.get("conversation")
    assert len(unexamined) == (conversation.unexamined if conversation else 0)
    must = pinned_ids(candidates)
    for c in candidates:
        if c.id in must:
            assert c.id in decisions and decisions[c.id].status.value == "included"
    for group in ("g1", "g2"):
        statuses = {c.id not in decisions or decisions[c.id].status.value == "dropped" for c in candidates if c.group == group}
        assert len(statuses) <= 1, f"group {group} was split"
    for source, section in budget.sections.items():
        if section.cap is None:
            continue
        unpinned = sum(decisions[c.id].tokens_after for c in candidates
                       if c.source == source and not c.pinned and c.group is None and c.id in decisions)
        assert unpinned <= section.cap
    offered_tools = {t["function"]["name"] for t in result.tools}
    kept_tools = {f"tool_{c.id[1:]}" for c in candidates if c.source == "tools" and decisions[c.id].status.value != "dropped"}
    assert offered_tools == kept_tools
