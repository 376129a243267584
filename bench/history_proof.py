"""Vehicle history with its completeness proof: time to serve and time to verify.

Starts an embedded node in this process (uvicorn on a free loopback port, solo ordering,
``synchronous=FULL``), registers one vehicle, records ``--events - 1`` odometer readings
(signed, batched, committed), then measures ``GET /v1/vehicles/{vin}/history?proof=true``
over HTTP (server + client time) and the offline check by ``amchain.sdk.light``.
Issue 3's targets for 1,000 events: served in <= 20 ms, verified in <= 50 ms.

    .venv/bin/python bench/history_proof.py [--events 1000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from amchain.api import create_app
from amchain.node import Keystore, Node, NodeConfig
from amchain.sdk import Signer, build_tx
from amchain.sdk.light import LightClient

VIN = "1HGCM82633A004352"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="amchain-bench-history-"))
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    node = Node.open(NodeConfig(data_dir=data_dir, port=port, max_block_wait_ms=20))
    server = uvicorn.Server(
        uvicorn.Config(create_app(node, manage_node=True), port=port, log_level="warning")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            keys = Keystore(data_dir)
            oem, registry = Signer(keys.get("oem").key), Signer(keys.get("registry").key)
            chain_id = node.chain_id

            def tx(signer: Signer, message: str, args: dict) -> dict:
                return build_tx(
                    chain_id=chain_id, signers=[signer], module="vehicles", message=message,
                    args=args,
                ).to_wire()  # fmt: skip

            register = {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003}
            http.post("/v1/txs", json=tx(oem, "register_vehicle", register),
                      params={"wait": "commit"}).raise_for_status()  # fmt: skip
            readings = [
                tx(registry, "record_event",
                   {"vin": VIN, "event": {"type": "odometer", "odometer_km": 100 * (i + 1)}})
                for i in range(options.events - 1)
            ]  # fmt: skip
            # Readings must land in order (each exceeds the last), so one batch per block.
            for start in range(0, len(readings), 200):
                batch = readings[start : start + 200]
                http.post("/v1/txs", json={"txs": batch}, params={"wait": "commit"})
            served: list[float] = []
            body = b""
            for _ in range(options.repeat):
                t0 = time.perf_counter()
                response = http.get(f"/v1/vehicles/{VIN}/history", params={"proof": "true"})
                served.append(time.perf_counter() - t0)
                response.raise_for_status()
                body = response.content
            answer = json.loads(body)
            assert answer["event_count"] == options.events, answer["event_count"]
            light = LightClient(trusted_peers=[node.node_key.public_key.hex()], quorum=1)
            bundle = body
            verified: list[float] = []
            for _ in range(options.repeat):
                t0 = time.perf_counter()
                result = light.verify_bundle(bundle)
                verified.append(time.perf_counter() - t0)
            assert result.facts["event_count"] == options.events
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    figures = {
        "events": options.events,
        "response_bytes": len(body),
        "state_proof_siblings": len(answer["record"]["proof"]["siblings"]),
        "serve_ms_median": round(statistics.median(served) * 1000, 2),
        "serve_ms_p95": round(sorted(served)[int(0.95 * (len(served) - 1))] * 1000, 2),
        "verify_ms_median": round(statistics.median(verified) * 1000, 2),
        "verify_ms_p95": round(sorted(verified)[int(0.95 * (len(verified) - 1))] * 1000, 2),
        "cores": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
