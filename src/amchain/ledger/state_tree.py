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
import itertools
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import msgspec


def _load_compiled_update() -> Callable[..., tuple[bytes, int, list[bytes]]] | None:
    """The update loop compiled at install (it needs a C compiler and OpenSSL's headers)."""
    try:
        from amchain.ledger._tree_update import apply_sorted_updates
    except ImportError:  # pragma: no cover - the pure-Python loop does the same work
        return None
    return apply_sorted_updates


_apply_sorted_updates = _load_compiled_update()
COMPILED_UPDATE = _apply_sorted_updates is not None
"""Whether :func:`apply_state_updates` runs the compiled loop."""

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
    """The result of applying one batch: the new root and the nodes to store.

    The new nodes' ids are consecutive: ``new_nodes[i]`` has id ``first_node_id + i``.
    (A block creates ~12,000 nodes at a million keys; an ``(id, node)`` pair for each cost
    the block producer ~3 us per written key.)
    """

    root: TreeRoot
    first_node_id: int
    new_nodes: list[bytes]

    @property
    def next_node_id(self) -> int:
        """The id the next batch's first new node gets."""
        return self.first_node_id + len(self.new_nodes)

    def numbered_nodes(self) -> Iterator[tuple[int, bytes]]:
        """Return the new nodes as ``(id, encoding)`` pairs."""
        return zip(itertools.count(self.first_node_id), self.new_nodes)


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
# This is the block producer's hot path: at a million keys a block of 1,000 writes reaches
# about 11,500 stored nodes and creates about 12,400. So it is written for CPython's sake:
# every stored node is read (one reader call per tree level) and decoded once; below the
# top levels, where each write has a path of its own, the walk down is recorded while
# reading and the rebuild up is a loop, not a recursion; a subtree is a plain
# ``(hash, id, is_leaf)`` tuple; and a new node's encoding and hash are computed in place.

_Ref = tuple[bytes, int, int]
"""A subtree as its parent sees it: (hash, node id or 0 if empty, 1 if a leaf else 0)."""

_Passed = tuple[bytes, int, int, int]
"""An internal node on a single write's path, seen from below: (sibling hash, sibling id,
1 if the sibling is a leaf, 1 if the path goes right)."""

_EMPTY_REF: _Ref = (EMPTY_SUBTREE, EMPTY_NODE_ID, 0)
_pack_internal = _INTERNAL_LAYOUT.pack
_unpack_internal = _INTERNAL_LAYOUT.unpack
_bisect_left = bisect.bisect_left


class _Batch:
    """One block's update: its writes sorted by path, what the walk down the stored tree
    found, and the nodes it creates."""

    __slots__ = (
        "ends",
        "first_id",
        "internal",
        "leaves",
        "new_nodes",
        "path_bytes",
        "paths",
        "values",
        "walks",
    )

    def __init__(self, updates: Iterable[tuple[str, bytes | None]], first_id: int) -> None:
        self.path_bytes, self.values = _sorted_writes(updates)
        self.paths = [int.from_bytes(p, "big") for p in self.path_bytes]
        # Filled by _walk_down. An internal node that two or more writes reach:
        # (flags, left_hash, right_hash, left_id, right_id, mid), where ``mid`` is the first
        # of those writes that goes right. A leaf: (its path as an integer, value_hash).
        self.internal: dict[int, tuple[int, bytes, bytes, int, int, int]] = {}
        self.leaves: dict[int, tuple[int, bytes]] = {}
        # For write i, once it is the only write on its path: the internal nodes it passes
        # from there on (walks[i]), and where its path ends (ends[i]: empty or a leaf).
        self.walks: dict[int, list[_Passed]] = {}
        self.ends: dict[int, _Ref] = {}
        # The encodings of the nodes created, in order; their ids follow from first_id.
        self.new_nodes: list[bytes] = []
        self.first_id = first_id

    def add_leaf(self, index: int, value_hash: bytes | None = None) -> _Ref:
        """Create the leaf for write ``index`` (which sets a value whose hash is
        ``value_hash``, when already computed)."""
        value = self.values[index]
        assert value is not None
        if value_hash is None:
            value_hash = _sha256(value).digest()
        head = LEAF_PREFIX + self.path_bytes[index] + value_hash
        self.new_nodes.append(head + value)
        return _sha256(head).digest(), self.first_id + len(self.new_nodes) - 1, 1

    def join(self, left: _Ref, right: _Ref) -> _Ref:
        """Return the subtree whose children are ``left`` and ``right``, creating its node
        unless compaction says otherwise (the same rule is inline in the update loops)."""
        if right[1] == EMPTY_NODE_ID:
            if left[1] == EMPTY_NODE_ID or left[2]:
                return left  # nothing, or a lone leaf that moves up
        elif left[1] == EMPTY_NODE_ID and right[2]:
            return right
        data = _pack_internal(
            INTERNAL_PREFIX, left[0], right[0], left[2] | right[2] << 1, left[1], right[1]
        )
        self.new_nodes.append(data)
        return _sha256(data[:65]).digest(), self.first_id + len(self.new_nodes) - 1, 0


def _sorted_writes(
    updates: Iterable[tuple[str, bytes | None]],
) -> tuple[list[bytes], list[bytes | None]]:
    """The batch's paths, sorted, and the value each sets (the last write of a key wins)."""
    by_path: dict[bytes, bytes | None] = {}
    for key, value in updates:
        by_path[_sha256(key.encode()).digest()] = value
    paths = sorted(by_path)
    return paths, [by_path[p] for p in paths]


def _split(paths: list[int], lo: int, hi: int, depth: int) -> int:
    """Return the first index in the sorted ``paths[lo:hi]`` (which agree on their first
    ``depth`` bits) whose bit ``depth`` is set."""
    shift = KEY_BITS - 1 - depth
    return _bisect_left(paths, ((paths[lo] >> shift) | 1) << shift, lo, hi)


def _walk_down(batch: _Batch, reader: TreeNodeReader, root: TreeRoot) -> None:
    """Read and decode every stored node the batch's paths reach, one reader call per tree
    level, noting where the batch splits and, once a write is alone on its path, the path.

    Raises:
        StateTreeError: a node is missing or malformed, or is not the kind its parent says.
    """
    paths = batch.paths
    internal = batch.internal
    walks = batch.walks
    ends = batch.ends
    internal_size = _INTERNAL_LAYOUT.size
    # A level's nodes that two or more writes reach: (id, 1 if the parent says it is a leaf
    # / 0 if internal / -1 for the root, first write reaching it, end of those writes).
    shared: list[tuple[int, int, int, int]] = []
    # A level's nodes that one write reaches: (id, is a leaf, the write, its walks entry).
    alone: list[tuple[int, int, int, list[_Passed]]] = []
    if root.node_id and len(paths) == 1:
        walks[0] = []
        alone.append((root.node_id, -1, 0, walks[0]))
    elif root.node_id:
        shared.append((root.node_id, -1, 0, len(paths)))
    depth = 0
    while shared or alone:
        found = reader.get_tree_nodes([e[0] for e in shared] + [e[0] for e in alone])
        next_shared: list[tuple[int, int, int, int]] = []
        next_alone: list[tuple[int, int, int, list[_Passed]]] = []
        for node_id, is_leaf, lo, hi in shared:
            data = found.get(node_id)
            if not (
                data is not None
                and len(data) == internal_size
                and data[0] == _INTERNAL
                and is_leaf != 1
                and depth < KEY_BITS
            ):
                _note_leaf(batch, node_id, data, is_leaf, depth)
                continue
            _, left_hash, right_hash, flags, left_id, right_id = _unpack_internal(data)
            mid = _split(paths, lo, hi, depth)
            internal[node_id] = (flags, left_hash, right_hash, left_id, right_id, mid)
            for child_id, child_leaf, child_lo, child_hi in (
                (left_id, flags & 1, lo, mid),
                (right_id, flags >> 1 & 1, mid, hi),
            ):
                if child_id == EMPTY_NODE_ID or child_lo == child_hi:
                    continue
                if child_hi - child_lo == 1:
                    walks[child_lo] = []
                    next_alone.append((child_id, child_leaf, child_lo, walks[child_lo]))
                else:
                    next_shared.append((child_id, child_leaf, child_lo, child_hi))
        # Below the top levels almost every node is on one write's path: record the walk.
        shift = KEY_BITS - 1 - depth
        for node_id, is_leaf, lo, walk in alone:
            data = found.get(node_id)
            if not (
                data is not None
                and len(data) == internal_size
                and data[0] == _INTERNAL
                and is_leaf != 1
                and depth < KEY_BITS
            ):
                _note_leaf(batch, node_id, data, is_leaf, depth)
                continue
            _, left_hash, right_hash, flags, left_id, right_id = _unpack_internal(data)
            if paths[lo] >> shift & 1:
                walk.append((left_hash, left_id, flags & 1, 1))
                if right_id == EMPTY_NODE_ID or flags & 2:
                    ends[lo] = (right_hash, right_id, flags >> 1 & 1)
                if right_id:
                    next_alone.append((right_id, flags >> 1 & 1, lo, walk))
            else:
                walk.append((right_hash, right_id, flags >> 1 & 1, 0))
                if left_id == EMPTY_NODE_ID or flags & 1:
                    ends[lo] = (left_hash, left_id, flags & 1)
                if left_id:
                    next_alone.append((left_id, flags & 1, lo, walk))
        shared, alone = next_shared, next_alone
        depth += 1


def _note_leaf(batch: _Batch, node_id: int, data: bytes | None, is_leaf: int, depth: int) -> None:
    """Keep a leaf the walk reached, or raise if the stored node is not one.

    Raises:
        StateTreeError: the node is missing, malformed, or not the kind its parent says.
    """
    if data is None or data[:1] != LEAF_PREFIX or len(data) < 65 or not is_leaf:
        raise _stored_node_error(node_id, data, depth)
    batch.leaves[node_id] = (int.from_bytes(data[1:33], "big"), data[33:65])


def _stored_node_error(node_id: int, data: bytes | None, depth: int) -> StateTreeError:
    if data is None:
        return StateTreeError(f"state tree node {node_id} is missing from storage")
    if depth >= KEY_BITS and data[:1] == INTERNAL_PREFIX:
        return StateTreeError("state tree is deeper than a key's 256 bits")
    return StateTreeError(
        f"stored tree node {node_id} is malformed or not the kind its parent says "
        f"({len(data)} bytes)"
    )


def _update(batch: _Batch, tree: _Ref, depth: int, lo: int, hi: int) -> _Ref:
    """Return the subtree at ``depth`` that was ``tree``, once writes [lo, hi) (all of
    which pass through it; two or more) are applied."""
    node_hash, node_id, is_leaf = tree
    if node_id == EMPTY_NODE_ID:
        return _build(batch, depth, lo, hi, None)
    if is_leaf:
        path, _ = batch.leaves[node_id]
        return _build(batch, depth, lo, hi, (path, node_hash, node_id))
    flags, left_hash, right_hash, left_id, right_id, mid = batch.internal[node_id]
    left = (left_hash, left_id, flags & 1)
    if lo < mid:
        left = (_update_path if mid - lo == 1 else _update)(batch, left, depth + 1, lo, mid)
    right = (right_hash, right_id, flags >> 1 & 1)
    if mid < hi:
        right = (_update_path if hi - mid == 1 else _update)(batch, right, depth + 1, mid, hi)
    if left[0] == left_hash and right[0] == right_hash:
        return tree  # the writes left this subtree as it was
    return batch.join(left, right)


def _update_path(batch: _Batch, tree: _Ref, depth: int, lo: int, hi: int) -> _Ref:
    """:func:`_update` for a single write (``hi == lo + 1``): change where its path ends,
    then rebuild the nodes it passed (recorded by :func:`_walk_down`), bottom up."""
    walk = batch.walks.get(lo) or []
    end_hash, end_id, _ = batch.ends[lo] if walk else tree  # empty or a leaf
    depth += len(walk)
    value = batch.values[lo]
    if end_id == EMPTY_NODE_ID:
        if value is None:
            return tree  # deleting a key that is absent
        new_hash, new_id, new_leaf = batch.add_leaf(lo)
    else:
        end_path, end_value_hash = batch.leaves[end_id]
        if end_path != batch.paths[lo]:
            if value is None:
                return tree  # deleting a key that is absent
            new_hash, new_id, new_leaf = _build(batch, depth, lo, hi, (end_path, end_hash, end_id))
        elif value is None:
            new_hash, new_id, new_leaf = _EMPTY_REF
        else:
            value_hash = _sha256(value).digest()
            if value_hash == end_value_hash:
                return tree  # rewritten with the value it already had
            new_hash, new_id, new_leaf = batch.add_leaf(lo, value_hash)
    # Every node passed changes; compaction as in _Batch.join.
    add_node = batch.new_nodes.append
    next_id = batch.first_id + len(batch.new_nodes)
    for sibling_hash, sibling_id, sibling_leaf, went_right in reversed(walk):
        if sibling_id == EMPTY_NODE_ID:
            if new_id == EMPTY_NODE_ID or new_leaf:
                continue  # nothing, or a lone leaf that moves up
        elif new_id == EMPTY_NODE_ID and sibling_leaf:
            new_hash, new_id, new_leaf = sibling_hash, sibling_id, 1
            continue
        if went_right:
            data = _pack_internal(
                INTERNAL_PREFIX,
                sibling_hash,
                new_hash,
                sibling_leaf | new_leaf << 1,
                sibling_id,
                new_id,
            )
        else:
            data = _pack_internal(
                INTERNAL_PREFIX,
                new_hash,
                sibling_hash,
                new_leaf | sibling_leaf << 1,
                new_id,
                sibling_id,
            )
        add_node(data)
        new_hash, new_id, new_leaf = _sha256(data[:65]).digest(), next_id, 0
        next_id += 1
    return new_hash, new_id, new_leaf


def _build(
    batch: _Batch, depth: int, lo: int, hi: int, leaf: tuple[int, bytes, int] | None
) -> _Ref:
    """Return the subtree at ``depth`` holding the values that writes [lo, hi) set and,
    unless a write replaces or deletes it, the existing ``leaf`` ``(path, hash, id)``."""
    paths = batch.paths
    values = batch.values
    # The paths to place (sorted) and, for each, its write's index or -1 for the leaf.
    placed = [paths[i] for i in range(lo, hi) if values[i] is not None]
    writes = [i for i in range(lo, hi) if values[i] is not None]
    if leaf is not None:
        at = _bisect_left(paths, leaf[0], lo, hi)
        if at == hi or paths[at] != leaf[0]:  # the batch does not touch the leaf's key
            at = _bisect_left(placed, leaf[0])
            placed.insert(at, leaf[0])
            writes.insert(at, -1)
    return _build_placed(batch, depth, placed, writes, 0, len(placed), leaf)


def _build_placed(
    batch: _Batch,
    depth: int,
    placed: list[int],
    writes: list[int],
    lo: int,
    hi: int,
    leaf: tuple[int, bytes, int] | None,
) -> _Ref:
    if lo == hi:
        return _EMPTY_REF
    if hi - lo == 1:
        if writes[lo] < 0:
            assert leaf is not None
            return leaf[1], leaf[2], 1
        return batch.add_leaf(writes[lo])
    mid = _split(placed, lo, hi, depth)
    left = _build_placed(batch, depth + 1, placed, writes, lo, mid, leaf)
    right = _build_placed(batch, depth + 1, placed, writes, mid, hi, leaf)
    return batch.join(left, right)


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

    Runs the compiled loop (``_tree_update.c``) when it was built, else
    :func:`apply_state_updates_in_python`; both give the same root, nodes and ids.

    Raises:
        StateTreeError: a node ``root`` reaches is missing or malformed in storage.
    """
    if _apply_sorted_updates is None:
        return apply_state_updates_in_python(nodes, root, updates, next_node_id=next_node_id)
    paths, values = _sorted_writes(updates)
    if not paths:
        return TreeUpdate(root, next_node_id, [])
    new_hash, new_id, new_nodes = _apply_sorted_updates(
        paths, values, root.hash, root.node_id, nodes.get_tree_nodes, next_node_id, StateTreeError
    )
    return TreeUpdate(TreeRoot(new_hash, new_id), next_node_id, new_nodes)


def apply_state_updates_in_python(
    nodes: TreeNodeReader,
    root: TreeRoot,
    updates: Iterable[tuple[str, bytes | None]],
    *,
    next_node_id: int,
) -> TreeUpdate:
    """:func:`apply_state_updates` in pure Python: the reference the compiled loop follows
    node for node, and what runs where it could not be built.

    Raises:
        StateTreeError: a node ``root`` reaches is missing or malformed in storage.
    """
    batch = _Batch(updates, next_node_id)
    if not batch.paths:
        return TreeUpdate(root, next_node_id, [])
    _walk_down(batch, nodes, root)
    tree = (root.hash, root.node_id, 1 if root.node_id in batch.leaves else 0)
    update = _update_path if len(batch.paths) == 1 else _update
    new_hash, new_id, _ = update(batch, tree, 0, 0, len(batch.paths))
    return TreeUpdate(TreeRoot(new_hash, new_id), next_node_id, batch.new_nodes)


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
        if node[0] != _LEAF and depth >= KEY_BITS:
            raise StateTreeError("state tree is deeper than a key's 256 bits")
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
    if len(data) < offset:
        raise ValueError("proof is shorter than its bitmap")
    bitmap = data[3:offset]
    if depth % 8 and bitmap[-1] & (0xFF >> (depth % 8)):
        # Bits past the depth must be zero, so that a proof has exactly one encoding.
        raise ValueError("proof bitmap has bits set past its depth")
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
        nodes = self.nodes
        return {i: nodes[i] for i in node_ids if i in nodes}

    def apply(self, updates: Iterable[tuple[str, bytes | None]]) -> TreeRoot:
        """Apply a batch and keep its nodes; return the new root."""
        result = apply_state_updates(self, self.root, updates, next_node_id=self.next_node_id)
        self.nodes.update(result.numbered_nodes())
        self.next_node_id = result.next_node_id
        self.root = result.root
        return result.root


def compute_state_root_of(items: Iterable[tuple[str, bytes]]) -> bytes:
    """Return the root of the tree holding exactly ``items`` (the reference definition)."""
    tree = MemoryTreeNodes()
    return tree.apply(items).hash
