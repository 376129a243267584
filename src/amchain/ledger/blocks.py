"""Blocks, receipts, events and commit records.

A block header commits to its transactions (RFC 6962 Merkle root over each signed
transaction's canonical bytes) and to the previous block's hash. Executing the block yields
one receipt per transaction (success, or failure with ``codespace``/``code``/message and the
events it emitted); the commit record binds the block hash to the state root and the
receipts root, and is signed by the peer that computed it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.codec import encode_canonical, encode_canonical_many
from amchain.crypto import KeyPair, sha256, verify_signature
from amchain.ledger.errors import BlockCode, BlockError
from amchain.ledger.merkle import compute_merkle_root
from amchain.ledger.transactions import Transaction

COMMIT_SIGNING_DOMAIN = b"amchain/commit/v1\x00"
GENESIS_PREV_HASH = "00" * 32


class Event(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Something a handler reports: ``type`` is ``<module>.<what_happened>``."""

    type: str
    attributes: dict[str, Any]


class Receipt(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The outcome of one transaction. ``codespace`` is empty and ``code`` 0 on success."""

    tx_hash: str
    ok: bool
    codespace: str = ""
    code: int = 0
    message: str = ""
    details: dict[str, Any] = {}
    events: list[Event] = []


class BlockHeader(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a block hash covers."""

    chain_id: str
    height: int
    prev_hash: str
    time_ms: int
    tx_root: str
    tx_count: int
    proposer: str


class CommitRecord(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a peer states after executing a block: the state it reached and the receipts."""

    chain_id: str
    height: int
    block_hash: str
    state_root: str
    receipts_root: str


class SignedCommit(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A commit record with the signature of the peer that computed it."""

    record: CommitRecord
    signer: str
    signature: str


def compute_block_hash(header: BlockHeader) -> bytes:
    """Return SHA-256 of the header's canonical JSON."""
    return sha256(encode_canonical(header))


def compute_tx_root(txs: list[Transaction]) -> bytes:
    """Return the Merkle root over the transactions' canonical signed bytes."""
    return compute_merkle_root([tx.canonical for tx in txs])


def encode_receipts(receipts: list[Receipt]) -> list[bytes]:
    """Return each receipt's canonical JSON (the receipts root's leaves)."""
    return encode_canonical_many(receipts)


def compute_receipts_root(receipts: list[Receipt]) -> bytes:
    """Return the Merkle root over the receipts' canonical JSON."""
    return compute_merkle_root(encode_receipts(receipts))


def make_block_header(
    *,
    chain_id: str,
    height: int,
    prev_hash: str,
    time_ms: int,
    txs: list[Transaction],
    proposer: bytes,
) -> BlockHeader:
    """Build the header for ``txs`` on top of the block whose hash is ``prev_hash``."""
    return BlockHeader(
        chain_id=chain_id,
        height=height,
        prev_hash=prev_hash,
        time_ms=time_ms,
        tx_root=compute_tx_root(txs).hex(),
        tx_count=len(txs),
        proposer=proposer.hex(),
    )


def validate_block_header(
    header: BlockHeader,
    txs: list[Transaction],
    *,
    chain_id: str,
    expected_height: int,
    prev_hash: str,
    prev_time_ms: int,
) -> None:
    """Check that a header follows its parent and commits to ``txs``.

    Raises:
        BlockError: WRONG_CHAIN, WRONG_HEIGHT, WRONG_PREV_HASH, TIME_WENT_BACKWARDS or
            WRONG_TX_ROOT.
    """
    if header.chain_id != chain_id:
        raise BlockError(BlockCode.WRONG_CHAIN, f"block is for chain {header.chain_id!r}")
    if header.height != expected_height:
        raise BlockError(
            BlockCode.WRONG_HEIGHT, f"expected height {expected_height}, got {header.height}"
        )
    if header.prev_hash != prev_hash:
        raise BlockError(
            BlockCode.WRONG_PREV_HASH,
            f"block {header.height} links to {header.prev_hash[:16]}…, "
            f"but block {header.height - 1} is {prev_hash[:16]}…",
        )
    if header.time_ms < prev_time_ms:
        raise BlockError(BlockCode.TIME_WENT_BACKWARDS, "block time is before its parent's")
    if header.tx_count != len(txs) or header.tx_root != compute_tx_root(txs).hex():
        raise BlockError(BlockCode.WRONG_TX_ROOT, "transactions do not match the header's root")


def compute_commit_signing_message(record: CommitRecord) -> bytes:
    """Return the bytes a peer signs for ``record``."""
    return COMMIT_SIGNING_DOMAIN + encode_canonical(record)


def sign_commit_record(record: CommitRecord, key: KeyPair) -> SignedCommit:
    """Sign a commit record with a peer's key."""
    signature = key.sign(compute_commit_signing_message(record))
    return SignedCommit(record=record, signer=key.public_key.hex(), signature=signature.hex())


def verify_commit_signature(commit: SignedCommit) -> bool:
    """Return True if ``commit.signature`` is the signer's signature of the record."""
    try:
        key = bytes.fromhex(commit.signer)
        signature = bytes.fromhex(commit.signature)
    except ValueError:
        return False
    return verify_signature(key, compute_commit_signing_message(commit.record), signature)
