"""Redis replies as text, for the adapters that read hashes."""

from __future__ import annotations

from collections.abc import Mapping


def decoded(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """A hash as text, whether or not the client decodes responses."""
    return {text(k): text(v) for k, v in raw.items()}


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
