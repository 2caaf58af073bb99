"""embed: filled in by its issue."""
