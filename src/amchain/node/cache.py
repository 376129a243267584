"""A read cache of committed state for the block producer.

The producer is the only writer, so after each commit it knows exactly which keys changed
and to what: :meth:`StateCache.apply` writes them through. Reads of keys that did not change
since they were cached (consortium keys and organisations, DIDs, vehicle records of active
vehicles) then cost a dict lookup instead of a SQLite query. Absent keys are cached too
(``None``), so "is this key a consortium key?" is answered once. The cache is bounded: when
full, the oldest half (by insertion) is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from amchain.ledger import StateReader

_ABSENT = object()


class StateCache:
    """Committed values by key (``None``: known to be absent), at most ``max_entries``."""

    __slots__ = ("_entries", "_max", "hits", "misses")

    def __init__(self, max_entries: int = 50_000) -> None:
        self._entries: dict[str, bytes | None] = {}
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _trim(self) -> None:
        if len(self._entries) > self._max:
            for key in list(islice(self._entries, len(self._entries) // 2)):
                del self._entries[key]

    def reader(self, base: StateReader) -> CachedReader:
        """A reader of committed state that consults the cache before ``base``."""
        return CachedReader(self, base)

    def apply(self, write_set: list[tuple[str, bytes | None]]) -> None:
        """Record a block's writes (call only once the writer has written them: a
        block batch's later blocks read them before the batch is committed)."""
        entries = self._entries
        for key, value in write_set:
            entries.pop(key, None)  # re-insert: a fresh write counts as recently used
            entries[key] = value
        self._trim()

    def clear(self) -> None:
        self._entries.clear()


class CachedReader:
    """:class:`amchain.ledger.StateReader` over committed state, through a :class:`StateCache`."""

    __slots__ = ("_base", "_cache")

    def __init__(self, cache: StateCache, base: StateReader) -> None:
        self._cache = cache
        self._base = base

    def get(self, key: str) -> bytes | None:
        cache = self._cache
        value = cache._entries.get(key, _ABSENT)
        if value is not _ABSENT:
            cache.hits += 1
            return value  # type: ignore[return-value]
        cache.misses += 1
        loaded = self._base.get(key)
        cache._entries[key] = loaded
        cache._trim()
        return loaded

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        return self._base.iter_prefix(prefix)
