"""Blocks as the etcd ordering service carries them: canonical bytes, zlib-compressed in
etcd, strictly decoded by every peer (each transaction re-hashed from its bytes)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from amchain.codec import encode_canonical
from amchain.ledger import (
    BlockHeader,
    Transaction,
    TxError,
    compute_block_hash,
    decode_transaction_bytes,
)

__all__ = [
    "BLOCK_VALUE_LIMIT",
    "BlockDecodeError",
    "OrderedBlock",
    "decode_block",
    "encode_block",
    "pack_block_value",
    "unpack_block_value",
]

BLOCK_VALUE_LIMIT = 16 * 1024 * 1024  # the most a block value in etcd may inflate to


class _BlockWire(msgspec.Struct, forbid_unknown_fields=True):
    header: BlockHeader
    txs: list[msgspec.Raw]


@dataclass(frozen=True, slots=True)
class OrderedBlock:
    """A block as the ordering service carries it: header and signed transactions."""

    header: BlockHeader
    txs: list[Transaction]
    hash: str
    verified: frozenset[bytes] = frozenset()
    """Hashes of transactions whose signatures this peer already checked (at admission)."""

    @property
    def height(self) -> int:
        return self.header.height


class BlockDecodeError(ValueError):
    """Bytes that are not a well-formed block (a peer refusing them halts)."""


def encode_block(header: BlockHeader, signed_txs: Iterable[bytes]) -> bytes:
    """Canonical bytes of a block: ``{"header": …, "txs": [signed tx, …]}``.

    Each transaction is given as its canonical signed bytes (its Merkle leaf), so peers
    re-derive every hash from these bytes.
    """
    return b'{"header":' + encode_canonical(header) + b',"txs":[' + b",".join(signed_txs) + b"]}"


def decode_block(
    data: bytes, admitted: Callable[[bytes], Transaction | None] | None = None
) -> OrderedBlock:
    """Strictly decode a block; every transaction is re-decoded from its bytes.

    ``admitted(signed_bytes)`` may return a transaction this peer itself admitted with
    exactly these canonical bytes: it is reused as is (decoded, hashed and its signatures
    checked at admission), and marked in :attr:`OrderedBlock.verified`.

    Raises:
        BlockDecodeError: not a block, or a transaction that does not decode.
    """
    try:
        wire = msgspec.json.decode(data, type=_BlockWire)
        txs: list[Transaction] = []
        verified: set[bytes] = set()
        for raw in wire.txs:
            signed = bytes(raw)
            known = admitted(signed) if admitted is not None else None
            if known is not None and known.canonical == signed:
                txs.append(known)
                verified.add(known.hash)
            else:
                txs.append(decode_transaction_bytes(signed))
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise BlockDecodeError(f"undecodable block: {exc}") from None
    except TxError as exc:
        raise BlockDecodeError(f"block holds an undecodable transaction: {exc.message}") from None
    return OrderedBlock(
        wire.header, txs, compute_block_hash(wire.header).hex(), frozenset(verified)
    )


def pack_block_value(block: bytes) -> bytes:
    """The value a cutter stores in etcd for a block: its canonical bytes, zlib-compressed
    (level 1). etcd's JSON gateway moves every value base64-encoded, once for the put and
    once per watching peer; compressed, a block is about a third of the bytes. The block
    hash is over the header and every transaction is re-hashed from its bytes, so the
    compression is not part of what peers verify."""
    return zlib.compress(block, 1)


def unpack_block_value(value: bytes) -> bytes:
    """The canonical bytes of a block stored in etcd: a zlib-compressed block (what
    :func:`pack_block_value` writes) or, as before compression, the block itself (``{``).

    Raises:
        BlockDecodeError: empty, neither, a truncated stream, or more than ``BLOCK_VALUE_LIMIT``
            bytes once inflated.
    """
    if value[:1] == b"{":
        return value
    if not value:
        raise BlockDecodeError("block value is empty")
    inflater = zlib.decompressobj()
    try:
        block = inflater.decompress(value, BLOCK_VALUE_LIMIT)
    except zlib.error as exc:
        raise BlockDecodeError(
            f"block value is neither a block nor a zlib-compressed block: {exc}"
        ) from None
    if inflater.unconsumed_tail:
        raise BlockDecodeError(f"block value inflates to more than {BLOCK_VALUE_LIMIT} bytes")
    if not inflater.eof or inflater.unused_data:
        raise BlockDecodeError("block value is a truncated or padded zlib stream")
    return block
