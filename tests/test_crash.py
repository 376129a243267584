"""Crash safety: SIGKILL the node while it commits under load, 20 times.

After every restart each transaction that was acknowledged as committed is present, once,
with its effect in state, and the chain is intact (heights contiguous, every block linked to
its parent, transaction counts matching the headers).
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from amchain.bench import NodeProcess
from amchain.ledger import BlockHeader, compute_block_hash
from amchain.node import Keystore
from tests.support import sign_tx

KILLS = 20
pytestmark = pytest.mark.slow


def random_vin(rng: random.Random) -> str:
    # European WMI: no check digit required; 14 random characters make collisions negligible.
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return "WVW" + "".join(rng.choice(alphabet) for _ in range(14))


def load(
    url: str, chain_id: str, oem, stop: threading.Event, acked: dict[str, str], seed: int
) -> None:
    """Submit batches and remember every transaction the node says is committed."""
    rng = random.Random(seed)
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            batch = {}
            for _ in range(25):
                vin = random_vin(rng)
                tx = sign_tx(
                    chain_id,
                    [oem],
                    "vehicles",
                    "register_vehicle",
                    {"vin": vin, "make": "VW", "model": "ID.3", "model_year": 2024},
                )
                batch[tx.hash_hex] = (vin, tx)
            try:
                response = client.post(
                    f"{url}/v1/txs",
                    params={"wait": "commit", "timeout_ms": 5000},
                    json={"txs": [t.to_wire() for _, t in batch.values()]},
                )
            except httpx.HTTPError:
                return  # the node is gone: whatever was not acknowledged may be lost
            for result in response.json().get("results", []):
                if result["status"] == "committed":
                    acked[result["hash"]] = batch[result["hash"]][0]


def check_chain_on_disk(db: Path) -> int:
    """Walk the chain in the database file, as a crashed node left it. Returns its height."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT height, hash, header, tx_count FROM blocks ORDER BY height"
        ).fetchall()
        prev_hash = "00" * 32
        for expected, (height, block_hash, header_bytes, tx_count) in enumerate(rows):
            header = msgspec.json.decode(header_bytes, type=BlockHeader)
            assert height == expected == header.height
            assert header.prev_hash == prev_hash, f"block {height} is not linked to its parent"
            assert compute_block_hash(header) == bytes(block_hash)
            stored = conn.execute(
                "SELECT COUNT(*) FROM txs WHERE height = ?", (height,)
            ).fetchone()[0]
            assert stored == tx_count == header.tx_count, f"block {height} is half-written"
            prev_hash = bytes(block_hash).hex()
        return len(rows) - 1
    finally:
        conn.close()


def test_sigkill_during_commits_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir = tmp_path / "chain"
    node = NodeProcess(data_dir).start()
    url = node.url
    chain_id = httpx.get(f"{url}/v1/status").json()["chain_id"]
    oem = Keystore(data_dir).get("oem").key
    acked: dict[str, str] = {}
    rng = random.Random(2026)
    try:
        for kill in range(KILLS):
            stop = threading.Event()
            workers = [
                threading.Thread(target=load, args=(url, chain_id, oem, stop, acked, kill * 10 + w))
                for w in range(3)
            ]
            for worker in workers:
                worker.start()
            time.sleep(rng.uniform(0.4, 1.2))
            node.kill()
            stop.set()
            for worker in workers:
                worker.join()
            height = check_chain_on_disk(data_dir / "chain.db")
            node = NodeProcess(data_dir, port=node.port).start()
            status = httpx.get(f"{url}/v1/status").json()
            assert status["height"] == height, (
                "the restarted node does not resume at the last block"
            )
        assert len(acked) > 200, (
            f"only {len(acked)} transactions were acknowledged; the load is too thin"
        )
        with httpx.Client(timeout=10) as client:
            for tx_hash, vin in acked.items():
                found = client.get(f"{url}/v1/txs/{tx_hash}").json()
                assert found["status"] == "committed" and found["receipt"]["ok"], tx_hash
                assert client.get(f"{url}/v1/vehicles/{vin}").status_code == 200, vin
        conn = sqlite3.connect(f"file:{data_dir / 'chain.db'}?mode=ro", uri=True)
        placeholders = ",".join("?" * len(acked))
        count = conn.execute(
            f"SELECT COUNT(*) FROM txs WHERE hash IN ({placeholders})",
            [bytes.fromhex(h) for h in acked],
        ).fetchone()[0]
        conn.close()
        assert count == len(acked), "an acknowledged transaction is missing or stored twice"
    finally:
        node.kill()
