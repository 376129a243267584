"""Per-transaction CPU of each step a consortium performs, measured in one process.

Builds a development chain, signs N vehicle registrations, and times the steps every
transaction goes through in the etcd mode: admission (at the entry peer, and again at the
cutter), and at each peer: block decoding, signature checks, block validity, execution and
commit (state tree, receipts root, SQLite). Multiply the per-peer part by the number of
peers to see what a consortium costs per transaction on one machine.

``--catch-up BLOCKS``: then sign that many blocks of odometer events (``--block-txs`` each)
on the registered vehicles and apply them as a peer that is far behind does: each block
decoded from its etcd value and its signatures checked, then written ``BLOCKS_PER_WRITE``
blocks to a COMMIT. Everything runs on one thread, so the rate printed is what a peer
catching up with one core of its own could do (no HTTP, no etcd reads, nothing else on
the core); compare it with the consortium's production rate.

    .venv/bin/python bench/cluster_costs.py [--count 1000] [--catch-up 96] [--block-txs 125]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from amchain.consensus.etcd import (
    BLOCKS_PER_WRITE,
    decode_block,
    encode_block,
    pack_block_value,
    unpack_block_value,
)
from amchain.crypto import KeyPair
from amchain.ledger import (
    Transaction,
    make_block_header,
    make_body,
    sign_transaction,
    verify_transaction_signatures,
)
from amchain.node import Head, Keystore, Node, NodeConfig
from amchain.node.peer import validate_ordered_block
from amchain.runtime import admit_transaction

ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin(i: int) -> str:
    digits = []
    for _ in range(8):
        i, r = divmod(i, len(ALPHABET))
        digits.append(ALPHABET[r])
    return "WVWZZZ1KZ" + "".join(digits)


def vehicles_tx(
    node: Node, key: KeyPair, message: str, args: dict[str, Any], now_ms: int
) -> Transaction:
    """A ``vehicles`` transaction signed by ``key``, valid for an hour from ``now_ms``."""
    body = make_body(
        chain_id=node.chain_id,
        signers=[key.public_key],
        nonce=secrets.randbelow(2**53),
        expires_at_ms=now_ms + 3_600_000,
        module="vehicles",
        message=message,
        args=args,
    )
    return sign_transaction(body, [key])


def encode_next_block(node: Node, head: Head, txs: list[Transaction], now: int) -> bytes:
    """The block a cutter would order on top of ``head``, encoded as etcd carries it."""
    header = make_block_header(
        chain_id=node.chain_id,
        height=head.height + 1,
        prev_hash=head.hash,
        time_ms=max(now, head.time_ms),
        txs=txs,
        proposer=node.node_key.public_key,
    )
    return encode_block(header, (tx.canonical for tx in txs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--catch-up", type=int, default=0, metavar="BLOCKS")
    parser.add_argument("--block-txs", type=int, default=125)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amchain-costs-") as workdir:
        node = Node.open(NodeConfig(data_dir=Path(workdir)))
        try:
            measure(node, options.count)
            if options.catch_up:
                catch_up(node, options.count, options.catch_up, options.block_txs)
        finally:
            asyncio.run(node.stop())  # closes the database before its directory goes


def measure(node: Node, count: int) -> None:
    oem = Keystore(node.config.data_dir).get("oem").key
    now = time.time_ns() // 1_000_000
    txs = [
        vehicles_tx(
            node,
            oem,
            "register_vehicle",
            {"vin": vin(i), "make": "VW", "model": "Golf", "model_year": 2024},
            now,
        )
        for i in range(count)
    ]
    wires = [tx.to_wire() for tx in txs]
    state = node.store.state()
    timings: dict[str, float] = {}

    started = time.perf_counter()
    for wire in wires:
        admit_transaction(
            wire,
            registry=node.registry,
            state=state,
            chain_id=node.chain_id,
            now_ms=now,
            is_known=lambda _: False,
        )
    timings["admission (entry peer; again at the cutter)"] = time.perf_counter() - started

    head = node.head
    data = encode_next_block(node, head, txs, now)
    steps = time.perf_counter()
    block = decode_block(data)
    timings["peer: decode the block (skipped for txs it admitted)"] = time.perf_counter() - steps
    steps = time.perf_counter()
    for tx in block.txs:
        verify_transaction_signatures(tx)
    timings["peer: check signatures (skipped for txs it admitted)"] = time.perf_counter() - steps
    steps = time.perf_counter()
    validate_ordered_block(
        block,
        chain_id=node.chain_id,
        height=head.height,
        head_hash=head.hash,
        head_time_ms=head.time_ms,
        committed_among=lambda hashes: node.store.known_txs(hashes, on_writer=True),
    )
    timings["peer: block validity"] = time.perf_counter() - steps
    steps = time.perf_counter()
    result = node.writer.execute(block.header, block.txs)
    timings["peer: execute"] = time.perf_counter() - steps
    steps = time.perf_counter()
    node.writer.commit(block.header, block.txs, result)
    timings["peer: commit (state tree, receipts root, SQLite)"] = time.perf_counter() - steps

    per_peer = 0.0
    for name, seconds in timings.items():
        ms = 1000 * seconds / count
        if name.startswith("peer"):
            per_peer += ms
        print(f"{ms:7.3f} ms/tx  {name}")
    admission = 1000 * timings["admission (entry peer; again at the cutter)"] / count
    print(f"{per_peer:7.3f} ms/tx  per peer, all steps")
    for peers in (3, 4):
        total = 2 * admission + peers * per_peer
        print(
            f"{total:7.3f} ms/tx  consortium of {peers} peers (2 admissions + {peers} peers, "
            f"no etcd, no HTTP): at most {2000 / total:.0f} tx/s on 2 idle cores"
        )


def catch_up(node: Node, vehicles: int, blocks: int, block_txs: int) -> None:
    """Apply ``blocks`` blocks of odometer events as a peer far behind does, on one thread."""
    registry = Keystore(node.config.data_dir).get("registry").key
    now = time.time_ns() // 1_000_000
    txs = [
        vehicles_tx(
            node,
            registry,
            "record_event",
            {
                "vin": vin(i % vehicles),
                "event": {"type": "odometer", "odometer_km": 1000 + 10 * (i // vehicles)},
            },
            now,
        )
        for i in range(blocks * block_txs)
    ]
    seconds = {"decode": 0.0, "signatures": 0.0, "validate, execute, commit": 0.0, "COMMIT": 0.0}
    started = time.thread_time()
    for first in range(0, blocks, BLOCKS_PER_WRITE):
        with node.writer.batch():
            for height_index in range(first, min(first + BLOCKS_PER_WRITE, blocks)):
                chunk = txs[height_index * block_txs : (height_index + 1) * block_txs]
                value = pack_block_value(encode_next_block(node, node.writer.tip, chunk, now))
                step = time.thread_time()
                block = decode_block(unpack_block_value(value))
                seconds["decode"] += time.thread_time() - step
                step = time.thread_time()
                for tx in block.txs:
                    verify_transaction_signatures(tx)
                seconds["signatures"] += time.thread_time() - step
                step = time.thread_time()
                committed = node.writer.apply_ordered(block)  # a peer's block writer path
                if not all(receipt.ok for receipt in committed.receipts):
                    raise SystemExit(f"block {block.header.height}: a transaction failed")
                seconds["validate, execute, commit"] += time.thread_time() - step
            step = time.thread_time()
        seconds["COMMIT"] += time.thread_time() - step
    building = time.thread_time() - started - sum(seconds.values())
    count = blocks * block_txs
    print(
        f"catch-up of {blocks} blocks x {block_txs} odometer events, "
        f"{BLOCKS_PER_WRITE} blocks to a COMMIT, one thread (CPU per transaction):"
    )
    for name, spent in seconds.items():
        print(f"{1e6 * spent / count:7.1f} µs/tx  {name}")
    per_tx = sum(seconds.values()) / count
    print(
        f"{1e6 * per_tx:7.1f} µs/tx  in all: {1 / per_tx:.0f} tx/s on one core of its own, "
        f"{1 / per_tx / 1000:.1f}x a production rate of 1,000/s "
        f"(building the blocks, not counted: {1e6 * building / count:.1f} µs/tx)"
    )


if __name__ == "__main__":
    main()
