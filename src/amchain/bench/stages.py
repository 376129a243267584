"""``stages``: CPU time per transaction of each stage of its life, in one process, no HTTP.

The same lifecycle mix as ``ingest`` is run through the node's own code on one thread:
strict JSON parsing of the batch body, admission (envelope decode, hash, signatures,
replay, permission), block execution, and the commit (state root, receipts root, commit
record signature, the SQLite transaction with ``synchronous=FULL``). Thread CPU time is
measured, so the figures hold on a busy machine too; they say where a transaction's time
goes and bound what one core can do.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from amchain.bench._lifecycle import Actors, create_person_txs, lifecycle_txs, person_key
from amchain.bench._process import scratch_dir
from amchain.bench._report import Report
from amchain.codec import decode_json
from amchain.ledger import Transaction, make_block_header, verify_transaction_signatures
from amchain.node import Keystore, Node, NodeConfig
from amchain.runtime import admit_transaction


@dataclass(frozen=True)
class StagesOptions:
    vehicles: int = 1000
    block: int = 2000


def _actors(node: Node, data_dir: Path) -> Actors:
    keystore = Keystore(data_dir)
    return Actors(
        chain_id=node.chain_id,
        oem=keystore.get("oem").key,
        registry=keystore.get("registry").key,
        service_center=keystore.get("service_center").key,
        dealer=keystore.get("dealer").key,
    )


def _produce(node: Node, txs: list[Transaction]) -> tuple[float, float]:
    """Execute and commit ``txs`` as blocks; return CPU seconds (execute, commit)."""
    execute_s = commit_s = 0.0
    for i in range(0, len(txs), 2000):
        block = txs[i : i + 2000]
        head = node.head
        header = make_block_header(
            chain_id=node.chain_id,
            height=head.height + 1,
            prev_hash=head.hash,
            time_ms=max(time.time_ns() // 1_000_000, head.time_ms),
            txs=block,
            proposer=node.node_key.public_key,
        )
        t0 = time.thread_time()
        result = node.writer.execute(header, block)  # the producer's path, step by step
        t1 = time.thread_time()
        node.writer.commit(header, block, result)
        t2 = time.thread_time()
        bad = [r for r in result.receipts if not r.ok]
        if bad:
            raise RuntimeError(f"a benchmark transaction failed: {bad[0]}")
        execute_s += t1 - t0
        commit_s += t2 - t1
    return execute_s, commit_s


def run_stages(options: StagesOptions) -> Report:
    """Run the workload in a scratch directory, removed afterwards."""
    with scratch_dir("amchain-bench-stages-") as directory:
        return _run_stages(options, directory)


def _run_stages(options: StagesOptions, data_dir: Path) -> Report:
    report = Report("stages", params={"vehicles": options.vehicles, "block": options.block})
    node = Node.open(NodeConfig(data_dir=data_dir))
    try:
        actors = _actors(node, data_dir)
        persons = [person_key(0, i) for i in range(16)]
        _produce(node, create_person_txs(actors, persons))
        signed = [
            tx
            for _, tx in lifecycle_txs(
                actors, persons, client=0, first_vehicle=0, vehicles=options.vehicles
            )
        ]
        n = len(signed)
        body = json.dumps({"txs": [t.to_wire() for t in signed]}).encode()

        t0 = time.thread_time()
        values = decode_json(body, max_bytes=len(body) + 1, max_depth=14)["txs"]
        t1 = time.thread_time()
        state = node.store.state()
        now = time.time_ns() // 1_000_000
        admitted = [
            admit_transaction(
                v,
                registry=node.registry,
                state=state,
                chain_id=node.chain_id,
                now_ms=now,
                is_known=node.store.has_tx,
            )
            for v in values
        ]
        t2 = time.thread_time()
        for tx in admitted:
            verify_transaction_signatures(tx)
        t3 = time.thread_time()
        db_before = sum(p.stat().st_size for p in data_dir.glob("chain.db*"))
        execute_s, commit_s = _produce(node, admitted)
        db_after = sum(p.stat().st_size for p in data_dir.glob("chain.db*"))
    finally:
        node.close()
    per = 1e6 / n
    parse, admit, verify = (t1 - t0) * per, (t2 - t1) * per, (t3 - t2) * per
    execute, commit = execute_s * per, commit_s * per
    total = parse + admit + execute + commit
    rows = [
        ("parse the batch body (strict JSON)", parse),
        ("admission, all steps", admit),
        ("  of which signature checks", verify),
        ("execute (modules, state overlay)", execute),
        ("commit (state tree, roots, signature, SQLite FULL)", commit),
        ("total", total),
    ]
    for name, value in rows:
        report.add(name, value, "µs/tx", "thread CPU time, one thread")
    report.add("one core, everything", 1e6 / total, "tx/s", "1 / total")
    report.add(
        "one core, without signature checks",
        1e6 / (total - verify),
        "tx/s",
        "what the GIL-holding part allows if signatures run elsewhere",
    )
    report.add("database growth", (db_after - db_before) / n, "bytes/tx", "chain.db + WAL")
    report.add("transactions", n, "tx", "register : odometer : serviced : transfer = 1:1:1:1")
    return report
