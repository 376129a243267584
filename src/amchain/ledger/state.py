"""State: a key-value map from strings to canonical JSON bytes, read and written in layers.

Modules see a :class:`StateWriter`. The executor stacks an :class:`Overlay` per transaction
on an overlay per block on the committed store: a failed transaction's overlay is dropped,
so it leaves no change; a block's overlay becomes the write set committed in one go.
Iteration is always in key order, never in hash or insertion order.

The state root that commits to all of it is computed by the authenticated state tree
(:mod:`amchain.ledger.state_tree`) from each block's write set.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Protocol


class StateReader(Protocol):
    """Read access to state."""

    def get(self, key: str) -> bytes | None:
        """Return the value stored at ``key``, or None."""
        ...

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        """Yield ``(key, value)`` for keys starting with ``prefix``, in key order."""
        ...


class StateWriter(StateReader, Protocol):
    """Read and write access to state."""

    def set(self, key: str, value: bytes) -> None:
        """Store ``value`` at ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``."""
        ...


class Overlay:
    """Buffered writes over a reader; nothing reaches the reader until :meth:`flush_into`."""

    __slots__ = ("_base", "_writes")

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self._writes: dict[str, bytes | None] = {}

    def get(self, key: str) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        return self._base.get(key)

    def set(self, key: str, value: bytes) -> None:
        self._writes[key] = value

    def delete(self, key: str) -> None:
        self._writes[key] = None

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        own = sorted(k for k in self._writes if k.startswith(prefix))
        base = self._base.iter_prefix(prefix)
        base_item = next(base, None)
        i = 0
        while i < len(own) or base_item is not None:
            if base_item is None or (i < len(own) and own[i] <= base_item[0]):
                key = own[i]
                i += 1
                if base_item is not None and base_item[0] == key:
                    base_item = next(base, None)
                value = self._writes[key]
                if value is not None:
                    yield key, value
            else:
                yield base_item
                base_item = next(base, None)

    def flush_into(self, target: StateWriter) -> None:
        """Apply the buffered writes to ``target``, in key order."""
        for key in sorted(self._writes):
            value = self._writes[key]
            if value is None:
                target.delete(key)
            else:
                target.set(key, value)

    def write_set(self) -> list[tuple[str, bytes | None]]:
        """Return the buffered writes sorted by key (None marks a deletion)."""
        return [(k, self._writes[k]) for k in sorted(self._writes)]


class MemoryState:
    """A sorted in-memory state, for genesis building and tests."""

    def __init__(self, items: dict[str, bytes] | None = None) -> None:
        self._items: dict[str, bytes] = dict(items or {})
        self._keys = sorted(self._items)

    def get(self, key: str) -> bytes | None:
        return self._items.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key not in self._items:
            bisect.insort(self._keys, key)
        self._items[key] = value

    def delete(self, key: str) -> None:
        if key in self._items:
            del self._items[key]
            self._keys.remove(key)

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        start = bisect.bisect_left(self._keys, prefix)
        for key in self._keys[start:]:
            if not key.startswith(prefix):
                break
            yield key, self._items[key]

    def items(self) -> list[tuple[str, bytes]]:
        """Return every entry in key order."""
        return [(k, self._items[k]) for k in self._keys]
