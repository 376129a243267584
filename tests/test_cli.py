"""End-to-end tests of the ``amchain`` CLI: a real ``amchain up`` subprocess, driven only
through the CLI (``python -m amchain.cli``), as in the acceptance scenario."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from amchain.bench import NodeProcess, NodeStartError, free_port
from amchain.modules.vehicles import VehiclesCode
from amchain.runtime import INSTALLED_MODULES, default_registry

pytestmark = pytest.mark.slow

VIN = "1HGCM82633A004352"
ROLLBACK = f"vehicles/{int(VehiclesCode.ODOMETER_ROLLBACK)}"
BUYER_MISSING = f"vehicles/{int(VehiclesCode.BUYER_SIGNATURE_MISSING)}"
INVALID_VIN = f"vehicles/{int(VehiclesCode.INVALID_VIN)}"


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1")
    env.pop("AMCHAIN_NODE", None)
    env.pop("AMCHAIN_DATA_DIR", None)
    env.update(extra)
    return env


@pytest.fixture
def start_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    started: list[NodeProcess] = []

    def start(*extra: str) -> NodeProcess:
        data_dir = tmp_path_factory.mktemp("amchain-data")
        up = NodeProcess(
            data_dir,
            extra_args=extra,
            log_path=data_dir.parent / f"{data_dir.name}-up.log",
            env=cli_env(),
        )
        started.append(up)
        try:
            return up.start()
        except NodeStartError as exc:
            pytest.fail(f"amchain up did not start: {exc}")

    try:
        yield start
    finally:
        for up in started:
            up.stop()


@pytest.fixture
def up(start_up) -> NodeProcess:  # type: ignore[no-untyped-def]
    return start_up()


def run_cli(
    up: NodeProcess, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amchain.cli", *args],
        capture_output=True, text=True, timeout=60,
        env=env or cli_env(AMCHAIN_NODE=up.url, AMCHAIN_DATA_DIR=str(up.data_dir)),
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_acceptance_scenario(up: NodeProcess) -> None:
    # status and keys
    status = json.loads(ok(run_cli(up, "status", "--json")))
    assert status["chain_id"] and status["modules"] == list(INSTALLED_MODULES)
    assert "chain id" in ok(run_cli(up, "status"))
    keys = json.loads(ok(run_cli(up, "keys", "list", "--json")))["keys"]
    names = {k["name"] for k in keys}
    assert {"oem", "dealer", "registry", "insurer", "service_center"} <= names
    assert "registry" in ok(run_cli(up, "keys", "list"))

    # people: alice (new key) and bob (a key made first with `keys new`)
    out = ok(run_cli(up, "did", "create", "--as", "dealer", "--name", "alice"))
    alice = next(k for k in json.loads(ok(run_cli(up, "keys", "list", "--json")))["keys"]
                 if k["name"] == "alice")  # fmt: skip
    assert alice["did"].startswith("did:amc:") and alice["did"] in out
    ok(run_cli(up, "keys", "new", "bob"))
    bob = json.loads(ok(run_cli(up, "did", "create", "--as", "dealer", "--name", "bob", "--json")))
    assert bob["status"] == "committed" and bob["did"].startswith("did:amc:")
    resolved = json.loads(ok(run_cli(up, "did", "resolve", alice["did"], "--json")))
    assert resolved["didDocument"]["id"] == alice["did"]
    assert alice["did"] in ok(run_cli(up, "did", "resolve", alice["did"]))

    # a vehicle and its odometer readings
    registered = ok(run_cli(up, "vehicle", "register", VIN, "--make", "Honda", "--model",
                            "Accord", "--year", "2003", "--as", "oem"))  # fmt: skip
    assert "committed" in registered and "height" in registered
    for km in ("12000", "25000"):
        ok(run_cli(up, "vehicle", "event", VIN, "odometer", "--odometer-km", km, "--as",
                   "registry"))  # fmt: skip

    # the rollback is refused, with its code on stderr
    refused = run_cli(up, "vehicle", "event", VIN, "odometer", "--odometer-km", "20000",
                      "--as", "registry")  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"error {ROLLBACK}:" in refused.stderr
    assert "25000" in refused.stderr

    # a transfer without the buyer's signature is refused; with it, it goes through
    unsigned = run_cli(up, "vehicle", "transfer", VIN, "--to", alice["did"], "--as", "oem")
    assert unsigned.returncode == 1 and f"error {BUYER_MISSING}:" in unsigned.stderr
    moved = json.loads(ok(run_cli(up, "vehicle", "transfer", VIN, "--to", alice["did"],
                                  "--as", "oem", "--cosigner", "alice", "--json")))  # fmt: skip
    assert moved["status"] == "committed" and moved["receipt"]["ok"]

    # history: events in order, two owners, the refused rollback and who tried it
    history = json.loads(ok(run_cli(up, "vehicle", "history", VIN, "--json")))
    events = history["events"]
    assert [e["type"] for e in events] == ["produced", "odometer", "odometer",
                                           "ownership_transferred"]  # fmt: skip
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    assert [e["odometer_km"] for e in events[1:3]] == [12000, 25000]
    flags = history["flags"]
    assert flags["owners_count"] == 2 and flags["owner"] == alice["did"]
    (attempt,) = flags["refused_odometer_rollbacks"]
    assert attempt["attempted_km"] == 20000 and attempt["last_km"] == 25000
    assert attempt["tried_by"][0]["org"] == "registry"
    assert "refused" in history["summary"]
    table = ok(run_cli(up, "vehicle", "history", VIN))
    assert "ownership_transferred" in table and "refused odometer rollbacks: 1" in table
    assert "by registry: 20,000 km" in table and "summary:" in table
    shown = json.loads(ok(run_cli(up, "vehicle", "show", VIN, "--json")))
    assert shown["owners_count"] == 2 and shown["last_odometer_km"] == 25000
    assert VIN in ok(run_cli(up, "vehicle", "show", VIN))

    # the transaction by hash
    tx = json.loads(ok(run_cli(up, "tx", "show", moved["hash"], "--json")))
    assert tx["status"] == "committed" and tx["height"] == moved["height"]
    assert "vehicles.record_event" in ok(run_cli(up, "tx", "show", moved["hash"]))

    # typed --field values
    serviced = run_cli(
        up,
        "vehicle",
        "event",
        VIN,
        "serviced",
        "--odometer-km",
        "26000",
        "--field",
        "work_items=oil,filter",
        "--as",
        "service_center",
        "--json",
    )
    assert json.loads(ok(serviced))["status"] == "committed"
    history = json.loads(ok(run_cli(up, "vehicle", "history", VIN, "--json")))
    assert history["events"][-1]["fields"]["work_items"] == ["oil", "filter"]


def test_refusals_and_usage_errors(up: NodeProcess) -> None:
    bad_vin = run_cli(up, "vehicle", "register", "1HGCM82633A004353", "--make", "Honda",
                      "--model", "Accord", "--year", "2003", "--as", "oem")  # fmt: skip
    assert bad_vin.returncode == 1 and f"error {INVALID_VIN}:" in bad_vin.stderr
    too_short = run_cli(up, "vehicle", "register", "ABC", "--make", "X", "--model", "Y",
                        "--year", "2003", "--as", "oem")  # fmt: skip
    assert too_short.returncode != 0 and INVALID_VIN in too_short.stderr

    unknown_type = run_cli(up, "vehicle", "event", VIN, "teleported", "--as", "registry")
    assert unknown_type.returncode == 2
    assert "odometer" in unknown_type.stderr and "ownership_transferred" in unknown_type.stderr
    unknown_field = run_cli(up, "vehicle", "event", VIN, "serviced", "--odometer-km", "5",
                            "--field", "colour=red", "--as", "service_center")  # fmt: skip
    assert unknown_field.returncode == 2 and "work_items" in unknown_field.stderr
    bad_int = run_cli(up, "vehicle", "event", VIN, "accident", "--field", "occurred_at_ms=x",
                      "--field", "severity=minor", "--as", "insurer")  # fmt: skip
    assert bad_int.returncode == 2
    unknown_key = run_cli(up, "vehicle", "event", VIN, "odometer", "--odometer-km", "1",
                          "--as", "nobody")  # fmt: skip
    assert unknown_key.returncode == 2 and "nobody" in unknown_key.stderr
    missing = run_cli(up, "vehicle", "register", VIN, "--make", "X", "--as", "oem")
    assert missing.returncode == 2

    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = run_cli(up, "--node", closed, "status")
    assert unreachable.returncode == 3
    assert f"cannot reach node at {closed}" in unreachable.stderr

    taken = subprocess.run(
        [sys.executable, "-m", "amchain.cli", "up", "--data-dir", str(up.data_dir / "other"),
         "--port", up.url.rsplit(":", 1)[1]],
        capture_output=True, text=True, timeout=60, env=cli_env(),
    )  # fmt: skip
    assert taken.returncode != 0 and "already in use" in taken.stderr


def _count_demo(url: str) -> tuple[int, int]:
    """(vehicles registered, refused odometer rollbacks) so far, from the event stream."""
    from amchain.sdk import Client

    vehicles = rollbacks = 0
    with Client(url) as client:
        head = client.status().height
        for block in client.events(from_height=0):
            vehicles += sum(1 for e in block.events if e["type"] == "vehicles.registered")
            rollbacks += sum(1 for f in block.failed
                             if f"{f['codespace']}/{f['code']}" == ROLLBACK)  # fmt: skip
            if block.height >= head:
                break
    return vehicles, rollbacks


def test_demo_traffic(start_up) -> None:  # type: ignore[no-untyped-def]
    up = start_up("--demo", "--demo-vehicles", "3")
    deadline = time.monotonic() + 60
    counts = (0, 0)
    while time.monotonic() < deadline:
        counts = _count_demo(up.url)
        if counts[0] >= 3 and counts[1] >= 1:
            break
        time.sleep(1)
    assert counts[0] >= 3 and counts[1] == 1, f"{counts}\n{up.output()}"
    # the trickle keeps blocks coming, and the server is still healthy
    height = httpx.get(f"{up.url}/v1/status").json()["height"]
    time.sleep(5)
    assert httpx.get(f"{up.url}/v1/status").json()["height"] > height
    assert _count_demo(up.url)[1] == 1  # exactly one rollback attempt
    # every module that declares demo traffic runs it, refusals only where it meant them
    demos = [spec.name for spec in default_registry().modules if spec.demo is not None]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(f"demo: {m}:" in up.output() for m in demos):
        time.sleep(1)
    for module in demos:
        line = next(x for x in up.output().splitlines() if f"demo: {module}:" in x)
        assert "refused as expected" in line and "unexpected" not in line, up.output()
    assert "NOT refused" not in up.output()
    up.stop()
    assert up.returncode == 0, up.output()
    assert "refused as expected" in up.output()


def test_saved_history_proof_verifies_and_any_edit_is_caught(
    up: NodeProcess, tmp_path: Path
) -> None:
    ok(run_cli(up, "vehicle", "register", VIN, "--make", "Honda", "--model", "Accord",
               "--year", "2003", "--as", "oem"))  # fmt: skip
    for km in ("12000", "25000", "31000"):
        ok(
            run_cli(
                up, "vehicle", "event", VIN, "odometer", "--odometer-km", km, "--as", "registry"
            )
        )
    bundle_path = tmp_path / "history.json"
    out = ok(run_cli(up, "vehicle", "history", VIN, "--proof", "--out", str(bundle_path)))
    assert f"amchain verify {bundle_path}" in out
    verified = ok(run_cli(up, "verify", str(bundle_path)))
    assert "verified" in verified and "4 events, complete and in order" in verified

    bundle = json.loads(bundle_path.read_text())
    node_key = json.loads(ok(run_cli(up, "status", "--json")))["node_key"]

    def refused(edit: Any, *extra: str) -> str:
        changed = json.loads(json.dumps(bundle))
        edit(changed)
        path = tmp_path / "edited.json"
        path.write_text(json.dumps(changed))
        result = run_cli(up, "verify", str(path), *extra)
        assert result.returncode == 1, f"{result.stdout}\n{result.stderr}"
        return result.stderr

    assert "history of 1HGCM82633A004352 is incomplete" in refused(lambda b: b["events"].pop(2))
    assert "was altered" in refused(lambda b: b["events"][2].update(odometer_km=2500))

    def forge(b: dict[str, Any]) -> None:
        sig = b["certificate"]["signatures"][0]
        sig["signature"] = ("1" if sig["signature"][0] == "0" else "0") + sig["signature"][1:]

    assert "proof/5" in refused(forge) and "forged" in refused(forge)
    # the same bundle, checked against a peer key that did not sign it
    other = "ab" * 32
    assert "proof/4" in refused(lambda b: None, "--peer-key", other)
    # explicit trust in the node's key (what a verifier on another machine passes)
    assert "verified" in ok(run_cli(up, "verify", str(bundle_path), "--peer-key", node_key))
