"""Transactions: what a client signs, how it is hashed, and the checks on its envelope.

A transaction names its chain, its signers, a nonce, an expiry (block time, ms), and the
module message it calls with typed arguments. Its hash is SHA-256 of the RFC 8785 canonical
JSON of the body; every signer signs ``TX_SIGNING_DOMAIN + hash``. Signatures are not in the
hash, so re-signing a body cannot make a "new" transaction: replay protection is by hash.

The nonce only makes otherwise identical bodies distinct; it is not a sequence number, so one
signer can have any number of transactions in flight, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from amchain.codec import (
    MAX_SAFE_INTEGER,
    convert,
    decode_json,
    encode_canonical,
)
from amchain.crypto import (
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    KeyPair,
    is_valid_public_key,
    sha256,
    verify_signature,
)
from amchain.ledger.errors import TxCode, TxError

TX_SIGNING_DOMAIN = b"amchain/tx/v1\x00"
MAX_TX_BYTES = 64 * 1024
MAX_TX_DEPTH = 12
MAX_SIGNERS = 8
MAX_TX_TTL_MS = 24 * 60 * 60 * 1000  # a transaction may live at most one day

SafeInt = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
HexKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class TxBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The signed part of a transaction."""

    chain_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    signers: list[HexKey]
    nonce: SafeInt
    expires_at_ms: SafeInt
    module: Name
    message: Name
    args: dict[str, Any]


class SignedTxWire(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A transaction as it travels: the body and one hex signature per signer, in order."""

    body: TxBody
    signatures: list[HexKey]


@dataclass(frozen=True, slots=True)
class Transaction:
    """A decoded transaction with its hash, signer keys and canonical bytes."""

    body: TxBody
    signer_keys: tuple[bytes, ...]
    signatures: tuple[bytes, ...]
    hash: bytes
    canonical: bytes  # canonical bytes of the whole signed transaction (the Merkle leaf)

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-ready form of the signed transaction."""
        return {
            "body": msgspec.to_builtins(self.body),
            "signatures": [signature.hex() for signature in self.signatures],
        }


def compute_tx_hash(body: TxBody) -> bytes:
    """Return SHA-256 of the body's canonical JSON."""
    return sha256(encode_canonical(body))


def compute_signing_message(tx_hash: bytes) -> bytes:
    """Return the bytes every signer signs for the transaction with hash ``tx_hash``."""
    return TX_SIGNING_DOMAIN + tx_hash


def _decode_hex_field(text: str, length: int, code: TxCode, what: str) -> bytes:
    # One form only (lower-case hex, no spaces): otherwise one signer could give the same
    # intent several hashes.
    if len(text) != 2 * length:
        raise TxError(
            code, f"{what} must be {2 * length} lower-case hex digits, got {len(text)} characters"
        )
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise TxError(code, f"{what} is not valid hex") from None
    if len(raw) != length or raw.hex() != text:
        raise TxError(code, f"{what} must be written in lower-case hex digits without spaces")
    return raw


def build_transaction(wire: SignedTxWire) -> Transaction:
    """Check the envelope's shape and compute its hash; signatures are not verified here.

    Raises:
        TxError: NO_SIGNERS, TOO_MANY_SIGNERS, DUPLICATE_SIGNER, SIGNATURE_COUNT,
            BAD_KEY_ENCODING or BAD_SIGNATURE_ENCODING.
    """
    body = wire.body
    if not body.signers:
        raise TxError(TxCode.NO_SIGNERS, "a transaction needs at least one signer")
    if len(body.signers) > MAX_SIGNERS:
        raise TxError(TxCode.TOO_MANY_SIGNERS, f"at most {MAX_SIGNERS} signers are allowed")
    keys = tuple(
        _decode_hex_field(s, PUBLIC_KEY_BYTES, TxCode.BAD_KEY_ENCODING, f"signer key {i}")
        for i, s in enumerate(body.signers)
    )
    if len(set(keys)) != len(keys):
        raise TxError(TxCode.DUPLICATE_SIGNER, "the same key is listed twice as a signer")
    if len(wire.signatures) != len(keys):
        raise TxError(
            TxCode.SIGNATURE_COUNT,
            f"{len(keys)} signer(s) but {len(wire.signatures)} signature(s): "
            "one per signer, in order",
        )
    signatures = tuple(
        _decode_hex_field(s, SIGNATURE_BYTES, TxCode.BAD_SIGNATURE_ENCODING, f"signature {i}")
        for i, s in enumerate(wire.signatures)
    )
    body_bytes = encode_canonical(body)
    tx_hash = sha256(body_bytes)
    # JCS of {"body": …, "signatures": […]}: members in key order, each value canonical, so
    # the body's canonical bytes are reused rather than encoded a second time.
    signature_list = ",".join(f'"{s.hex()}"' for s in signatures)
    canonical = b'{"body":' + body_bytes + b',"signatures":[' + signature_list.encode() + b"]}"
    return Transaction(body, keys, signatures, tx_hash, canonical)


def decode_transaction(value: Any) -> Transaction:
    """Type an already-parsed JSON value as a signed transaction and build it.

    Raises:
        DecodeError: unknown, missing or mistyped fields.
        TxError: see :func:`build_transaction`.
    """
    return build_transaction(convert(value, SignedTxWire, what="transaction"))


def decode_transaction_bytes(data: bytes, *, max_bytes: int = MAX_TX_BYTES) -> Transaction:
    """Strictly parse one signed transaction from bytes.

    Raises:
        DecodeError: size, depth, JSON or schema problems.
        TxError: see :func:`build_transaction`.
    """
    return decode_transaction(decode_json(data, max_bytes=max_bytes, max_depth=MAX_TX_DEPTH))


def verify_transaction_signatures(tx: Transaction) -> None:
    """Check every signature against its signer's key.

    Raises:
        TxError: WEAK_KEY (small-order or non-canonical signer key) or BAD_SIGNATURE, naming
            the first signer whose signature does not verify.
    """
    message = compute_signing_message(tx.hash)
    for index, (key, signature) in enumerate(zip(tx.signer_keys, tx.signatures, strict=True)):
        if not verify_signature(key, message, signature):
            # Diagnose only on failure, so the happy path pays for one check, not two.
            if not is_valid_public_key(key):
                raise TxError(
                    TxCode.WEAK_KEY,
                    f"signer {index} key {key.hex()} is small-order or non-canonical; "
                    "such keys are never accepted",
                )
            raise TxError(
                TxCode.BAD_SIGNATURE,
                f"signature {index} does not verify for signer {key.hex()}",
            )


def validate_transaction_window(tx: Transaction, *, chain_id: str, now_ms: int) -> None:
    """Check the chain id and the expiry against a time (the block's, or the node's clock).

    Raises:
        TxError: WRONG_CHAIN, EXPIRED or EXPIRY_TOO_FAR.
    """
    if tx.body.chain_id != chain_id:
        raise TxError(
            TxCode.WRONG_CHAIN,
            f"transaction is for chain {tx.body.chain_id!r}, this is {chain_id!r}",
        )
    if tx.body.expires_at_ms <= now_ms:
        raise TxError(TxCode.EXPIRED, "transaction has expired; sign it again with a later expiry")
    if tx.body.expires_at_ms > now_ms + MAX_TX_TTL_MS:
        raise TxError(
            TxCode.EXPIRY_TOO_FAR,
            f"expiry more than {MAX_TX_TTL_MS // 3_600_000} h ahead is refused",
        )


def sign_transaction(body: TxBody, keys: list[KeyPair]) -> Transaction:
    """Sign ``body`` with ``keys`` (in the order of ``body.signers``).

    Raises:
        ValueError: the keys do not match the body's signers.
    """
    if [k.public_key.hex() for k in keys] != body.signers:
        raise ValueError("keys must match body.signers, in the same order")
    tx_hash = compute_tx_hash(body)
    message = compute_signing_message(tx_hash)
    wire = SignedTxWire(body=body, signatures=[k.sign(message).hex() for k in keys])
    return build_transaction(wire)


def make_body(
    *,
    chain_id: str,
    signers: list[bytes],
    nonce: int,
    expires_at_ms: int,
    module: str,
    message: str,
    args: dict[str, Any],
) -> TxBody:
    """Build a transaction body; ``args`` must already be plain JSON values.

    Raises:
        DecodeError: the body would not pass strict decoding on a node (e.g. a float).
        CanonicalizationError: a value has no canonical JSON form (an integer beyond 2^53).
    """
    body = TxBody(
        chain_id=chain_id,
        signers=[k.hex() for k in signers],
        nonce=nonce,
        expires_at_ms=expires_at_ms,
        module=module,
        message=message,
        args=args,
    )
    # Round-trip through the node's strict rules (floats, integer range, schema), so a client
    # learns of a problem before a node does.
    convert(decode_json(encode_canonical(body), max_depth=MAX_TX_DEPTH), TxBody, what="body")
    return body
