"""testing: filled in by its issue."""
