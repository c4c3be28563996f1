"""What every stream reader raises on an entry that breaks its contract (contracts/streams/); no schema
library imported, so a reader that checks its entries with a typed model does not load one."""

from __future__ import annotations


class InvalidEntry(ValueError):
    """A stream entry that does not match its schema."""
