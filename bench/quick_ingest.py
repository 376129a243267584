"""Quick ingest figure: N signed vehicle registrations, batched over HTTP, to commit.

Starts a fresh embedded node (`amchain up`, solo ordering, synchronous=FULL) in a child
process on a free loopback port, submits pre-signed transactions in batches through the
SDK's batch path, and reports committed transactions per second (counted from receipts).
The full benchmark suite is issue 6; this gives the first figure to compare against.

    .venv/bin/python bench/quick_ingest.py [--count 6000] [--batch 500]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from amchain.node import Keystore
from amchain.sdk import Signer, build_tx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=500)
    options = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="amchain-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amchain.cli",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                chain_id = httpx.get(f"{url}/v1/status", timeout=1).json()["chain_id"]
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        oem = Signer(Keystore(data_dir).get("oem").key)
        rng = random.Random(1)
        alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        started = time.perf_counter()
        txs = [
            build_tx(
                chain_id=chain_id,
                signers=[oem],
                module="vehicles",
                message="register_vehicle",
                args={
                    "vin": "WVW" + "".join(rng.choice(alphabet) for _ in range(14)),
                    "make": "VW",
                    "model": "ID.3",
                    "model_year": 2024,
                },
            )
            for _ in range(options.count)
        ]
        sign_s = time.perf_counter() - started
        with httpx.Client(timeout=120) as client:
            started = time.perf_counter()
            for i in range(0, len(txs), options.batch):
                response = client.post(
                    f"{url}/v1/txs", json={"txs": [t.to_wire() for t in txs[i : i + options.batch]]}
                )
                response.raise_for_status()
            last = client.get(
                f"{url}/v1/txs/{txs[-1].hash_hex}", params={"wait": "commit", "timeout_ms": 60_000}
            ).json()
            elapsed = time.perf_counter() - started
            ok = sum(
                1
                for t in txs[:: max(1, len(txs) // 200)]
                if client.get(f"{url}/v1/txs/{t.hash_hex}").json()["receipt"]["ok"]
            )
        db_bytes = sum(p.stat().st_size for p in data_dir.glob("chain.db*"))
        print(f"cores                 {os.cpu_count()}")
        print(f"transactions          {options.count} (batches of {options.batch})")
        print(f"client signing        {options.count / sign_s:,.0f} tx/s")
        print(
            f"committed             {options.count / elapsed:,.0f} tx/s "
            f"(last at height {last['height']}, sampled receipts ok: {ok})"
        )
        print(f"database              {db_bytes / options.count:,.0f} bytes/tx (incl. WAL)")
    finally:
        node.terminate()
        node.wait()


if __name__ == "__main__":
    main()
