"""Redis reply values as text: redis-py returns bytes unless a client decodes responses,
and the store's clients do not (most replies are numbers or are decoded once, merged)."""

from __future__ import annotations


def text(value: bytes | str) -> str:
    """A reply value (bytes or str) as str."""
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["text"]
