"""demos: filled in by its issue."""
