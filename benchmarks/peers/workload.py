"""The work every peer does, and how its answers are judged: shared by run.py and its test.

Fitting a conversation: a long chat with tool calls (built from the toolret catalog's real tool
names and descriptions, seeded, so every peer gets the same messages), ending on the user's newest
turn, fitted into a prompt budget. Each fitted request is judged in the model's tokenizer (o200k_base,
counted the way OpenAI's chat format spends tokens: 3 per message, role, content, each tool call's
name, arguments and id, 3 to prime the reply) and for what an API rejects or a model misreads.
"""

from __future__ import annotations

import json
import random
from itertools import pairwise
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "toolret"
SYSTEM = "You are a helpful assistant with tools. Call a tool when it helps; answer briefly."


def conversation(n_messages: int, seed: int = 0) -> list[dict[str, Any]]:
    """A system prompt and about ``n_messages`` turns: user asks, assistant calls one or two tools,
    the tools answer, the assistant replies; the last message is a user turn."""
    rng = random.Random(seed)
    tools = [json.loads(line) for line in (DATA / "tools.jsonl").open()]
    tools = [t for t in tools if t["description"].strip()]
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    turn = 0
    while len(messages) < n_messages:
        picked = rng.sample(tools, rng.choice((1, 2)))
        ask = " ".join(t["description"] for t in picked)
        messages.append(
            {"role": "user", "content": f"Turn {turn}: please help. {ask}"[: rng.randint(80, 600)]}
        )
        calls = [
            {
                "id": f"call_{turn}_{i}",
                "type": "function",
                "function": {
                    "name": t["name"].replace(": ", "__").replace(" ", "_")[:64],
                    "arguments": json.dumps(
                        {
                            p: rng.choice(["Oslo", "42", "2024-05-01", "EUR"])
                            for p in (t["parameters"].get("properties") or {"q": 0})
                        }
                    ),
                },
            }
            for i, t in enumerate(picked)
        ]
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        for call, t in zip(calls, picked):
            result = json.dumps(
                (t["metadata"] or {}).get("response_template") or {"result": t["description"]}
            )
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "content": result[: rng.randint(200, 3000)],
                }
            )
        messages.append(
            {
                "role": "assistant",
                "content": f"Done with turn {turn}. " + picked[0]["description"][:300],
            }
        )
        turn += 1
    messages.append(
        {"role": "user", "content": f"Turn {turn}: and now, what did the first tool return?"}
    )
    return messages


def request_tokens(encoding: Any, messages: list[dict[str, Any]]) -> int:
    """Tokens a chat request spends in OpenAI's chat format (the judge; no peer's own counter)."""
    n = 3
    for m in messages:
        n += 3 + len(encoding.encode(m["role"])) + len(encoding.encode(m.get("content") or ""))
        for call in m.get("tool_calls") or []:
            f = call["function"]
            n += (
                3
                + len(encoding.encode(f["name"]))
                + len(encoding.encode(f["arguments"]))
                + len(encoding.encode(call["id"]))
            )
        if m.get("tool_call_id"):
            n += len(encoding.encode(m["tool_call_id"]))
    return n


def judge(
    encoding: Any, fitted: list[dict[str, Any]], newest: dict[str, Any], budget: int
) -> dict[str, bool]:
    """What is wrong with one fitted request (each True is one fault)."""
    called = set()
    orphaned = False
    for m in fitted:
        if m["role"] == "assistant":
            called |= {c["id"] for c in m.get("tool_calls") or []}
        if m["role"] == "tool" and m.get("tool_call_id") not in called:
            orphaned = True  # a result without its call: OpenAI rejects the request
    answered = {m.get("tool_call_id") for m in fitted if m["role"] == "tool"}
    unanswered = bool(called - answered)  # a call without its result: rejected too
    roles = [m["role"] for m in fitted if m["role"] != "system"]
    alternation = bool(roles) and (
        roles[0] != "user" or any(a == b and a in ("user", "assistant") for a, b in pairwise(roles))
    )
    return {
        "over_budget": request_tokens(encoding, fitted) > budget,
        "orphaned_tool": orphaned or unanswered,
        "broken_alternation": alternation,
        "newest_lost": not fitted or fitted[-1].get("content") != newest["content"],
    }
