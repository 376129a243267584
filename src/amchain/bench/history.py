"""``history``: time to serve and to verify a vehicle history of 10, 100 and 1,000 events.

Serve: ``GET /v1/vehicles/{vin}/history?proof=true`` on a node in its own process (HTTP on
loopback), from sending the request to holding the whole answer: the history with its proof
bundle. Verify: what the receiver does with those bytes, offline: parse the JSON, then the
light client (``amchain.sdk.light.LightClient``, trusting the node's key) checks the commit
certificate's signature, the state proof of the vehicle record against the signed state
root, and every entry's hash and link up to the record's head and count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from amchain.bench._lifecycle import make_vin
from amchain.bench._process import NodeProcess, scratch_dir
from amchain.bench._report import Report, percentile
from amchain.bench.ingest import EXPIRES_IN_MS, actors_of
from amchain.sdk import Client, build_tx
from amchain.sdk.light import LightClient


@dataclass(frozen=True)
class HistoryOptions:
    sizes: tuple[int, ...] = (10, 100, 1000)
    repeats: int = 50


def _fill(client: Client, actors, vin: str, events: int) -> None:  # type: ignore[no-untyped-def]
    txs = [
        build_tx(
            chain_id=actors.chain_id,
            signers=[actors.oem],
            module="vehicles",
            message="register_vehicle",
            args={"vin": vin, "make": "Volkswagen", "model": "ID.3", "model_year": 2024},
            expires_in_ms=EXPIRES_IN_MS,
        )
    ]
    for i in range(events - 1):  # the registration is history entry #0
        event = (
            {"type": "odometer", "odometer_km": 1000 + 100 * i}
            if i % 2 == 0
            else {"type": "serviced", "odometer_km": 1000 + 100 * i, "work_items": ["oil_change"]}
        )
        signer = actors.registry if i % 2 == 0 else actors.service_center
        txs.append(
            build_tx(
                chain_id=actors.chain_id,
                signers=[signer],
                module="vehicles",
                message="record_event",
                args={"vin": vin, "event": event},
                expires_in_ms=EXPIRES_IN_MS,
            )
        )
    for i in range(0, len(txs), 500):
        results = client.submit(txs[i : i + 500], wait="commit", timeout_ms=60_000)
        bad = [r for r in results if not (r.committed and (r.receipt or {}).get("ok"))]
        if bad:
            raise RuntimeError(f"filling the history failed: {bad[0]}")


def run_history(options: HistoryOptions) -> Report:
    """Run the workload in a scratch directory, removed afterwards."""
    with scratch_dir("amchain-bench-history-") as directory:
        return _run_history(options, directory)


def _run_history(options: HistoryOptions, directory: Path) -> Report:
    report = Report("history", params={"sizes": list(options.sizes), "repeats": options.repeats})
    rows = []
    with NodeProcess(directory) as node, Client(node.url, timeout=120) as client:
        status = client.status()
        actors = actors_of(directory, status.chain_id)
        light = LightClient(trusted_peers=[status.node_key], chain_id=status.chain_id)
        for n, size in enumerate(options.sizes):
            vin = make_vin(9, n)
            _fill(client, actors, vin, size)
            serve: list[float] = []
            verify: list[float] = []
            size_bytes = 0
            with httpx.Client(timeout=60) as http:
                for _ in range(options.repeats):
                    t0 = time.perf_counter()
                    response = http.get(
                        f"{node.url}/v1/vehicles/{vin}/history", params={"proof": "true"}
                    )
                    response.read()
                    t1 = time.perf_counter()
                    data = response.json()
                    light.verify_bundle(data)  # raises ProofError if anything is off
                    t2 = time.perf_counter()
                    if data["event_count"] != size:
                        raise RuntimeError(f"history of {vin} has {data['event_count']} events")
                    serve.append(t1 - t0)
                    verify.append(t2 - t1)
                    size_bytes = len(response.content)
            rows.append(
                {
                    "events": size,
                    "serve p50 ms": (percentile(serve, 50) or 0) * 1000,
                    "serve p99 ms": (percentile(serve, 99) or 0) * 1000,
                    "verify p50 ms": (percentile(verify, 50) or 0) * 1000,
                    "response KiB": size_bytes / 1024,
                }
            )
    report.tables["history: serve and verify"] = rows
    for row in rows:
        report.add(
            f"serve {row['events']} events, p50",
            row["serve p50 ms"],
            "ms",
            "GET /v1/vehicles/{vin}/history?proof=true, loopback, until the answer is in",
        )
        report.add(
            f"verify {row['events']} events, p50",
            row["verify p50 ms"],
            "ms",
            "parse the answer, then the light client: certificate, state proof, hash chain",
        )
    return report
