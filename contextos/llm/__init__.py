"""Model dispatch: ``ModelClient`` over litellm (vLLM-served models, any provider, or ``offline/...``).

```python
from contextos.llm import ModelClient

client = ModelClient("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", api_base="http://127.0.0.1:8000/v1")
print(client.complete([{"role": "user", "content": "Hello"}]).content)
```

litellm itself is imported on the first call, never at import time.
"""

from __future__ import annotations

from contextos.llm.affinity import ReplicaState, session
from contextos.llm.client import ModelClient
from contextos.llm.config import ModelSettings
from contextos.llm.protocol import ChatModel
from contextos.llm.replicas import ReplicaClient
from contextos.llm.retry import RetryPolicy
from contextos.llm.serve import VllmServer
from contextos.llm.stream import CompletionStream
from contextos.llm.types import Attempt, Completion, Endpoint, ToolCall, Usage
from contextos.llm.vllm_metrics import PrefixCacheCounters, read_prefix_cache_counters

__all__ = [
    "Attempt",
    "ChatModel",
    "Completion",
    "CompletionStream",
    "Endpoint",
    "ModelClient",
    "ModelSettings",
    "PrefixCacheCounters",
    "ReplicaClient",
    "ReplicaState",
    "RetryPolicy",
    "ToolCall",
    "Usage",
    "VllmServer",
    "read_prefix_cache_counters",
    "session",
]
