"""Read models folded from the log into plain SQLite tables."""
