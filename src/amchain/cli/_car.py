"""A simulated car: the vehicle agent as a child process, speaking JSON lines on stdin/stdout.

``amchain vehicle unlock`` starts it (``python -m amchain.cli._car …``) as a phone would
reach a car over BLE or NFC. On start the car refreshes its snapshot and uploads its access
log when it can reach the node (unless ``--offline``), then answers:

    {"op": "challenge", "action": "trunk"}      → {"type": "challenge", "nonce", ...}
    {"op": "present", "presentation": {...}}    → {"type": "decision", "allowed", "reason", ...}
    {"op": "close"}                             → {"type": "closed", "logged": n, ...}

Its state (snapshot, open challenges, unsent log) lives in ``<data dir>/cars/<VIN>.json``;
the consortium peer key it trusts in ``<data dir>/cars/<VIN>.trust.json`` (taken from the
node the first time the car goes online: trust on first use, as a car provisioned at the
factory would be).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from amchain.node import Keystore, KeystoreError
from amchain.sdk import AmchainError, Client
from amchain.sdk.vehicle_agent import DEFAULT_MAX_SNAPSHOT_AGE_MS, SnapshotError, VehicleAgent


def car_key_name(vin: str) -> str:
    """The keystore name of a vehicle's on-board key."""
    return f"vehicle-{vin}"


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _trusted_peers(path: Path, client: Client | None) -> list[str]:
    if path.exists():
        return list(json.loads(path.read_text())["trusted_peer_keys"])
    if client is None:
        return []
    keys = [client.status().node_key]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"trusted_peer_keys": keys}))
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="amchain-car")
    parser.add_argument("--vin", required=True)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--node", required=True)
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--clock-offset-ms", type=int, default=0)
    parser.add_argument("--max-age-ms", type=int, default=DEFAULT_MAX_SNAPSHOT_AGE_MS)
    args = parser.parse_args(argv)

    offset_ms = int(args.clock_offset_ms)

    def clock() -> int:
        return time.time_ns() // 1_000_000 + offset_ms

    cars = args.data_dir / "cars"
    try:
        key = Keystore(args.data_dir).get(car_key_name(args.vin)).key
    except KeystoreError as exc:
        _send({"type": "error", "message": f"this car has no on-board key: {exc}"})
        return 2
    client = None if args.offline else Client(args.node, timeout=15.0)
    note = ""
    try:
        peers = _trusted_peers(cars / f"{args.vin}.trust.json", client)
    except AmchainError as exc:
        peers, client, note = [], None, f"no connection: {exc}"
        peers = _trusted_peers(cars / f"{args.vin}.trust.json", None)
    if not peers:
        _send({"type": "error", "message": "the car was never online: it trusts no peer yet"})
        return 2
    agent = VehicleAgent(
        args.vin,
        key,
        trusted_peer_keys=peers,
        max_snapshot_age_ms=args.max_age_ms,
        clock=clock,
        state_path=cars / f"{args.vin}.json",
    )
    refreshed = False
    if client is not None:
        try:
            agent.refresh(client)
            refreshed = True
        except (AmchainError, SnapshotError) as exc:
            note = f"refresh failed, deciding on the cached snapshot: {exc}"
    agent.save()
    snapshot = agent.snapshot
    _send(
        {
            "type": "ready",
            "vehicle": agent.did,
            "online": client is not None,
            "refreshed": refreshed,
            "note": note,
            "snapshot_height": None if snapshot is None else snapshot.height,
            "snapshot_age_ms": None if snapshot is None else clock() - snapshot.time_ms,
            "max_age_ms": args.max_age_ms,
        }
    )
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            _send({"type": "error", "message": "not JSON"})
            continue
        op = request.get("op")
        if op == "challenge":
            _send(agent.challenge(str(request.get("action", ""))).to_json())
        elif op == "present":
            decision = agent.decide(request.get("presentation") or {})
            agent.save()
            _send(decision.to_json())
        elif op == "close":
            pending = len(agent.pending_log)
            logged: dict[str, Any] = {"type": "closed", "pending": pending, "logged": 0}
            if client is not None and pending:
                try:
                    agent.refresh(client)
                    logged.update(
                        logged=pending, height=agent.snapshot.height if agent.snapshot else None
                    )
                except (AmchainError, SnapshotError) as exc:
                    logged["note"] = f"log kept for the next connection: {exc}"
            agent.save()
            _send(logged)
            break
        else:
            _send({"type": "error", "message": f"unknown op {op!r}"})
    if client is not None:
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
