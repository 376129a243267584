"""Building and signing transactions offline."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

import msgspec

from amchain.codec import DecodeError, decode_json
from amchain.crypto import KeyPair
from amchain.ledger import MAX_TX_BYTES, MAX_TX_TTL_MS, Transaction, make_body, sign_transaction
from amchain.ledger.transactions import MAX_TX_DEPTH
from amchain.sdk._errors import TxBuildError
from amchain.sdk._signer import Signer, as_keypair

__all__ = ["DEFAULT_EXPIRES_IN_MS", "build_tx"]

DEFAULT_EXPIRES_IN_MS = 600_000
MAX_NONCE = 2**53


def build_tx(
    *,
    chain_id: str,
    signers: Sequence[Signer | KeyPair] | Signer | KeyPair,
    module: str,
    message: str,
    args: dict[str, Any] | msgspec.Struct,
    expires_in_ms: int = DEFAULT_EXPIRES_IN_MS,
    nonce: int | None = None,
) -> Transaction:
    """Build a transaction body and sign it with every signer, in order.

    The nonce is random (53 bits) unless given; the expiry is now + ``expires_in_ms``
    (at most one day, the ledger's limit).

    Raises:
        TxBuildError: no signers, a duplicate signer, a bad expiry or nonce, or arguments
            that a node's strict decoder would refuse.
    """
    if isinstance(signers, Signer | KeyPair):
        signers = [signers]
    keys = [as_keypair(s) for s in signers]
    if not keys:
        raise TxBuildError("a transaction needs at least one signer")
    if len({k.public_key for k in keys}) != len(keys):
        raise TxBuildError("the same key is listed twice as a signer")
    if not 0 < expires_in_ms <= MAX_TX_TTL_MS:
        raise TxBuildError(
            f"expires_in_ms must be in 1..{MAX_TX_TTL_MS} (one day), got {expires_in_ms}"
        )
    if nonce is None:
        nonce = secrets.randbelow(MAX_NONCE)
    elif not 0 <= nonce < MAX_NONCE:
        raise TxBuildError(f"nonce must be in 0..2^53-1, got {nonce}")
    plain_args = msgspec.to_builtins(args)
    if not isinstance(plain_args, dict):
        raise TxBuildError("args must be a JSON object")
    try:
        body = make_body(
            chain_id=chain_id,
            signers=[k.public_key for k in keys],
            nonce=nonce,
            expires_at_ms=time.time_ns() // 1_000_000 + expires_in_ms,
            module=module,
            message=message,
            args=plain_args,
        )
        # what a node's strict decoder would refuse (floats, huge integers, size, depth)
        decode_json(
            msgspec.json.encode(msgspec.to_builtins(body)),
            max_bytes=MAX_TX_BYTES,
            max_depth=MAX_TX_DEPTH,
        )
    except (DecodeError, TypeError, ValueError) as exc:
        raise TxBuildError(f"invalid transaction: {exc}") from exc
    return sign_transaction(body, keys)
