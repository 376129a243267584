"""SQLite connections as the store opens them, and the IN-list helper its queries share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = ["MAX_IN_LIST", "connect", "in_list_chunks"]

MAX_IN_LIST = 512  # values per "x IN (?, ...)" query; a power of two (see in_list_chunks)
_Value = TypeVar("_Value")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def in_list_chunks(values: Sequence[_Value]) -> Iterator[tuple[str, Sequence[_Value]]]:
    """Split ``values`` for ``... IN (?, ?, ...)`` queries: ``(marks, chunk)`` pairs, each
    chunk padded to a power-of-two length by repeating its last value (``x IN (...)``
    matches a row once however often a value is listed).

    Why: the statement's text depends on the list's length, and a text not in the
    connection's statement cache is prepared again. Unpadded, nearly every call prepared a
    new statement (~50 us, as long as reading ~8 state-tree packs); padded, a connection
    needs at most 10 of them, prepared once.
    """
    for start in range(0, len(values), MAX_IN_LIST):
        chunk = values[start : start + MAX_IN_LIST]
        size = 1 << (len(chunk) - 1).bit_length()
        if size > len(chunk):
            chunk = [*chunk, *[chunk[-1]] * (size - len(chunk))]
        yield ",".join("?" * size), chunk
