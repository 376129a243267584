"""Admission in worker processes, so it runs on every core outside the node's GIL.

A worker gets its share of a request's transactions as JSON bytes (the node splits the body,
:func:`amchain.node.intake.split_submission`), decodes each strictly and runs it through the
full admission pipeline (:func:`amchain.runtime.admit_transaction`: size, decode, signatures,
replay against committed transactions, permission against committed state, read from the
node's SQLite file) and answers with plain data: for an admitted transaction its canonical
bytes and hash, for a refusal its codespace, code, message and details. The node rebuilds the
:class:`~amchain.ledger.Transaction` from the canonical bytes its own worker produced
(:func:`transaction_from_admitted`, no second hash or signature check), checks it against
the mempool and queues it in request order.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from amchain.codec import DecodeError, DecodeErrorCode, decode_json
from amchain.ledger import LedgerError, SignedTxWire, Transaction
from amchain.node.cache import StateCache
from amchain.runtime import admit_transaction, default_registry

# (index, canonical, hash) for an admitted transaction;
# (index, None, (kind, codespace, code, message, details)) for a refusal.
Refusal = tuple[str, str, int, str, dict[str, Any]]
Admitted = tuple[int, bytes | None, bytes | Refusal]

_WORKER: dict[str, Any] = {}
WORKER_CACHE_ENTRIES = 20_000
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def parse_submission(raw: bytes, *, max_bytes: int, max_depth: int) -> tuple[list[Any], bool]:
    """Parse a ``POST /v1/txs`` body: one signed transaction, or ``{"txs": [...]}``.

    Returns the parsed transactions and whether the body was a batch.

    Raises:
        DecodeError: the body is not strict JSON (any decode code), or ``txs`` is not a
            non-empty array (WRONG_TYPE).
    """
    value = decode_json(raw, max_bytes=max_bytes, max_depth=max_depth)
    if isinstance(value, dict) and set(value) == {"txs"}:
        values = value["txs"]
        if not isinstance(values, list) or not values:
            raise DecodeError(
                DecodeErrorCode.WRONG_TYPE, "txs must be a non-empty array of signed transactions"
            )
        return values, True
    return [value], False


def _die_with_parent() -> None:
    """On Linux, ask the kernel to SIGKILL this worker the moment the node dies.

    A worker that outlives a killed node keeps the database's shared memory open, so the
    next process to open the file trusts it instead of recovering the WAL (and a committed
    but unannounced last block shows up only later). The watcher thread below is the
    portable fallback.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return


def _exit_with_parent(parent: int) -> None:
    """Leave as soon as the node process is gone (a ``kill -9`` does not tell its workers)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def init_worker(db_path: str, chain_id: str, node_pid: int | None = None) -> None:
    """Process initializer: the registry and a read connection to the node's database.

    ``node_pid`` is the node's pid as the node saw it: a node killed while this worker was
    still starting has already been replaced as parent (``getppid()`` no longer names it),
    and the worker must leave at once rather than watch its new parent for ever.
    """
    from amchain.storage import BlockStore

    parent = os.getppid() if node_pid is None else node_pid
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(0)
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True
    ).start()
    store = BlockStore(Path(db_path))
    _WORKER.update(
        store=store,
        registry=default_registry(),
        chain_id=chain_id,
        cache=StateCache(WORKER_CACHE_ENTRIES),
        height=-2,
    )


def warm_up() -> bool:
    """Called once per worker at node start, so the first request does not pay for imports."""
    return "store" in _WORKER


def refusal_of(error: LedgerError | DecodeError) -> Refusal:
    kind = "decode" if isinstance(error, DecodeError) else "ledger"
    details = error.details if isinstance(error, LedgerError) else {}
    return (kind, error.codespace, int(error.code), error.message, details)


def error_from_refusal(refusal: Refusal) -> LedgerError | DecodeError:
    """Rebuild a refusal in the node process (same codespace, code, message and details)."""
    kind, codespace, code, message, details = refusal
    if kind == "decode":
        return DecodeError(DecodeErrorCode(code), message)
    error = LedgerError(code, message, details=details)
    error.codespace = codespace
    return error


def admit_part(
    txs: list[bytes], first_index: int, now_ms: int, max_bytes: int, max_depth: int
) -> list[Admitted]:
    """Worker: decode and admit ``txs``, the transactions ``first_index``, ``first_index +
    1``, … of a request, each strictly (``max_bytes``, ``max_depth``)."""
    store = _WORKER["store"]
    # Committed state through a cache that lives while the chain stays at one height: the
    # keys every transaction reads (consortium keys, organisations, DIDs) are read once per
    # block, and a request sees every block committed before it arrived.
    cache: StateCache = _WORKER["cache"]
    height = store.latest_height()
    if height != _WORKER["height"]:
        cache.clear()
        _WORKER["height"] = height
    state = cache.reader(store.state())
    out: list[Admitted] = []
    for index, data in enumerate(txs, start=first_index):
        try:
            value = decode_json(data, max_bytes=max_bytes, max_depth=max_depth)
            tx = admit_transaction(
                value,
                registry=_WORKER["registry"],
                state=state,
                chain_id=_WORKER["chain_id"],
                now_ms=now_ms,
                is_known=store.has_tx,
            )
        except (LedgerError, DecodeError) as error:
            out.append((index, None, refusal_of(error)))
            continue
        out.append((index, tx.canonical, tx.hash))
    return out


def transaction_from_admitted(canonical: bytes, tx_hash: bytes) -> Transaction:
    """Rebuild a transaction a worker admitted, from its canonical bytes and hash."""
    wire = msgspec.json.decode(canonical, type=SignedTxWire)
    return Transaction(
        wire.body,
        tuple(bytes.fromhex(k) for k in wire.body.signers),
        tuple(bytes.fromhex(s) for s in wire.signatures),
        tx_hash,
        canonical,
    )
