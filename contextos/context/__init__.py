"""Budgeted context assembly: items, token counting, budgets, selection, rendering, orchestration."""

from contextos.context.budget import Budget, Section
from contextos.context.counters import EstimatedCounter, counter_for_model
from contextos.context.items import (
    AssembledContext,
    ContextDecision,
    ContextItem,
    ContextUsage,
    DecisionStatus,
    SourceUsage,
    Step,
)
from contextos.context.orchestrator import Orchestrator
from contextos.context.render import Renderer, shared_prefix_tokens
from contextos.context.sources import (
    Compressor,
    ContextSource,
    InputSource,
    InstructionsSource,
    StaticSource,
)
from contextos.context.template_counter import ChatTemplateCounter
from contextos.context.tokens import TiktokenCounter, TokenCounter, TokenizerWarning
from contextos.context.vllm_tokenize import ServerCheckedCounter, VllmTokenize

__all__ = [
    "AssembledContext",
    "Budget",
    "ChatTemplateCounter",
    "Compressor",
    "ContextDecision",
    "ContextItem",
    "ContextSource",
    "ContextUsage",
    "DecisionStatus",
    "EstimatedCounter",
    "InputSource",
    "InstructionsSource",
    "Orchestrator",
    "Renderer",
    "Section",
    "ServerCheckedCounter",
    "SourceUsage",
    "StaticSource",
    "Step",
    "TiktokenCounter",
    "TokenCounter",
    "TokenizerWarning",
    "VllmTokenize",
    "counter_for_model",
    "shared_prefix_tokens",
]
