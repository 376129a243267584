"""A new user's consortium journey with the real `amchain` command, real etcd and real peers:
`cluster up`, vehicle events through one peer, the same history with identical proofs from
every other peer (checked offline with `amchain verify`), a peer and the etcd leader
killed by hand, the network carrying on, and `cluster status` showing every peer at the
same height and state root afterwards; `cluster down` stops everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from amchain.node.localnet import LocalCluster, alive
from tests.cluster_support import status, wait_until

pytestmark = pytest.mark.slow
VIN = "1HGCM82633A004352"
BUNDLE_FIELDS = ("format", "kind", "chain_id", "height", "certificate", "vin", "record", "events")


def amchain(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "amchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    if check:
        assert result.returncode == 0, f"amchain {' '.join(args)}: {result.stderr}{result.stdout}"
    return result


def test_cluster_up_events_proofs_faults_status_and_down(tmp_path: Path) -> None:
    where = tmp_path / "consortium"
    up = amchain("cluster", "up", "--peers", "3", "--etcd", "3", "--dir", str(where))
    cluster = LocalCluster.load(where)
    try:
        for peer in cluster.peers:
            assert peer.url in up.stdout
        for member in cluster.etcd:
            assert member.client_url in up.stdout
        first, second, third = cluster.peers
        common = ["--data-dir", str(where)]
        amchain(
            "vehicle", "register", VIN, "--make", "Honda", "--model", "Accord", "--year", "2003",
            "--as", "oem", "--node", first.url, *common,
        )  # fmt: skip
        for km in (12_000, 25_000):
            amchain(
                "vehicle", "event", VIN, "odometer", "--odometer-km", str(km),
                "--as", "registry", "--node", first.url, *common,
            )  # fmt: skip
        refused = amchain(
            "vehicle", "event", VIN, "odometer", "--odometer-km", "20000",
            "--as", "registry", "--node", first.url, *common,
            check=False,
        )  # fmt: skip
        assert refused.returncode == 1 and "vehicles/7" in refused.stderr

        # Every peer serves the same history with an identical proof at one final height.
        head = status(first)["height"]
        wait_until(
            "every peer final at the head",
            lambda: all(status(p)["final_height"] >= head for p in cluster.peers),
        )
        answers = [
            httpx.get(
                f"{p.url}/v1/vehicles/{VIN}/history",
                params={"proof": "true", "height": head},
                timeout=30,
            ).json()
            for p in cluster.peers
        ]
        assert [a["event_count"] for a in answers] == [3, 3, 3]
        proofs = [{k: a[k] for k in BUNDLE_FIELDS} for a in answers]
        assert proofs[1] == proofs[0] == proofs[2]
        assert proofs[0]["height"] == head
        assert len(proofs[0]["certificate"]["signatures"]) >= 2
        saved = tmp_path / "history.json"
        amchain("vehicle", "history", VIN, "--node", third.url, "--out", str(saved))
        verified = amchain("verify", str(saved), "--peers-file", str(where / "peers.json"))
        assert verified.returncode == 0, verified.stdout

        # Kill a peer and the etcd leader by hand: the network carries on.
        os.kill(second.pid, 9)
        leader = cluster.etcd_leader()
        assert leader is not None
        os.kill(leader.pid, 9)
        wait_until("both to be gone", lambda: not alive(second.pid) and not alive(leader.pid))
        amchain(
            "vehicle", "event", VIN, "serviced", "--odometer-km", "26000",
            "--field", 'work_items=["oil"]', "--as", "dealer", "--node", third.url, *common,
        )  # fmt: skip
        # `cluster up` again starts what is not running; the peer catches up.
        amchain("cluster", "up", "--dir", str(where))
        cluster = LocalCluster.load(where)
        target = max(status(p)["height"] for p in cluster.peers)

        def converged() -> dict | None:
            report = json.loads(amchain("cluster", "status", "--dir", str(where), "--json").stdout)
            peers = report["peers"]
            heights = {p["height"] for p in peers}
            roots = {p["state_root"] for p in peers}
            ok = len(heights) == 1 and heights.pop() >= target and len(roots) == 1
            return report if ok and all(m["running"] for m in report["etcd"]) else None

        report = wait_until("`cluster status` to show one height and root", converged, 90, 0.5)
        assert all(not p["halted"] for p in report["peers"])
        assert sum(m["leader"] for m in report["etcd"]) == 1
        table = amchain("cluster", "status", "--dir", str(where)).stdout
        assert all(p.name in table for p in cluster.peers)
    finally:
        down = amchain("cluster", "down", "--dir", str(where), check=False)
    assert down.returncode == 0
    stopped = LocalCluster.load(where)
    assert not any(alive(p.pid) for p in [*stopped.peers, *stopped.etcd])
    for peer in cluster.peers:
        assert not alive(peer.pid)
