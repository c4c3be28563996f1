"""Outbound I/O: one module per port of domain/ports.py, named by the port; ``_``-modules are their shared helpers."""
