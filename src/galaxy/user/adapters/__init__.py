"""Outbound I/O: one module per port of domain/ports.py, named by the port (accounts.py: AccountStore)."""
