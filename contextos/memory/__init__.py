"""memory: filled in by its issue."""
