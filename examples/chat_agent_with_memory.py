"""A long-running chat agent with memory.

The conversation lives in a small ``WorkingMemory`` window; turns that leave it go to a long-term
``VectorMemory``, and a ``MemorySource`` brings the relevant ones back when a later question needs
them. So the agent can answer about something said many turns ago without keeping everything.

    python examples/chat_agent_with_memory.py
"""

from __future__ import annotations

import asyncio
import tempfile

from _setup import model_client

from contextos.agents import Agent
from contextos.memory import MemorySource, VectorMemory, WorkingMemory

TURNS = [
    "Hi, I'm Ana and I live in Lisbon.",
    "I'm planning a trip to Norway in March.",
    "I prefer trains over planes when I can.",
    "My budget is about 2,000 euros.",
    "I also like hiking and fjords.",
    "Which city did I say I live in?",
]


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        long_term = VectorMemory(folder, dedup_threshold=None)
        client = model_client()
        # a small window, to show turns moving out; counted as the agent's model counts
        window = WorkingMemory(120, model=client.model, sinks=[long_term])
        agent = Agent(
            client,
            name="chat",
            instructions="You are a friendly travel assistant. Be brief.",
            sources=[MemorySource(long_term, k=3)],
        )
        for turn in TURNS:
            result = await agent.arun(turn, conversation=window)
            print(f"user: {turn}\nassistant: {result.answer}")
        print(
            f"\n{len(window.items)} turns in the window, {long_term.count()} moved to long-term memory"
        )
        step = result.steps[0]
        texts = {item.id: item.content for item in step.context.items}
        recalled = [d for d in step.context.decisions if d.source == "memory"]
        for d in recalled:
            if d.status.value != "dropped":
                print(f"recalled for the last question: {d.id}: {texts.get(d.id, '')!r}")
            else:
                print(f"not recalled: {d.id} ({d.reason})")
        if not recalled:
            print("nothing recalled for the last question: no memory was similar enough")


if __name__ == "__main__":
    asyncio.run(main())
