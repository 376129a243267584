"""The attacks of issue 29 against a real node process (``amchain up``), with figures:

1. unregistered spam: ``identity.add_key`` signed only by the key it adds, for ``--spam-s``
   seconds from 4 threads: answers by status, bytes the data dir grew;
2. a 2,000,000-element batch (4 MB): time to the refusal, node RSS before and after;
3. ``GET /v1/status`` latency (p50, p99) while each probe runs.

    .venv/bin/python bench/hardening_probes.py [--spam-s 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from amchain.bench import NodeProcess
from amchain.crypto import KeyPair
from amchain.ledger import make_body, sign_transaction


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (admission workers), MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


class StatusProbe:
    """Polls /v1/status every 10 ms in a thread; keeps the latencies."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                start = time.perf_counter()
                client.get(f"{self.url}/v1/status")
                self.latencies_ms.append((time.perf_counter() - start) * 1000)
                time.sleep(0.01)

    def __enter__(self) -> StatusProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        values = sorted(self.latencies_ms)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return (
            f"status p50 {statistics.median(values):.1f} ms, p99 {p99:.1f} ms ({len(values)} polls)"
        )


def spam(url: str, chain_id: str, seconds: float) -> Counter[int]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        n = 0
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                n += 1
                key = KeyPair.from_seed((offset * 10_000_000 + n).to_bytes(32, "big"))
                body = make_body(
                    chain_id=chain_id, signers=[key.public_key], nonce=n,
                    expires_at_ms=time.time_ns() // 1_000_000 + 600_000, module="identity",
                    message="add_key",
                    args={"did": "did:amc:org:oem", "public_key": key.public_key.hex(),
                          "purposes": ["authentication"]},
                )  # fmt: skip
                answer = client.post(f"{url}/v1/txs", json=sign_transaction(body, [key]).to_wire())
                with lock:
                    statuses[answer.status_code] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spam-s", type=float, default=10.0)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "chain"
        with NodeProcess(data_dir) as node:
            chain_id = httpx.get(f"{node.url}/v1/status").json()["chain_id"]
            time.sleep(1)
            before = dir_bytes(data_dir)
            with StatusProbe(node.url) as probe:
                statuses = spam(node.url, chain_id, args.spam_s)
            time.sleep(1)
            grown = dir_bytes(data_dir) - before
            total = sum(statuses.values())
            print(
                f"1. unregistered spam: {total} requests in {args.spam_s:.0f} s, answers "
                f"{dict(statuses)}; data dir grew {grown} bytes (WAL and checkpoints "
                f"included); {probe.summary()}"
            )
            body = b'{"txs":[' + b",".join([b"0"] * 2_000_000) + b"]}"
            rss_before = rss_mb(node.pid)
            with StatusProbe(node.url) as probe, httpx.Client(timeout=60) as client:
                time.sleep(0.3)
                start = time.perf_counter()
                answer = client.post(
                    f"{node.url}/v1/txs", content=body, headers={"content-type": "application/json"}
                )
                elapsed_ms = (time.perf_counter() - start) * 1000
                time.sleep(0.3)
            rss_after = rss_mb(node.pid)
            print(
                f"2. 2,000,000-element batch ({len(body) / 1e6:.1f} MB): {answer.status_code} "
                f"({len(answer.content)} bytes) in {elapsed_ms:.0f} ms, client-measured with the "
                f"upload over loopback; node RSS {rss_before:.0f} -> {rss_after:.0f} MB "
                f"({rss_after - rss_before:+.0f} MB); {probe.summary()}"
            )


if __name__ == "__main__":
    main()
