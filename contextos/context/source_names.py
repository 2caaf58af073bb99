"""The names of the sources contextos knows how to place, in one place.

A ``ContextSource`` may have any name; these are the ones the renderer orders and heads by
default, the selector treats as the dialogue, and the agent keeps for itself.

```python
ContextItem(id="doc-1", source=DOCUMENTS, content="...")
```
"""

from __future__ import annotations

INSTRUCTIONS = "instructions"
"""The system instructions (pinned, first)."""
TOOLS = "tools"
"""Tool schemas: the renderer offers this source's items as the request's tools."""
DEMONSTRATIONS = "demonstrations"
"""Worked examples (``contextos.demos``, episodic memory)."""
MEMORY = "memory"
"""Long-term memory records (``MemorySource``)."""
PLAYBOOK = "playbook"
"""Playbook bullets learned from earlier runs (``PlaybookSource``)."""
DOCUMENTS = "documents"
"""Documents and any source without a place of its own."""
CONVERSATION = "conversation"
"""The turns so far (``Conversation``, ``WorkingMemory``)."""
INPUT = "input"
"""The step's current request (``InputSource``)."""

KNOWN_SOURCES = (INSTRUCTIONS, TOOLS, DEMONSTRATIONS, MEMORY, DOCUMENTS, CONVERSATION, INPUT)
"""The default render order; any other name renders with the documents."""
MESSAGE_SOURCES = frozenset({CONVERSATION, INPUT})
"""Sources rendered as messages of their own (the dialogue); the rest is text in the system message."""
AGENT_SOURCES = frozenset({INSTRUCTIONS, TOOLS, CONVERSATION})
"""The names an ``Agent`` gives its own sources (a user's sources must be named otherwise)."""
