"""memory: what an agent keeps between steps and across runs.

- :class:`MemoryRecord`, :class:`MemoryStore`: one memory and the protocol of long-term stores.
- :class:`WorkingMemory`: the live conversation as a token-bounded window; older turns move out to sinks.
- :class:`SummaryMemory`: a model-written running summary of the turns that left the window.
- :class:`VectorMemory`: long-term memory in LanceDB (hybrid search, recency, de-duplication, filters).
- :class:`EpisodicMemory`: finished trajectories, found by task similarity, as demonstrations.
- :class:`MemorySource`: memories proposed per step, scored, for the orchestrator's budgeted selection.
- :class:`RecordText`, :class:`IndexText`: what a record is found by (its time, speaker, the turn it replies to).
"""

from contextos.memory.episodic import (
    EpisodicMemory,
    Trajectory,
    TrajectoryStep,
    trajectory_from_messages,
)
from contextos.memory.index_text import IndexText, RecordText
from contextos.memory.records import (
    Filters,
    MemoryHit,
    MemoryMetadata,
    MemoryRecord,
    MemoryStore,
    Provenance,
)
from contextos.memory.scoring import ScoringWeights
from contextos.memory.source import MemorySource
from contextos.memory.summary import Summary, SummaryMemory
from contextos.memory.vector import VectorMemory
from contextos.memory.working import EvictionSink, WorkingMemory

__all__ = [
    "EpisodicMemory",
    "EvictionSink",
    "Filters",
    "IndexText",
    "MemoryHit",
    "MemoryMetadata",
    "MemoryRecord",
    "MemorySource",
    "MemoryStore",
    "Provenance",
    "RecordText",
    "ScoringWeights",
    "Summary",
    "SummaryMemory",
    "Trajectory",
    "TrajectoryStep",
    "VectorMemory",
    "WorkingMemory",
    "trajectory_from_messages",
]
