"""The storage layer's one exception."""

from __future__ import annotations

__all__ = ["StorageError"]


class StorageError(RuntimeError):
    """The database is unusable (wrong schema, another chain, corrupt)."""
