"""Intent handling rules, independent of Redis and HTTP."""
