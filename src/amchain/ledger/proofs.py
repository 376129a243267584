"""What a node hands a light client so it can check an answer without trusting the node.

Every proof ends at a **commit certificate**: a commit record (chain, height, block hash,
state root, receipts root) with the peers' signatures over it. A light client configured with
the consortium's peer keys and a quorum accepts the roots only when at least ``quorum``
distinct trusted peers signed that very record. Below the certificate:

- a state entry (a key and its value, or its absence) is proven by a state-tree path to the
  certified state root (:mod:`amchain.ledger.state_tree`);
- a transaction is proven by the block header (whose hash the record names) and an RFC 6962
  audit path to the header's transaction root; its receipt, events included, by an audit path
  to the record's receipts root.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from amchain.codec import encode_canonical
from amchain.crypto import verify_signature
from amchain.ledger.blocks import (
    BlockHeader,
    CommitRecord,
    Receipt,
    SignedCommit,
    compute_commit_signing_message,
)
from amchain.ledger.state_tree import StateProof


class CommitSignature(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One peer's signature over a commit record (hex public key, hex signature)."""

    signer: str
    signature: str


class CommitCertificate(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A commit record and the signatures of the peers that computed the same record."""

    record: CommitRecord
    signatures: list[CommitSignature]


class StateEntry(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A state key, the value it holds (its canonical JSON, decoded; None when absent) and
    the path that proves it under the certified state root."""

    key: str
    value: Any
    proof: StateProof


class TxInclusion(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A transaction and its receipt, proven to sit at ``index`` of a certified block."""

    header: BlockHeader
    index: int
    tx: dict[str, Any]
    tx_path: list[str]
    receipt: Receipt
    receipt_path: list[str]
    receipt_count: int | None = None
    """Leaves of the receipts root: the block's transactions, then the receipts of its
    end-of-block hooks (absent: no hook receipt, as many leaves as transactions)."""


def make_commit_certificate(commits: list[SignedCommit]) -> CommitCertificate:
    """Gather signed commits of one record into a certificate.

    Raises:
        ValueError: no commits, or commits of different records.
    """
    if not commits:
        raise ValueError("a certificate needs at least one signed commit")
    record = commits[0].record
    if any(c.record != record for c in commits):
        raise ValueError("signed commits of different records cannot form one certificate")
    return CommitCertificate(
        record=record,
        signatures=[CommitSignature(c.signer, c.signature) for c in commits],
    )


def check_commit_signatures(
    certificate: CommitCertificate, trusted_peers: Collection[str]
) -> tuple[list[str], list[str], list[str]]:
    """Sort a certificate's signers into (valid trusted, invalid trusted, untrusted).

    Each signer counts once, however often it appears; keys compare as lowercase hex.
    """
    trusted = {key.lower() for key in trusted_peers}
    message = compute_commit_signing_message(certificate.record)
    valid: list[str] = []
    invalid: list[str] = []
    untrusted: list[str] = []
    seen: set[str] = set()
    for item in certificate.signatures:
        signer = item.signer.lower()
        if signer in seen:
            continue
        seen.add(signer)
        if signer not in trusted:
            untrusted.append(signer)
            continue
        try:
            ok = verify_signature(bytes.fromhex(signer), message, bytes.fromhex(item.signature))
        except ValueError:
            ok = False
        (valid if ok else invalid).append(signer)
    return valid, invalid, untrusted


def encode_state_value(value: Any) -> bytes | None:
    """Return the stored bytes of a decoded state value (canonical JSON), None for absent."""
    return None if value is None else encode_canonical(value)
