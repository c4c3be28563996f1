"""Parity of the lab doubles with their services."""
