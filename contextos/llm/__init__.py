"""llm: filled in by its issue."""
