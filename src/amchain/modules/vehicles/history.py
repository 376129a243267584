"""The vehicle history hash chain: pure functions, no state access.

``entry_hash = sha256(b"amchain/vehicle-history/v1\\x00" + JCS(entry without entry_hash))``.
``prev_hash`` is part of what is hashed, so each entry commits to the whole past; the
vehicle record's ``history_head`` and ``event_count`` commit to the whole history, and a
state proof of the record proves that no entry was left out, altered or reordered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from amchain.codec import encode_canonical, encode_canonical_many, to_builtins
from amchain.crypto import sha256
from amchain.modules.vehicles.types import EMPTY_HISTORY_HEAD, HistoryEntry

HISTORY_DOMAIN = b"amchain/vehicle-history/v1\x00"


def compute_history_entry_hash(entry_without_hash: HistoryEntry | Mapping[str, Any]) -> str:
    """Return the lowercase hex ``entry_hash`` of a history entry.

    Accepts a :class:`HistoryEntry` or its plain-JSON form; an ``entry_hash`` field, if
    present, is left out of what is hashed.
    """
    plain: dict[str, Any] = dict(to_builtins(entry_without_hash))
    plain.pop("entry_hash", None)
    return sha256(HISTORY_DOMAIN + encode_canonical(plain)).hex()


def verify_history_chain(entries: Sequence[HistoryEntry], head: str, count: int) -> bool:
    """Return whether ``entries`` are exactly a vehicle's complete history.

    True when there are ``count`` entries with seqs ``0..count-1`` in order, each entry's
    hash is correct, each links to its predecessor (the first to ``"00" * 32``), and the last
    hash equals ``head`` (``"00" * 32`` for an empty history).
    """
    if len(entries) != count:
        return False
    prev = EMPTY_HISTORY_HEAD
    for index, entry in enumerate(entries):
        if entry.seq != index or entry.prev_hash != prev:
            return False
        prev = entry.entry_hash
    if prev != head:
        return False
    # The hashes last, for the whole list at once (a 1,000-event history is served often).
    plain: list[dict[str, Any]] = to_builtins(list(entries))
    for item in plain:
        del item["entry_hash"]
    hashed = encode_canonical_many(plain)
    return all(
        sha256(HISTORY_DOMAIN + body).hex() == entry.entry_hash
        for body, entry in zip(hashed, entries, strict=True)
    )
