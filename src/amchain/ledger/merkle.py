"""Binary Merkle trees over byte strings, as in RFC 6962 (Certificate Transparency).

Leaves and inner nodes are hashed with different prefixes (0x00, 0x01) so that a leaf can
never pass for a subtree. An unbalanced tree splits at the largest power of two below n.
"""

from __future__ import annotations

from amchain.crypto import sha256

EMPTY_ROOT = sha256(b"")


def hash_leaf(data: bytes) -> bytes:
    """Return the hash of one leaf."""
    return sha256(b"\x00" + data)


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the hash of an inner node."""
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_of_hashes(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return hash_children(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def compute_merkle_root(leaves: list[bytes]) -> bytes:
    """Return the Merkle root of ``leaves`` (SHA-256 of the empty string for no leaves)."""
    if not leaves:
        return EMPTY_ROOT
    return _root_of_hashes([hash_leaf(leaf) for leaf in leaves])


def compute_merkle_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """Return the audit path (sibling hashes, leaf to root) for ``leaves[index]``.

    Raises:
        IndexError: ``index`` is outside the list.
    """
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is outside a tree of {len(leaves)} leaves")
    hashes = [hash_leaf(leaf) for leaf in leaves]
    path: list[bytes] = []

    def walk(nodes: list[bytes], i: int) -> None:
        if len(nodes) == 1:
            return
        k = _split(len(nodes))
        if i < k:
            walk(nodes[:k], i)
            path.append(_root_of_hashes(nodes[k:]))
        else:
            walk(nodes[k:], i - k)
            path.append(_root_of_hashes(nodes[:k]))

    walk(hashes, index)
    return path


def verify_merkle_proof(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """Return True if ``leaf`` sits at ``index`` of a ``size``-leaf tree whose root is ``root``."""
    if not 0 <= index < size:
        return False

    def climb(i: int, n: int, depth: int) -> tuple[bytes, int] | None:
        # Returns the subtree hash and how many path entries were consumed.
        if n == 1:
            return hash_leaf(leaf), depth
        k = _split(n)
        inner = climb(i, k, depth) if i < k else climb(i - k, n - k, depth)
        if inner is None:
            return None
        node, used = inner
        if used >= len(path):
            return None
        sibling = path[used]
        combined = hash_children(node, sibling) if i < k else hash_children(sibling, node)
        return combined, used + 1

    result = climb(index, size, 0)
    return result is not None and result[1] == len(path) and result[0] == root
