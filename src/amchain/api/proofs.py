"""Proof bundles: what ``?proof=true`` adds to an answer, checkable offline.

A bundle is one JSON object::

    {"format": "amchain-proof/v1", "kind": "state" | "vehicle-history" | "did" | "tx" | …,
     "chain_id": ..., "height": H, "certificate": {record, signatures}, ...kind's fields}

and :mod:`amchain.sdk.light` (or ``amchain verify FILE``) checks it against the peer keys
the verifier trusts. Everything in a bundle is read at one height ``H``: state values come
from the state tree's version at ``H`` (not from the latest state), so a block committed
while the bundle is assembled cannot mix two versions. Modules build the bundles of their
own kinds through :class:`amchain.api.chain_view.NodeChainView`; this file holds the
envelope and the two kinds that are the chain's own (a state entry, a transaction).
"""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.ledger import (
    CommitCertificate,
    StateEntry,
    TreeRoot,
    TxInclusion,
    compute_merkle_proof,
    encode_receipts,
    make_commit_certificate,
    prove_state_key,
)
from amchain.modules.base import ProofCode, ProofUnavailable
from amchain.node import Node
from amchain.storage import StoredTx

__all__ = [
    "BUNDLE_FORMAT",
    "make_bundle",
    "prove_entry",
    "resolve_height",
    "state_bundle",
    "tx_bundle",
]

BUNDLE_FORMAT = "amchain-proof/v1"


def resolve_height(node: Node, height: int | None) -> tuple[int, TreeRoot]:
    """Return the height to answer at (default: the latest certified one) and its
    state-tree version.

    Raises:
        ProofUnavailable: HEIGHT_NOT_COMMITTED (in the future), HEIGHT_NOT_RETAINED.
    """
    head = node.head.height
    at = node.certified_height if height is None else height
    if at < 0 or at > head:
        raise ProofUnavailable(
            ProofCode.HEIGHT_NOT_COMMITTED,
            f"height {at} is not committed yet (head is {head})",
        )
    root = node.store.state_tree_root(at)
    if root is None:
        raise ProofUnavailable(ProofCode.HEIGHT_NOT_RETAINED, f"height {at} is not retained")
    return at, root


def certificate_at(node: Node, height: int) -> CommitCertificate:
    """Return the commit certificate of ``height``: the signed commit records held for it
    (in a consortium, the quorum's once the height is final)."""
    commits = node.certified_commits(height)
    assert commits, "resolve_height checked the height"
    return make_commit_certificate(commits)


def prove_entry(node: Node, root: TreeRoot, key: str) -> tuple[bytes | None, StateEntry]:
    """Return the raw value of ``key`` in the version ``root`` and its proven entry.

    Raises:
        StateTreeError: the tree's nodes are missing (a storage fault).
    """
    raw, proof = prove_state_key(node.store.tree_nodes(), root, key)
    value = None if raw is None else msgspec.json.decode(raw)
    return raw, StateEntry(key=key, value=value, proof=proof)


def make_bundle(node: Node, kind: str, height: int, **fields: Any) -> dict[str, Any]:
    """Return the bundle of ``kind`` at ``height``: the envelope and ``fields`` (plain JSON)."""
    return {
        "format": BUNDLE_FORMAT,
        "kind": kind,
        "chain_id": node.chain_id,
        "height": height,
        "certificate": msgspec.to_builtins(certificate_at(node, height)),
        **{k: msgspec.to_builtins(v) for k, v in fields.items()},
    }


def state_bundle(node: Node, key: str, height: int | None) -> dict[str, Any]:
    """Return a bundle proving the value (or absence) of one state key.

    Raises:
        ProofUnavailable: see :func:`resolve_height`.
    """
    at, root = resolve_height(node, height)
    _, entry = prove_entry(node, root, key)
    return make_bundle(node, "state", at, entry=entry)


def tx_bundle(node: Node, stored: StoredTx) -> dict[str, Any]:
    """Return a bundle proving a committed transaction and its receipt (events included).

    The receipts root's leaves are the transactions' receipts then the end-of-block
    hooks'; ``receipt_count`` says how many there are.
    """
    height = stored.height
    header = node.store.get_header(height)
    assert header is not None
    txs = node.store.block_txs(height)
    tx_leaves = [t.tx for t in txs]
    receipt_leaves = encode_receipts(
        [t.receipt for t in txs] + node.store.block_hook_receipts(height)
    )
    inclusion = TxInclusion(
        header=header,
        index=stored.index,
        tx=msgspec.json.decode(stored.tx),
        tx_path=[h.hex() for h in compute_merkle_proof(tx_leaves, stored.index)],
        receipt=stored.receipt,
        receipt_path=[h.hex() for h in compute_merkle_proof(receipt_leaves, stored.index)],
        receipt_count=len(receipt_leaves),
    )
    return make_bundle(node, "tx", height, tx_hash=stored.hash, inclusion=inclusion)
