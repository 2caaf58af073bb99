"""Property tests: whatever the items, sections and budget, the rendered request fits.

Counted two ways, each by a path of its own: OpenAI's published accounting over tiktoken's
encoding (for OpenAI models), and the tiny test model's chat template rendered here with Jinja
and tokenized with its tokenizer (for open models), as vLLM counts a prompt.
"""

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

from contextos import (
    Budget,
    BudgetError,
    ChatTemplateCounter,
    ContextItem,
    Orchestrator,
    Renderer,
    Section,
    TiktokenCounter,
)
from contextos.context.tokens import load_encoding
from contextos.testing.tiny_model import CHAT_TEMPLATE, SPECIAL_TOKEN_ROLES
from tests.context.helpers import openai_count, tiny_tokenizer_dir

COUNTER = TiktokenCounter(encoding="o200k_base")
ENCODING = load_encoding("o200k_base")
SOURCES = [
    "instructions",
    "tools",
    "demonstrations",
    "memory",
    "documents",
    "conversation",
    "web",
    "input",
]

words = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), min_size=1, max_size=12
)
texts = st.lists(
    st.one_of(words, st.sampled_from(["\n", "\n\n", " ", "🙂", "<|endoftext|>"])), max_size=80
).map(" ".join)


@st.composite
def items(draw):
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        source = draw(st.sampled_from(SOURCES))
        fields = dict(
            id=f"i{i}",
            source=source,
            content=draw(texts),
            score=draw(st.floats(0, 1)),
            priority=draw(st.integers(0, 2)),
            pinned=draw(st.booleans()) and draw(st.booleans()),
            compressible=draw(st.booleans()),
            group=draw(st.sampled_from([None, None, "g1", "g2"])),
            position=draw(st.one_of(st.none(), st.integers(0, 50))),
        )
        if source == "tools":
            fields["payload"] = {
                "type": "function",
                "function": {
                    "name": f"tool_{i}",
                    "description": fields["content"],
                    "parameters": {"type": "object", "properties": {}},
                },
            }
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
    return Budget(
        context_window=window,
        reserve_output=reserve,
        sections=sections,
        redundancy_penalty=draw(st.floats(0, 1)),
        min_truncated_tokens=draw(st.integers(1, 100)),
    )


def independent_count(messages, tools):
    """The request's tokens counted from scratch with tiktoken (no contextos cache or helpers)."""
    return openai_count(ENCODING, messages, tools)


TEMPLATE_COUNTER = ChatTemplateCounter(tiny_tokenizer_dir())
TINY_TOKENIZER = Tokenizer.from_file(str(tiny_tokenizer_dir() / "tokenizer.json"))


def _raise(message):
    raise TemplateError(message)


_ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
_ENV.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=False)
_ENV.globals["raise_exception"] = _raise
TINY_TEMPLATE = _ENV.from_string(CHAT_TEMPLATE)


def template_count(messages, tools):
    """The request's tokens as vLLM counts them: messages reshaped as vLLM does, the template rendered, tokenized."""
    if not messages:  # nothing to send; the template cannot render it
        return TEMPLATE_COUNTER.count_request([], tools)
    shaped = []
    for m in messages:
        one = {"role": m["role"], "content": m.get("content") or ""}
        if m.get("tool_calls"):
            one["tool_calls"] = [
                {
                    **c,
                    "function": {
                        **c["function"],
                        "arguments": json.loads(c["function"]["arguments"] or "{}"),
                    },
                }
                for c in m["tool_calls"]
            ]
        shaped.append(one)
    schemas = [
        {
            "type": "function",
            "function": {
                "name": t["function"]["name"],
                "description": t["function"].get("description"),
                "parameters": t["function"].get("parameters"),
            },
        }
        for t in tools
    ] or None
    text = TINY_TEMPLATE.render(
        messages=shaped, tools=schemas, add_generation_prompt=True, **SPECIAL_TOKEN_ROLES
    )
    return len(TINY_TOKENIZER.encode(text, add_special_tokens=False).ids)


def pinned_ids(candidates):
    """The items that must go in: pinned ones and their groups, where in the conversation only the newest
    pinned turn counts (older pinned turns, earlier tasks of a chat, are turns like any other)."""
    turns = sorted(
        (c for c in candidates if c.source == "conversation"),
        key=lambda c: (c.position is None, c.position or 0, c.id),
    )
    newest = [c for c in turns if c.pinned][-1:]
    pinned = [c for c in candidates if c.pinned and c.source != "conversation"] + newest
    groups = {c.group for c in pinned if c.group}
    return {c.id for c in candidates if c in pinned or c.group in groups}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(), budgets())
def test_the_rendered_request_never_exceeds_the_budget(candidates, budget):
    check_fits(candidates, budget, COUNTER, independent_count)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(), budgets())
def test_counted_with_the_models_template_the_request_never_exceeds_the_budget(candidates, budget):
    check_fits(candidates, budget, TEMPLATE_COUNTER, template_count)


def check_fits(candidates, budget, counter, independent_count):
    orchestrator = Orchestrator([], budget, counter=counter)
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
        statuses = {
            c.id not in decisions or decisions[c.id].status.value == "dropped"
            for c in candidates
            if c.group == group
        }
        assert len(statuses) <= 1, f"group {group} was split"
    for source, section in budget.sections.items():
        if section.cap is None:
            continue
        unpinned = sum(
            decisions[c.id].tokens_after
            for c in candidates
            if c.source == source and not c.pinned and c.group is None and c.id in decisions
        )
        assert unpinned <= section.cap
    offered_tools = {t["function"]["name"] for t in result.tools}
    kept_tools = {
        f"tool_{c.id[1:]}"
        for c in candidates
        if c.source == "tools" and decisions[c.id].status.value != "dropped"
    }
    assert offered_tools == kept_tools
