"""Proof bundles: what ``?proof=true`` adds to an answer, checkable offline.

A bundle is one JSON object::

    {"format": "amchain-proof/v1", "kind": "state" | "vehicle-history" | "did" | "tx",
     "chain_id": ..., "height": H, "certificate": {record, signatures}, ...kind's fields}

and :mod:`amchain.sdk.light` (or ``amchain verify FILE``) checks it against the peer keys
the verifier trusts. Everything in a bundle is read at one height ``H``: state values come
from the state tree's version at ``H`` (not from the latest state), so a block committed
while the bundle is assembled cannot mix two versions.
"""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.codec import encode_canonical_many
from amchain.ledger import (
    CommitCertificate,
    StateEntry,
    StateTreeError,
    TreeRoot,
    TxInclusion,
    compute_merkle_proof,
    make_commit_certificate,
    prove_state_key,
)
from amchain.modules import identity, vehicles
from amchain.modules.identity.documents import did_record_state_key, document_from_record
from amchain.modules.vehicles.history import vehicle_record_state_key
from amchain.node import Node
from amchain.storage import StoredTx

BUNDLE_FORMAT = "amchain-proof/v1"


class ProofUnavailable(Exception):
    """The node cannot prove this (height not retained, not provable kind)."""

    def __init__(self, code: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.title = title
        self.detail = detail


def resolve_height(node: Node, height: int | None) -> tuple[int, TreeRoot]:
    """Return the height to prove at (default: the head) and its state-tree version.

    Raises:
        ProofUnavailable: the height is in the future or not retained.
    """
    head = node.head.height
    at = node.certified_height if height is None else height
    if at < 0 or at > head:
        raise ProofUnavailable(
            20, "Height not committed", f"height {at} is not committed yet (head is {head})"
        )
    root = node.store.state_tree_root(at)
    if root is None:
        raise ProofUnavailable(21, "Height not retained", f"height {at} is not retained")
    return at, root


def certificate_at(node: Node, height: int) -> CommitCertificate:
    """Return the commit certificate of ``height``: the signed commit records held for it
    (in a consortium, the quorum's once the height is final)."""
    commits = node.certified_commits(height)
    assert commits, "resolve_height checked the height"
    return make_commit_certificate(commits)


def _decode_value(raw: bytes | None) -> Any:
    return None if raw is None else msgspec.json.decode(raw)


def prove_entry(node: Node, root: TreeRoot, key: str) -> tuple[bytes | None, StateEntry]:
    """Return the raw value of ``key`` in the version ``root`` and its proven entry.

    Raises:
        StateTreeError: the tree's nodes are missing (a storage fault).
    """
    raw, proof = prove_state_key(node.store.tree_nodes(), root, key)
    return raw, StateEntry(key=key, value=_decode_value(raw), proof=proof)


def _bundle(node: Node, kind: str, height: int, **fields: Any) -> dict[str, Any]:
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
    return _bundle(node, "state", at, entry=entry)


def vehicle_history_at(
    node: Node, vin: str, height: int | None, *, prove: bool
) -> tuple[vehicles.VehicleRecord | None, list[bytes], int, dict[str, Any] | None]:
    """Return the vehicle record at a height (None when unknown there), its history
    entries' stored bytes, that height, and with ``prove`` the bundle proving the history
    complete.

    Without ``prove`` and ``height`` the record is read from the latest state, with no tree
    walk. History entries are written once and never changed, so the first ``event_count``
    entries of the latest state are exactly the history at any height.

    Raises:
        ProofUnavailable: see :func:`resolve_height`.
    """
    entry: StateEntry | None = None
    if prove or height is not None:
        at, root = resolve_height(node, height)
        raw, entry = prove_entry(node, root, vehicle_record_state_key(vin))
    else:
        at = node.head.height
        raw = node.store.state().get(vehicle_record_state_key(vin))
    if raw is None:
        return None, [], at, None
    record = msgspec.json.decode(raw, type=vehicles.VehicleRecord)
    rows = node.store.state().iter_prefix(f"vehicles/h/{vin}/")
    events = [value for _, (_, value) in zip(range(record.event_count), rows, strict=False)]
    if len(events) != record.event_count:
        raise StateTreeError(
            f"vehicle {vin} has {record.event_count} history entries in its record but "
            f"{len(events)} in state"
        )
    if not prove:
        return record, events, at, None
    bundle = _bundle(node, "vehicle-history", at, vin=vin, record=entry)
    bundle["events"] = [msgspec.Raw(e) for e in events]
    return record, events, at, bundle


def did_bundle(node: Node, did: str, height: int | None) -> dict[str, Any] | None:
    """Return a bundle proving a stored DID's record (the verifier rebuilds the document).

    Returns None for a DID that is not stored at that height.

    Raises:
        ProofUnavailable: an organisation DID (synthesised from a key listing, which the
            state tree cannot prove complete), or see :func:`resolve_height`.
    """
    kind, _ = identity.parse_did(did)
    if kind == "org":
        raise ProofUnavailable(
            22,
            "Not provable",
            "organisation DIDs are built from a listing of the organisation's keys, and a "
            "state tree over hashed keys cannot prove a listing complete; ask for the "
            "proof of each key's consortium record instead (GET /v1/state/{key}?proof=true)",
        )
    at, root = resolve_height(node, height)
    raw, entry = prove_entry(node, root, did_record_state_key(did))
    if raw is None:
        return None
    record = msgspec.json.decode(raw, type=identity.DidRecord)
    return _bundle(node, "did", at, did=did, resolution=document_from_record(record), record=entry)


def tx_bundle(node: Node, stored: StoredTx) -> dict[str, Any]:
    """Return a bundle proving a committed transaction and its receipt (events included)."""
    height = stored.height
    header = node.store.get_header(height)
    assert header is not None
    txs = node.store.block_txs(height)
    tx_leaves = [t.tx for t in txs]
    receipt_leaves = encode_canonical_many([t.receipt for t in txs])
    inclusion = TxInclusion(
        header=header,
        index=stored.index,
        tx=msgspec.json.decode(stored.tx),
        tx_path=[h.hex() for h in compute_merkle_proof(tx_leaves, stored.index)],
        receipt=stored.receipt,
        receipt_path=[h.hex() for h in compute_merkle_proof(receipt_leaves, stored.index)],
    )
    return _bundle(node, "tx", height, tx_hash=stored.hash, inclusion=inclusion)
