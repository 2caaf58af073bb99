"""Test doubles for code built on contextos: a fake vLLM-compatible server, a scripted in-process model
and a deterministic embedder (``HashingEmbedder``: no model, identical vectors on every machine).

```python
from contextos.testing import Fault, FakeModelServer, Reply, ScriptedModel

with FakeModelServer() as server:
    server.enqueue(Fault.server_error(), Reply.text("ok"))
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base)

model = ScriptedModel([Reply.tool_call("search", {"query": "x"}), "Done."])   # no HTTP at all
```
"""

from __future__ import annotations

from contextos.embed.hashing import HashingEmbedder
from contextos.testing.fake_server import FakeModelServer, RecordedRequest, prompt_words
from contextos.testing.replies import FakeToolCall, Fault, Reply
from contextos.testing.scripted import ScriptedModel, ScriptedRequest

__all__ = [
    "FakeModelServer",
    "FakeToolCall",
    "Fault",
    "HashingEmbedder",
    "RecordedRequest",
    "Reply",
    "ScriptedModel",
    "ScriptedRequest",
    "prompt_words",
]
