"""In-memory state of a stub: what it recorded, what it was told to answer, what it holds."""
