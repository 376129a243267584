"""Test support for the consortium: a real local cluster, a load of signed transactions, and
checks that every peer holds the same chain.

The load submits batches of vehicle registrations through every peer's API with
``?wait=final``; a transaction is *acknowledged* when a peer answers that it is final
(signed by a quorum). Anything not acknowledged (timeouts, 503s, a peer that died) is
submitted again, unchanged, later and possibly to another peer, so the same transaction
can be offered many times and must still be applied exactly once.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from amchain.crypto import KeyPair
from amchain.node import Keystore
from amchain.node.localnet import LocalCluster, LocalPeer, alive
from tests.support import sign_tx

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def random_vin(rng: random.Random) -> str:
    return "WVW" + "".join(rng.choice(VIN_ALPHABET) for _ in range(14))


def wait_until(
    what: str, check: Callable[[], Any], timeout_s: float = 60, every_s: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, ValueError, KeyError, sqlite3.Error) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")


def cluster_report(cluster: LocalCluster) -> str:
    """Each peer's status and the tail of its log, each etcd member's state: for failures."""
    lines = []
    for peer in cluster.peers:
        try:
            state: Any = status(peer)
        except (httpx.HTTPError, ValueError) as exc:
            state = f"unreachable ({type(exc).__name__})"
        lines.append(f"--- {peer.name} (pid {peer.pid}, alive {alive(peer.pid)}): {state}")
        log = cluster.directory / "logs" / f"{peer.name}.log"
        if log.exists():
            lines += log.read_text(errors="replace").splitlines()[-25:]
    for member in cluster.etcd:
        lines.append(f"--- {member.name} (pid {member.pid}, alive {alive(member.pid)})")
    return "\n".join(lines)


def status(peer: LocalPeer) -> dict[str, Any]:
    response = httpx.get(f"{peer.url}/v1/cluster/status", timeout=5)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


@dataclass
class Load:
    """Signed vehicle registrations offered to the cluster from a few threads."""

    cluster: LocalCluster
    threads: int = 3
    batch: int = 20
    pause_s: float = 0.05
    acked: dict[str, int] = field(default_factory=dict)  # tx hash -> height
    refused: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keystore = Keystore(self.cluster.directory)
        self.oem: KeyPair = keystore.get("oem").key
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self.peers: list[LocalPeer] = list(self.cluster.peers)

    def start(self) -> Load:
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(i,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self, drain_s: float = 90) -> None:
        """Stop offering new transactions; keep re-offering the unacknowledged ones for up
        to ``drain_s``, then stop."""
        self._draining_until = time.monotonic() + drain_s
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=drain_s + 60)
        self._workers.clear()

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def wait_for_more(self, more: int, timeout_s: float = 90) -> None:
        target = self.count() + more
        try:
            wait_until(
                f"{more} more acknowledged transactions", lambda: self.count() >= target, timeout_s
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\nstatuses {self.statuses}, errors {self.errors[-5:]}\n"
                + cluster_report(self.cluster)
            ) from None

    def _run(self, index: int) -> None:
        rng = random.Random(index * 7919 + int(time.time()))
        outstanding: list[Any] = []
        chain_id = self.cluster.chain_id
        turn = index
        with httpx.Client(timeout=40) as client:
            while True:
                if self._stop.is_set():
                    if not outstanding or time.monotonic() > self._draining_until:
                        return
                elif len(outstanding) < self.batch:
                    outstanding += [
                        sign_tx(
                            chain_id,
                            [self.oem],
                            "vehicles",
                            "register_vehicle",
                            {
                                "vin": random_vin(rng),
                                "make": "VW",
                                "model": "Golf",
                                "model_year": 2024,
                            },
                            expires_in_ms=3_600_000,
                        )
                        for _ in range(self.batch - len(outstanding))
                    ]
                turn += 1
                peer = self.peers[turn % len(self.peers)]
                batch = outstanding[: self.batch]
                body = {"txs": [tx.to_wire() for tx in batch]}
                try:
                    response = client.post(
                        f"{peer.url}/v1/txs",
                        json=body,
                        params={"wait": "final", "timeout_ms": 15_000},
                    )
                except httpx.HTTPError as exc:
                    self._note_error(f"{peer.name}: {type(exc).__name__}")
                    time.sleep(0.2)
                    continue
                with self._lock:
                    self.statuses[response.status_code] = (
                        self.statuses.get(response.status_code, 0) + 1
                    )
                if response.status_code != 202:
                    time.sleep(0.2)
                    continue
                done: set[str] = set()
                for result in response.json()["results"]:
                    tx_hash = result["hash"]
                    if result.get("final"):
                        with self._lock:
                            self.acked[tx_hash] = result["height"]
                        done.add(tx_hash)
                    elif result["status"] == "refused":
                        code = result["error"]["code"]
                        if result["error"]["codespace"] == "tx" and code == 4:
                            # Offered before: acknowledged once this peer says it is final.
                            height = self._final_height(client, peer, tx_hash)
                            if height is not None:
                                with self._lock:
                                    self.acked[tx_hash] = height
                                done.add(tx_hash)
                            continue
                        with self._lock:
                            self.refused[tx_hash] = result["error"]
                        done.add(tx_hash)
                outstanding = [tx for tx in outstanding if tx.hash_hex not in done]
                time.sleep(self.pause_s)

    def _final_height(self, client: httpx.Client, peer: LocalPeer, tx_hash: str) -> int | None:
        try:
            response = client.get(
                f"{peer.url}/v1/txs/{tx_hash}", params={"wait": "final", "timeout_ms": 2000}
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        answer = response.json()
        return int(answer["height"]) if answer.get("final") else None

    def _note_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)


# -- reading peers' databases ------------------------------------------------------------------


def read_chain(peer: LocalPeer) -> dict[str, Any]:
    """Heights, block hashes, state roots and transaction hashes of a peer, from its SQLite."""
    path = Path(peer.data_dir) / "chain.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        blocks = conn.execute(
            "SELECT height, hash, commit_record, tx_count FROM blocks ORDER BY height"
        ).fetchall()
        txs = conn.execute("SELECT hash, height FROM txs").fetchall()
    finally:
        conn.close()
    return {
        "blocks": [
            (h, bytes(b).hex(), json.loads(c)["record"]["state_root"], n) for h, b, c, n in blocks
        ],
        "txs": {bytes(t).hex(): h for t, h in txs},
        "tx_rows": len(txs),
    }


def assert_consistent(
    cluster: LocalCluster,
    acked: dict[str, int],
    *,
    peers: list[LocalPeer] | None = None,
    timeout_s: float = 120,
) -> int:
    """Wait until ``peers`` are at one height; then check they hold identical block hashes
    and state roots, that the chain is contiguous, and that every acknowledged transaction
    is present exactly once, at the height it was acknowledged at. Returns the height."""
    peers = peers or [p for p in cluster.peers if alive(p.pid)]

    def same_height() -> int | None:
        heights = {status(p)["height"] for p in peers}
        latest = max(status(p)["latest_ordered_height"] for p in peers)
        if len(heights) == 1 and heights == {latest}:
            return heights.pop() or None
        return None

    try:
        height = wait_until("every peer at the same height", same_height, timeout_s, 0.3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster_report(cluster)}") from None
    chains = {p.name: read_chain(p) for p in peers}
    reference = chains[peers[0].name]
    heights = [b[0] for b in reference["blocks"]]
    assert heights == list(range(len(heights))), "heights are not contiguous"
    assert sum(b[3] for b in reference["blocks"]) == reference["tx_rows"]
    for name, chain in chains.items():
        assert chain["blocks"] == reference["blocks"], f"{name} differs from {peers[0].name}"
        assert chain["tx_rows"] == reference["tx_rows"]
        missing = [h for h in acked if h not in chain["txs"]]
        assert not missing, f"{name} lost {len(missing)} acknowledged transactions"
        wrong = [h for h, at in acked.items() if chain["txs"][h] != at]
        assert not wrong, f"{name} holds {len(wrong)} acknowledged txs at another height"
    return int(height)
