"""Outbound I/O: the Redis delivery store, the Jinja2 templates and the providers (SMTP, stub)."""
