"""Test doubles for code built on contextos: a fake vLLM-compatible server with scripted replies and faults.

```python
from contextos.testing import Fault, FakeModelServer, Reply

with FakeModelServer() as server:
    server.enqueue(Fault.server_error(), Reply.text("ok"))
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base)
```
"""

from __future__ import annotations

from contextos.testing.fake_server import FakeModelServer, RecordedRequest, prompt_words
from contextos.testing.replies import FakeToolCall, Fault, Reply

__all__ = ["FakeModelServer", "FakeToolCall", "Fault", "RecordedRequest", "Reply", "prompt_words"]
