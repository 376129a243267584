"""The authenticated state tree: a compacted sparse Merkle tree over SHA-256 of the keys.

Definition (what every peer and every light client computes):

- a key's *path* is ``SHA-256(key as UTF-8)``, read as 256 bits, most significant first;
- a *leaf* hashes to ``H(0x00 || key_hash || value_hash)`` with ``value_hash = H(value)``;
- a subtree holding no leaf hashes to :data:`EMPTY_SUBTREE` (32 zero bytes);
- a subtree holding exactly one leaf hashes to that leaf's hash: a lone leaf is not pushed
  down to depth 256 but sits where its path first parts from every other key (compaction,
  as in Diem's and Aptos' Jellyfish Merkle tree), so a path is about log2(n) nodes long;
- a subtree holding two or more leaves hashes to ``H(0x01 || left || right)``.

The root therefore depends only on the set of ``(key, value)`` pairs, never on the order in
which they were written.

Versioning. Nodes are immutable and numbered in the order they are created; an update never
changes a node, it creates the new path and shares every untouched subtree with the previous
version. A block's root node id is kept beside the block, so every retained height stays
provable after later updates. Updates are applied as one batch per block
(:func:`apply_state_updates`); the nodes it creates are returned to the caller to be stored
in the same database transaction as the block.

Node encodings (what storage keeps; the hashes above are what a proof commits to)::

    leaf      0x00 | key_hash(32) | value_hash(32) | value
    internal  0x01 | left_hash(32) | right_hash(32) | flags(1) | left_id(8) | right_id(8)

so a node's hash is SHA-256 of its first 65 stored bytes. ``flags`` bit 0 / bit 1 say whether
the left / right child is a leaf; id 0 is the empty subtree. Leaves keep their value so that
a proof at an older height can return the value the key had then.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import msgspec

EMPTY_SUBTREE = bytes(32)
"""The hash of a subtree with no leaves, and the root of the empty state."""

KEY_BITS = 256
LEAF_PREFIX = b"\x00"
INTERNAL_PREFIX = b"\x01"
EMPTY_NODE_ID = 0

_LEAF = 0
_INTERNAL = 1
_sha256 = hashlib.sha256
_INTERNAL_LAYOUT = struct.Struct(">c32s32sBQQ")

# A decoded node. Leaf: (0, key_hash, value_hash, value). Internal: (1, flags, left_hash,
# right_hash, left_id, right_id). Plain tuples: the update loop touches tens of thousands
# of them per block.
_Node = tuple[Any, ...]


class StateTreeError(ValueError):
    """The tree's stored nodes are missing or malformed (a storage fault, not bad input)."""


class TreeNodeReader(Protocol):
    """Where the tree's nodes live (the storage layer implements it)."""

    def get_tree_nodes(self, node_ids: Sequence[int]) -> dict[int, bytes]:
        """Return the encoded nodes with these ids (ids that do not exist are left out)."""
        ...


class TreeRoot(msgspec.Struct, frozen=True):
    """A version of the tree: its root hash and the id of its root node (0 when empty)."""

    hash: bytes
    node_id: int


EMPTY_TREE = TreeRoot(EMPTY_SUBTREE, EMPTY_NODE_ID)


class TreeUpdate(msgspec.Struct, frozen=True):
    """The result of applying one batch: the new root and the nodes to store."""

    root: TreeRoot
    new_nodes: list[tuple[int, bytes]]
    next_node_id: int


class StateProof(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Proof that a key holds a value, or holds nothing, under a state root.

    ``siblings`` are the sibling hashes from the root down to where the key's path ends, in
    lowercase hex, ``None`` for an empty sibling. The path ends either at the key's own leaf
    (inclusion), at an empty subtree, or at another key's leaf whose path shares those first
    bits (``other_leaf`` = that leaf's ``[key_hash, value_hash]``; non-inclusion).
    """

    siblings: list[str | None]
    other_leaf: list[str] | None = None


# -- hashing -------------------------------------------------------------------------------
def hash_key(key: str) -> bytes:
    """Return a state key's path in the tree: SHA-256 of its UTF-8 bytes."""
    return _sha256(key.encode()).digest()


def hash_value(value: bytes) -> bytes:
    """Return the hash a leaf commits to for ``value``."""
    return _sha256(value).digest()


def hash_leaf(key_hash: bytes, value_hash: bytes) -> bytes:
    """Return the hash of a leaf."""
    return _sha256(LEAF_PREFIX + key_hash + value_hash).digest()


def hash_internal(left: bytes, right: bytes) -> bytes:
    """Return the hash of an internal node."""
    return _sha256(INTERNAL_PREFIX + left + right).digest()


def _bit(path: int, depth: int) -> int:
    return (path >> (KEY_BITS - 1 - depth)) & 1


# -- node encoding -------------------------------------------------------------------------
def encode_leaf_node(key_hash: bytes, value_hash: bytes, value: bytes) -> bytes:
    """Return the stored form of a leaf."""
    return LEAF_PREFIX + key_hash + value_hash + value


def encode_internal_node(left: tuple[bytes, int, bool], right: tuple[bytes, int, bool]) -> bytes:
    """Return the stored form of an internal node from its children's (hash, id, is_leaf)."""
    flags = (1 if left[2] else 0) | (2 if right[2] else 0)
    return _INTERNAL_LAYOUT.pack(INTERNAL_PREFIX, left[0], right[0], flags, left[1], right[1])


def decode_node(data: bytes) -> _Node:
    """Return the decoded form of a stored node.

    Raises:
        StateTreeError: the bytes are not a node.
    """
    kind = data[:1]
    if kind == LEAF_PREFIX and len(data) >= 65:
        return (_LEAF, data[1:33], data[33:65], data[65:])
    if kind == INTERNAL_PREFIX and len(data) == _INTERNAL_LAYOUT.size:
        _, left_hash, right_hash, flags, left_id, right_id = _INTERNAL_LAYOUT.unpack(data)
        return (_INTERNAL, flags, left_hash, right_hash, left_id, right_id)
    raise StateTreeError(f"stored tree node is malformed ({len(data)} bytes)")


# -- batch update ------------------------------------------------------------------------
class _Batch:
    """One block's update: sorted paths, the nodes it reads, the nodes it creates."""

    __slots__ = ("cache", "new_nodes", "next_id", "path_bytes", "paths", "values")

    def __init__(self, updates: Iterable[tuple[str, bytes | None]], next_id: int) -> None:
        by_path: dict[bytes, bytes | None] = {}
        for key, value in updates:
            by_path[hash_key(key)] = value
        ordered = sorted(by_path)
        self.path_bytes = ordered
        self.paths = [int.from_bytes(p, "big") for p in ordered]
        self.values = [by_path[p] for p in ordered]
        self.cache: dict[int, _Node] = {}
        self.new_nodes: list[tuple[int, bytes]] = []
        self.next_id = next_id

    def split(self, lo: int, hi: int, depth: int) -> int:
        """Return the first index in [lo, hi) whose path has bit ``depth`` set."""
        shift = KEY_BITS - depth
        threshold = ((self.paths[lo] >> shift) << shift) | (1 << (shift - 1))
        return bisect.bisect_left(self.paths, threshold, lo, hi)

    def add_node(self, data: bytes) -> int:
        node_id = self.next_id
        self.next_id += 1
        self.new_nodes.append((node_id, data))
        return node_id

    def make_leaf(self, index: int) -> tuple[bytes, int, bool]:
        key_hash = self.path_bytes[index]
        value = self.values[index]
        assert value is not None
        value_hash = _sha256(value).digest()
        node_hash = _sha256(LEAF_PREFIX + key_hash + value_hash).digest()
        return node_hash, self.add_node(LEAF_PREFIX + key_hash + value_hash + value), True

    def combine(
        self, left: tuple[bytes, int, bool], right: tuple[bytes, int, bool]
    ) -> tuple[bytes, int, bool]:
        if right[1] == EMPTY_NODE_ID:
            if left[1] == EMPTY_NODE_ID or left[2]:
                return left  # nothing, or a lone leaf that moves up
        elif left[1] == EMPTY_NODE_ID and right[2]:
            return right
        data = encode_internal_node(left, right)
        node_id = self.next_id
        self.next_id += 1
        self.new_nodes.append((node_id, data))
        return _sha256(memoryview(data)[:65]).digest(), node_id, False


def _prefetch(batch: _Batch, nodes: TreeNodeReader, root: TreeRoot) -> None:
    """Read, one query per tree level, every stored node the batch's paths pass through."""
    level = [(root.node_id, 0, 0, len(batch.paths))] if root.node_id else []
    cache = batch.cache
    while level:
        missing = [node_id for node_id, _, _, _ in level if node_id not in cache]
        if missing:
            found = nodes.get_tree_nodes(missing)
            for node_id in missing:
                data = found.get(node_id)
                if data is None:
                    raise StateTreeError(f"state tree node {node_id} is missing from storage")
                cache[node_id] = decode_node(data)
        following: list[tuple[int, int, int, int]] = []
        for node_id, depth, lo, hi in level:
            node = cache[node_id]
            if node[0] != _INTERNAL:
                continue
            mid = batch.split(lo, hi, depth)
            if lo < mid and node[4]:
                following.append((node[4], depth + 1, lo, mid))
            if mid < hi and node[5]:
                following.append((node[5], depth + 1, mid, hi))
        level = following


def _build(
    batch: _Batch,
    depth: int,
    lo: int,
    hi: int,
    existing: tuple[int, bytes, int] | None,
) -> tuple[bytes, int, bool]:
    """Build the subtree at ``depth`` holding the batch's set values in [lo, hi) and,
    unless the batch rewrites its key, the ``existing`` leaf ``(path, hash, id)``."""
    entries: list[tuple[int, int]] = []  # (path, batch index or -1 for the existing leaf)
    for i in range(lo, hi):
        if batch.values[i] is not None:
            entries.append((batch.paths[i], i))
    if existing is not None:
        at = bisect.bisect_left(batch.paths, existing[0], lo, hi)
        if at == hi or batch.paths[at] != existing[0]:
            bisect.insort(entries, (existing[0], -1))
    return _build_entries(batch, depth, entries, 0, len(entries), existing)


def _build_entries(
    batch: _Batch,
    depth: int,
    entries: list[tuple[int, int]],
    lo: int,
    hi: int,
    existing: tuple[int, bytes, int] | None,
) -> tuple[bytes, int, bool]:
    if lo == hi:
        return EMPTY_SUBTREE, EMPTY_NODE_ID, False
    if hi - lo == 1:
        index = entries[lo][1]
        if index < 0:
            assert existing is not None
            return existing[1], existing[2], True
        return batch.make_leaf(index)
    shift = KEY_BITS - depth
    threshold = ((entries[lo][0] >> shift) << shift) | (1 << (shift - 1))
    mid = bisect.bisect_left(entries, (threshold, -2), lo, hi)
    left = _build_entries(batch, depth + 1, entries, lo, mid, existing)
    right = _build_entries(batch, depth + 1, entries, mid, hi, existing)
    return batch.combine(left, right)


def _update(
    batch: _Batch,
    child: tuple[bytes, int, bool],
    depth: int,
    lo: int,
    hi: int,
) -> tuple[bytes, int, bool]:
    if lo == hi:
        return child
    node_id = child[1]
    if node_id == EMPTY_NODE_ID:
        return _build(batch, depth, lo, hi, None)
    node = batch.cache[node_id]
    if node[0] == _LEAF:
        path = int.from_bytes(node[1], "big")
        if hi - lo == 1 and batch.paths[lo] == path:
            value = batch.values[lo]
            if value is not None and _sha256(value).digest() == node[2]:
                return child  # rewritten with the value it already had
        return _build(batch, depth, lo, hi, (path, child[0], node_id))
    _, flags, left_hash, right_hash, left_id, right_id = node
    if depth >= KEY_BITS:
        raise StateTreeError("state tree is deeper than a key's 256 bits")
    shift = KEY_BITS - depth
    threshold = ((batch.paths[lo] >> shift) << shift) | (1 << (shift - 1))
    mid = bisect.bisect_left(batch.paths, threshold, lo, hi)
    left = (
        _update(batch, (left_hash, left_id, bool(flags & 1)), depth + 1, lo, mid)
        if lo < mid
        else (left_hash, left_id, bool(flags & 1))
    )
    right = (
        _update(batch, (right_hash, right_id, bool(flags & 2)), depth + 1, mid, hi)
        if mid < hi
        else (right_hash, right_id, bool(flags & 2))
    )
    if left[0] == left_hash and right[0] == right_hash:
        return child  # the writes left this subtree as it was
    return batch.combine(left, right)


def apply_state_updates(
    nodes: TreeNodeReader,
    root: TreeRoot,
    updates: Iterable[tuple[str, bytes | None]],
    *,
    next_node_id: int,
) -> TreeUpdate:
    """Apply one block's writes (``None`` deletes) to the tree version ``root``.

    Returns the new root and the nodes to store; ``root`` and everything it reaches stay
    valid, so older versions remain provable. Node ids are assigned from ``next_node_id``.

    Raises:
        StateTreeError: a node ``root`` reaches is missing or malformed in storage.
    """
    batch = _Batch(updates, next_node_id)
    if not batch.paths:
        return TreeUpdate(root, [], next_node_id)
    _prefetch(batch, nodes, root)
    is_leaf = root.node_id != EMPTY_NODE_ID and batch.cache[root.node_id][0] == _LEAF
    new_hash, new_id, _ = _update(batch, (root.hash, root.node_id, is_leaf), 0, 0, len(batch.paths))
    return TreeUpdate(TreeRoot(new_hash, new_id), batch.new_nodes, batch.next_id)


# -- proofs ----------------------------------------------------------------------------------
def prove_state_key(
    nodes: TreeNodeReader, root: TreeRoot, key: str
) -> tuple[bytes | None, StateProof]:
    """Return the value ``key`` holds in the version ``root`` (None if absent) and its proof.

    Raises:
        StateTreeError: a node on the path is missing or malformed in storage.
    """
    path_bytes = hash_key(key)
    path = int.from_bytes(path_bytes, "big")
    siblings: list[str | None] = []
    node_id = root.node_id
    depth = 0
    while node_id != EMPTY_NODE_ID:
        data = nodes.get_tree_nodes([node_id]).get(node_id)
        if data is None:
            raise StateTreeError(f"state tree node {node_id} is missing from storage")
        node = decode_node(data)
        if node[0] == _LEAF:
            key_hash, value_hash, value = node[1], node[2], node[3]
            if key_hash == path_bytes:
                return value, StateProof(siblings)
            return None, StateProof(siblings, [key_hash.hex(), value_hash.hex()])
        _, _, left_hash, right_hash, left_id, right_id = node
        if _bit(path, depth):
            siblings.append(None if left_id == EMPTY_NODE_ID else left_hash.hex())
            node_id = right_id
        else:
            siblings.append(None if right_id == EMPTY_NODE_ID else right_hash.hex())
            node_id = left_id
        depth += 1
    return None, StateProof(siblings)


def compute_root_from_proof(key: str, value: bytes | None, proof: StateProof) -> bytes:
    """Return the root that ``proof`` yields for ``key`` holding ``value`` (None: absent).

    Raises:
        ValueError: the proof is malformed or cannot show this claim (too deep, a hash that
            is not 32 bytes of hex, another leaf given for an inclusion claim, or another
            leaf that is the key itself or is not on the key's path).
    """
    depth = len(proof.siblings)
    if depth > KEY_BITS:
        raise ValueError(f"proof has {depth} siblings; a path has at most {KEY_BITS}")
    key_hash = hash_key(key)
    path = int.from_bytes(key_hash, "big")
    if value is not None:
        if proof.other_leaf is not None:
            raise ValueError("an inclusion proof cannot end at another key's leaf")
        node = hash_leaf(key_hash, hash_value(value))
    elif proof.other_leaf is None:
        node = EMPTY_SUBTREE
    else:
        if len(proof.other_leaf) != 2:
            raise ValueError("other_leaf must be [key_hash, value_hash]")
        other_key, other_value = (_hash_from_hex(h) for h in proof.other_leaf)
        other_path = int.from_bytes(other_key, "big")
        if other_key == key_hash:
            raise ValueError("the leaf the proof ends at is the key itself: it is present")
        if depth and (other_path >> (KEY_BITS - depth)) != (path >> (KEY_BITS - depth)):
            raise ValueError("the leaf the proof ends at is not on the key's path")
        node = hash_leaf(other_key, other_value)
    for d in range(depth - 1, -1, -1):
        sibling_hex = proof.siblings[d]
        sibling = EMPTY_SUBTREE if sibling_hex is None else _hash_from_hex(sibling_hex)
        node = hash_internal(sibling, node) if _bit(path, d) else hash_internal(node, sibling)
    return node


def verify_state_proof(root: bytes, key: str, value: bytes | None, proof: StateProof) -> bool:
    """Return True if, under ``root``, ``key`` holds ``value`` (or nothing, for None)."""
    try:
        return compute_root_from_proof(key, value, proof) == root
    except ValueError:
        return False


def _hash_from_hex(text: str) -> bytes:
    if len(text) != 64:
        raise ValueError("a hash must be 64 hex digits")
    return bytes.fromhex(text)


def encode_state_proof(proof: StateProof) -> bytes:
    """Return the compact binary form of a proof (what a car stores or a radio carries).

    ``depth(2) | flags(1) | bitmap of non-empty siblings | those siblings | [other leaf]``.
    """
    depth = len(proof.siblings)
    bitmap = bytearray((depth + 7) // 8)
    hashes = bytearray()
    for i, sibling in enumerate(proof.siblings):
        if sibling is not None:
            bitmap[i // 8] |= 0x80 >> (i % 8)
            hashes += bytes.fromhex(sibling)
    other = (
        b"" if proof.other_leaf is None else b"".join(bytes.fromhex(h) for h in proof.other_leaf)
    )
    flags = 1 if proof.other_leaf is not None else 0
    return depth.to_bytes(2, "big") + bytes((flags,)) + bytes(bitmap) + bytes(hashes) + other


def decode_state_proof(data: bytes) -> StateProof:
    """Return the proof encoded by :func:`encode_state_proof`.

    Raises:
        ValueError: the bytes are not a proof.
    """
    if len(data) < 3:
        raise ValueError("proof is too short")
    depth = int.from_bytes(data[:2], "big")
    flags = data[2]
    if depth > KEY_BITS or flags > 1:
        raise ValueError("proof header is invalid")
    offset = 3 + (depth + 7) // 8
    bitmap = data[3:offset]
    siblings: list[str | None] = []
    for i in range(depth):
        if bitmap[i // 8] & (0x80 >> (i % 8)):
            siblings.append(data[offset : offset + 32].hex())
            offset += 32
        else:
            siblings.append(None)
    other_leaf = None
    if flags:
        other_leaf = [data[offset : offset + 32].hex(), data[offset + 32 : offset + 64].hex()]
        offset += 64
    if offset != len(data) or any(s is not None and len(s) != 64 for s in siblings):
        raise ValueError("proof length does not match its header")
    return StateProof(siblings, other_leaf)


# -- in-memory nodes (genesis checks, light clients, tests) ---------------------------------
class MemoryTreeNodes:
    """Tree nodes held in a dict; implements :class:`TreeNodeReader`."""

    def __init__(self) -> None:
        self.nodes: dict[int, bytes] = {}
        self.next_node_id = 1
        self.root = EMPTY_TREE

    def get_tree_nodes(self, node_ids: Sequence[int]) -> dict[int, bytes]:
        return {i: self.nodes[i] for i in node_ids if i in self.nodes}

    def apply(self, updates: Iterable[tuple[str, bytes | None]]) -> TreeRoot:
        """Apply a batch and keep its nodes; return the new root."""
        result = apply_state_updates(self, self.root, updates, next_node_id=self.next_node_id)
        self.nodes.update(result.new_nodes)
        self.next_node_id = result.next_node_id
        self.root = result.root
        return result.root


def compute_state_root_of(items: Iterable[tuple[str, bytes]]) -> bytes:
    """Return the root of the tree holding exactly ``items`` (the reference definition)."""
    tree = MemoryTreeNodes()
    return tree.apply(items).hash
