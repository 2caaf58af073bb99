"""Compressors: shorten candidate items toward a token target, keeping what the query needs.

Each implements the ``Compressor`` protocol (``contextos.context.sources``): items, a query and a
target in tokens in, one ``Compressed`` (the item to use, or None, and its ``ContextDecision``) per
item out. See docs/compression.md for each method, its paper and its measured numbers.

```python
from contextos.compress import default_compressor
results = default_compressor().compress_sync(items, "who wrote Dune?", target_tokens=300)
```
"""

from contextos.compress.base import CompressorBase, kept_items
from contextos.compress.cluster import ClusterCompressor
from contextos.compress.cutoff import DynamicCutoff
from contextos.compress.default import (
    PerSource,
    compressor_named,
    default_compressor,
)
from contextos.compress.extractive import ExtractivePruner
from contextos.compress.history import HistoryCompactor
from contextos.compress.structure import Structurizer
from contextos.compress.summarize import LLMSummarizer
from contextos.context.sources import Compressed, Compressor

__all__ = [
    "ClusterCompressor",
    "Compressed",
    "Compressor",
    "CompressorBase",
    "DynamicCutoff",
    "ExtractivePruner",
    "HistoryCompactor",
    "LLMSummarizer",
    "PerSource",
    "Structurizer",
    "compressor_named",
    "default_compressor",
    "kept_items",
]
