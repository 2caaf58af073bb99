"""contextos: agentic context engineering.

At every step of an agent, contextos decides what the model sees: it gathers candidates from
sources, compresses, selects what fits a token budget, renders in a prefix-cache-friendly order,
dispatches to a model and records every decision.

```python
from contextos import Budget, InputSource, InstructionsSource, Orchestrator, Step

orchestrator = Orchestrator([InstructionsSource("Be brief."), InputSource()], Budget(context_window=4096))
assembled = orchestrator.build_sync(Step(input="Hello"))
```

Only light modules load here; parts with heavy dependencies (litellm, LanceDB) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from contextos.context import (
    AssembledContext,
    Budget,
    Compressor,
    ContextDecision,
    ContextItem,
    ContextSource,
    ContextUsage,
    DecisionStatus,
    InputSource,
    InstructionsSource,
    Orchestrator,
    Renderer,
    Section,
    SourceUsage,
    StaticSource,
    Step,
    TiktokenCounter,
    TokenCounter,
    TokenizerWarning,
    shared_prefix_tokens,
)
from contextos.errors import (
    AgentError,
    AllModelsFailedError,
    BudgetError,
    ConfigError,
    ContextOSError,
    ContextWindowExceededError,
    DuplicateToolError,
    EmbeddingError,
    InvalidItemError,
    InvalidToolError,
    MemoryStoreError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelRequestError,
    ModelResponseError,
    ModelServerError,
    ModelTimeoutError,
    RateLimitedError,
    RecordNotFoundError,
    ServerLaunchError,
    SourceError,
    StoreError,
    TokenizerError,
    ToolError,
    ToolNotFoundError,
    TraceError,
)
from contextos.version import __version__

# Public names whose modules import heavy dependencies: resolved on first attribute access.
_LAZY: dict[str, str] = {
    "Agent": "contextos.agents",
    "AgentGraph": "contextos.agents",
    "AgentHooks": "contextos.agents",
    "Attempt": "contextos.llm",
    "CachedEmbedder": "contextos.embed",
    "CatalogRetriever": "contextos.tools",
    "Completion": "contextos.llm",
    "Conversation": "contextos.agents",
    "Embedder": "contextos.embed",
    "EndpointEmbedder": "contextos.embed",
    "GraphResult": "contextos.agents",
    "HashingEmbedder": "contextos.embed",
    "Hit": "contextos.store",
    "ModelClient": "contextos.llm",
    "RetryPolicy": "contextos.llm",
    "RunLimits": "contextos.agents",
    "RunResult": "contextos.agents",
    "StepRecord": "contextos.agents",
    "Tool": "contextos.tools",
    "ToolCall": "contextos.llm",
    "ToolCatalog": "contextos.tools",
    "ToolDecision": "contextos.agents",
    "ToolExecutor": "contextos.tools",
    "ToolHit": "contextos.tools",
    "ToolQueryWriter": "contextos.tools",
    "ToolResult": "contextos.tools",
    "ToolRetriever": "contextos.tools",
    "ToolSource": "contextos.tools",
    "Usage": "contextos.llm",
    "VectorTable": "contextos.store",
    "default_embedder": "contextos.embed",
    "load_tools": "contextos.tools",
    "tools_from_mcp": "contextos.tools",
}

__all__ = [
    "Agent",
    "AgentError",
    "AgentGraph",
    "AgentHooks",
    "AllModelsFailedError",
    "AssembledContext",
    "Attempt",
    "Budget",
    "BudgetError",
    "CachedEmbedder",
    "CatalogRetriever",
    "Completion",
    "Compressor",
    "ConfigError",
    "ContextDecision",
    "ContextItem",
    "ContextOSError",
    "ContextSource",
    "ContextUsage",
    "ContextWindowExceededError",
    "Conversation",
    "DecisionStatus",
    "DuplicateToolError",
    "Embedder",
    "EmbeddingError",
    "EndpointEmbedder",
    "GraphResult",
    "HashingEmbedder",
    "Hit",
    "InputSource",
    "InstructionsSource",
    "InvalidItemError",
    "InvalidToolError",
    "MemoryStoreError",
    "ModelAuthenticationError",
    "ModelClient",
    "ModelConnectionError",
    "ModelError",
    "ModelNotFoundError",
    "ModelRequestError",
    "ModelResponseError",
    "ModelServerError",
    "ModelTimeoutError",
    "Orchestrator",
    "RateLimitedError",
    "RecordNotFoundError",
    "Renderer",
    "RetryPolicy",
    "RunLimits",
    "RunResult",
    "Section",
    "ServerLaunchError",
    "SourceError",
    "SourceUsage",
    "StaticSource",
    "Step",
    "StepRecord",
    "StoreError",
    "TiktokenCounter",
    "TokenCounter",
    "TokenizerError",
    "TokenizerWarning",
    "Tool",
    "ToolCall",
    "ToolCatalog",
    "ToolDecision",
    "ToolError",
    "ToolExecutor",
    "ToolHit",
    "ToolNotFoundError",
    "ToolQueryWriter",
    "ToolResult",
    "ToolRetriever",
    "ToolSource",
    "TraceError",
    "Usage",
    "VectorTable",
    "__version__",
    "default_embedder",
    "load_tools",
    "shared_prefix_tokens",
    "tools_from_mcp",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'contextos' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
