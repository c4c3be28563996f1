"""Outbound I/O: the boundary's Redis, User Service and Mail Service."""
