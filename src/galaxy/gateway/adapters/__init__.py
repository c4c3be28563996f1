"""Outbound I/O: authsession and user over HTTP, sessions and the push stream in Redis."""
