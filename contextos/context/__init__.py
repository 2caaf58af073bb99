"""Budgeted context assembly: items, token counting, budgets, selection, rendering, orchestration."""

from contextos.context.budget import Budget, Section
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
from contextos.context.sources import Compressor, ContextSource, InputSource, InstructionsSource, StaticSource
from contextos.context.tokens import TiktokenCounter, TokenCounter, TokenizerWarning

__all__ = [
    "AssembledContext",
    "Budget",
    "Compressor",
    "ContextDecision",
    "ContextItem",
    "ContextSource",
    "ContextUsage",
    "DecisionStatus",
    "InputSource",
    "InstructionsSource",
    "Orchestrator",
    "Renderer",
    "Section",
    "SourceUsage",
    "StaticSource",
    "Step",
    "TiktokenCounter",
    "TokenCounter",
    "TokenizerWarning",
    "shared_prefix_tokens",
]
