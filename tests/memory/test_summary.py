"""SummaryMemory through a real ModelClient against the fake vLLM-compatible server."""

from __future__ import annotations

import re

import pytest

from contextos import Budget, Orchestrator, Step, TiktokenCounter
from contextos.errors import ModelResponseError
from contextos.llm import ModelClient
from contextos.memory import SummaryMemory, WorkingMemory
from contextos.testing import FakeModelServer, Reply

COUNTER = TiktokenCounter()


@pytest.fixture
def server():
    with FakeModelServer() as s:
        yield s


async def test_moved_turns_are_folded_into_a_bounded_cited_summary(server):
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=10)
    summary = SummaryMemory(client, max_tokens=40, counter=COUNTER)
    window = WorkingMemory(40, counter=COUNTER, sinks=[summary])
    long = (
        "Alice booked Chez Nous for two on Friday at 8pm; "
        + "she also mentioned many other things " * 20
    )
    server.enqueue(Reply.text("Alice wants a table for two on Friday."), *[Reply.text(long)] * 4)
    batches = 0
    for n, text in enumerate(
        [
            "I want a table for two on Friday please.",
            "Sure, which restaurant do you like?",
            "Chez Nous at 8pm would be perfect for us.",
            "Booked it. Anything else for the evening?",
            "No thanks, that is all for today.",
        ]
    ):
        batches += bool(
            await window.add({"role": "user" if n % 2 == 0 else "assistant", "content": text})
        )
    requests = server.completion_requests()
    # one model call per batch that left the window
    assert batches >= 2 and len(requests) == batches
    # The model saw the earlier summary and the turns it had to fold in, with their turn numbers, as
    # the index-text policy reads turns: when it was said, and who said it.
    second = requests[1].messages[-1]["content"]
    assert "Alice wants a table for two on Friday." in second
    assert re.search(r"\[turn 1\] \[\d+ \w+ \d{4}, \d\d:\d\d\] assistant: Sure, which", second), (
        second
    )
    # The summary cites exactly the turns that left, and stays within its token bound.
    moved = sorted({p for p in range(5)} - {i.position for i in window.items})
    assert summary.summary.positions == moved
    assert summary.text.startswith(f"Summary of turns {summary.summary.covers()}:")
    assert COUNTER.count(summary.text) <= 40
    assert summary.summary.text.endswith("…")  # the long answer was cut
    # As a source, it enters the orchestrator's context before the conversation.
    assembled = await Orchestrator(
        [summary, window], Budget(context_window=500), counter=COUNTER
    ).build(Step())
    assert (
        assembled.messages[0]["role"] == "system"
        and "Summary of turns" in assembled.messages[0]["content"]
    )
    assert assembled.decision("summary-summary").tokens_after > 0


async def test_empty_model_answer_is_an_error_and_keeps_the_old_summary(server):
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=10)
    summary = SummaryMemory(client, max_tokens=50, counter=COUNTER)
    window = WorkingMemory(15, counter=COUNTER, sinks=[summary])
    server.enqueue(Reply.text("   "))
    with pytest.raises(ModelResponseError, match="empty summary"):
        # The long message stays while it is the newest; the next one moves it out.
        await window.add(
            {
                "role": "user",
                "content": "a long message that does not fit in fifteen tokens at all, no way",
            },
            {"role": "user", "content": "next"},
        )
    assert summary.text == "" and await summary.candidates(Step()) == []


async def test_a_failed_summary_keeps_the_turns_for_the_next_flush(server):
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=10)
    summary = SummaryMemory(client, max_tokens=50, counter=COUNTER)
    window = WorkingMemory(15, counter=COUNTER, sinks=[summary])
    server.enqueue(Reply.text(""), Reply.text("The user wrote a long message."))
    with pytest.raises(ModelResponseError):
        # The long message stays while it is the newest; the next one moves it out.
        await window.add(
            {
                "role": "user",
                "content": "a long message that does not fit in fifteen tokens at all, no way",
            },
            {"role": "user", "content": "next"},
        )
    assert [i.position for i in window.evicted] == [0]
    await window.flush()
    assert window.evicted == [] and summary.summary.positions == [0]
    await window.flush()  # nothing pending: no further model call
    assert len(server.completion_requests()) == 2
