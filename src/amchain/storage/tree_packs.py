"""State-tree nodes in packs: how a block's new nodes are stored, and the cached reader.

A pack holds 32 consecutive node ids (``tree_node_packs``): a block creates ~12 nodes per
written key, and one row per pack instead of one per node halves the cost of storing them;
nodes created together (a path rebuilt by one write) are read together.
"""

from __future__ import annotations

import itertools
import sqlite3
import struct
from collections.abc import Callable, Iterable, Sequence

from amchain.storage.connection import in_list_chunks
from amchain.storage.errors import StorageError

__all__ = [
    "COMPILED_PACK_READER",
    "TREE_PACK_BITS",
    "TREE_PACK_NODES",
    "TreeNodeCache",
    "find_packed_nodes",
    "find_packed_nodes_in_python",
    "pack_stored_nodes",
    "pack_tree_nodes",
]

TREE_PACK_BITS = 5
TREE_PACK_NODES = 1 << TREE_PACK_BITS  # node ids per pack: pack p holds ids 32p .. 32p + 31

_PACK_HEADER = struct.Struct(f"<{TREE_PACK_NODES + 1}I")
_PACK_SLOT = struct.Struct("<II")
_PACK_MASK = TREE_PACK_NODES - 1


def pack_tree_nodes(first_id: int, nodes: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Return the ``(pack, bytes)`` rows that store ``nodes``, whose ids are ``first_id``,
    ``first_id + 1``, ... (as :class:`amchain.ledger.TreeUpdate` holds a block's new nodes).

    A pack holds the nodes whose ids share ``id >> TREE_PACK_BITS``::

        offsets  (TREE_PACK_NODES + 1) x uint32, little-endian
        payload  the nodes' encodings, in slot order

    Slot ``s`` is ``payload[offsets[s]:offsets[s + 1]]``; an empty range is an id with no
    node (a node's encoding is never empty).

    Raises:
        StorageError: a node's encoding is empty.
    """
    rows: list[tuple[int, bytes]] = []
    at, count = 0, len(nodes)
    while at < count:
        node_id = first_id + at
        slot = node_id & _PACK_MASK
        chunk = list(nodes[at : at + TREE_PACK_NODES - slot])
        if not all(chunk):
            empty = node_id + chunk.index(b"")
            raise StorageError(f"state-tree node {empty} is empty; it cannot be stored")
        rows.append((node_id >> TREE_PACK_BITS, _encode_pack([b""] * slot + chunk)))
        at += len(chunk)
    return rows


def pack_stored_nodes(nodes: Iterable[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """:func:`pack_tree_nodes` for ``(id, encoding)`` pairs in ascending id order, with
    gaps allowed (the upgrade from schema 3, whose nodes were stored one per row).

    Raises:
        StorageError: a node's encoding is empty.
    """
    rows: list[tuple[int, bytes]] = []
    for pack, group in itertools.groupby(nodes, lambda node: node[0] >> TREE_PACK_BITS):
        slots = [b""] * TREE_PACK_NODES
        for node_id, data in group:
            if not data:
                raise StorageError(f"state-tree node {node_id} is empty; it cannot be stored")
            slots[node_id & _PACK_MASK] = data
        rows.append((pack, _encode_pack(slots)))
    return rows


def _encode_pack(slots: list[bytes]) -> bytes:
    """Return the pack whose slot ``s`` holds ``slots[s]`` (``b""`` and slots past the
    list's end: no node)."""
    offsets = list(itertools.accumulate(map(len, slots), initial=0))
    offsets += [offsets[-1]] * (TREE_PACK_NODES + 1 - len(offsets))
    return _PACK_HEADER.pack(*offsets) + b"".join(slots)


def find_packed_nodes_in_python(
    packs: dict[int, bytes], node_ids: Sequence[int]
) -> tuple[dict[int, bytes], list[int]]:
    """Return the nodes with these ids found in ``packs`` (ids whose slot is empty are left
    out) and the ids whose pack is not in ``packs``: the reference the compiled
    ``_tree_packs.find_packed_nodes`` follows, and what runs where it could not be built.

    Raises:
        StorageError: a pack holding one of them is malformed.
    """
    found: dict[int, bytes] = {}
    absent: list[int] = []
    header = _PACK_HEADER.size
    for node_id in node_ids:
        pack = node_id >> TREE_PACK_BITS
        data = packs.get(pack)
        if data is None:
            absent.append(node_id)
            continue
        payload = len(data) - header
        start, end = (1, 0)  # a pack shorter than its header: malformed
        if payload >= 0:
            start, end = _PACK_SLOT.unpack_from(data, 4 * (node_id & _PACK_MASK))
        if start == end:
            continue
        if not start < end <= payload:
            raise StorageError(f"state-tree pack {pack} is malformed ({len(data)} bytes)")
        found[node_id] = data[header + start : header + end]
    return found, absent


def _load_compiled_find() -> Callable[..., tuple[dict[int, bytes], list[int]]] | None:
    """The node lookup compiled at install (it needs a C compiler)."""
    try:
        from amchain.storage._tree_packs import find_packed_nodes
    except ImportError:  # pragma: no cover - the pure-Python lookup does the same work
        return None
    return find_packed_nodes


_compiled_find = _load_compiled_find()
COMPILED_PACK_READER = _compiled_find is not None
"""Whether the readers of state-tree packs run the compiled lookup."""


def find_packed_nodes(
    packs: dict[int, bytes], node_ids: Sequence[int]
) -> tuple[dict[int, bytes], list[int]]:
    if _compiled_find is None:
        return find_packed_nodes_in_python(packs, node_ids)
    return _compiled_find(packs, node_ids, TREE_PACK_BITS, StorageError)


class TreeNodeCache:
    """State-tree nodes read through one connection (a :class:`amchain.ledger.TreeNodeReader`).

    Packs never change once written, so the reader keeps them in two bounded caches, each
    first in, first out (when one is full its older half goes):

    - the packs the block producer wrote (:meth:`remember`): the last blocks' packs hold the
      latest version of the top of the tree, which every block reads again;
    - the packs read from the database: mostly the old, deep parts of single paths, rarely
      wanted again soon. Kept apart so they do not push the first kind out (a block reads
      ~8 times as many packs as it writes).

    An API request's reader has only the second: it reads a proof's path in a few packs,
    not one query per level.
    """

    __slots__ = ("_conn", "_read", "_read_limit", "_written", "_written_limit")

    def __init__(self, conn: sqlite3.Connection, written_packs: int, read_packs: int) -> None:
        self._conn = conn
        self._written: dict[int, bytes] = {}
        self._written_limit = written_packs
        self._read: dict[int, bytes] = {}
        self._read_limit = read_packs

    def get_tree_nodes(self, node_ids: Sequence[int]) -> dict[int, bytes]:
        """Return the encoded nodes with these ids (ids that do not exist are left out).

        Raises:
            StorageError: a pack holding one of them is malformed.
        """
        found, absent = find_packed_nodes(self._written, node_ids)
        if absent:
            more, absent = find_packed_nodes(self._read, absent)
            found.update(more)
        if absent:
            missing = list(dict.fromkeys(i >> TREE_PACK_BITS for i in absent))
            _make_room(self._read, self._read_limit, len(missing))
            for marks, chunk in in_list_chunks(missing):
                self._read.update(
                    self._conn.execute(
                        f"SELECT pack, nodes FROM tree_node_packs WHERE pack IN ({marks})", chunk
                    ).fetchall()
                )
            found.update(find_packed_nodes(self._read, absent)[0])
        return found

    def remember(self, packs: list[tuple[int, bytes]]) -> None:
        """Keep packs just written (the next block's paths start from them)."""
        _make_room(self._written, self._written_limit, len(packs))
        self._written.update(packs)

    def forget_written(self) -> None:
        """Drop the packs kept by :meth:`remember` (a block batch holding some of them was
        rolled back, and their ids will be written again with other nodes)."""
        self._written.clear()


def _make_room(cache: dict[int, bytes], limit: int, incoming: int) -> None:
    """If ``incoming`` more packs would overfill ``cache``, drop its oldest packs so that
    it is half full with them."""
    if len(cache) + incoming > limit:
        for pack in list(itertools.islice(cache, len(cache) + incoming - limit // 2)):
            del cache[pack]
