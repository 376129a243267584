"""``vs-ganache``: the same count of simple transfers on Ganache and on the embedded node.

Ganache (npm package ``ganache``, pinned below, installed into ``bench/.ganache`` on first
use with ``npm``) is started on 127.0.0.1 by this script and stopped by its PID. Its
transfers are ``eth_sendTransaction`` value transfers between unlocked accounts (Ganache
signs them; ``instamine`` mines each as it arrives), sent as JSON-RPC batches from several
threads; they are counted from their receipts (``status`` 1). On amchain the same count of
``tokens.transfer`` value transfers (one minor unit of a settlement token between funded
person accounts, each signed by its payer: value transfer against value transfer) is sent
pre-signed through the SDK's batch submission and counted from receipts. If Ganache cannot
be installed or started, the workload says so and reports no Ganache figure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from amchain.bench._lifecycle import Actors, person_key
from amchain.bench._process import NodeProcess, free_port, scratch_dir
from amchain.bench._report import Report
from amchain.bench._transfers import DENOM, fund_persons, transfer_txs
from amchain.bench.ingest import EXPIRES_IN_MS, actors_of, create_persons
from amchain.node import Keystore
from amchain.sdk import Client

GANACHE_VERSION = "7.9.2"


@dataclass(frozen=True)
class VsGanacheOptions:
    count: int = 2000
    threads: int = 8
    rpc_batch: int = 25
    batch: int = 500
    ganache_dir: Path = Path("bench/.ganache")
    duration_s: float | None = None
    """Upper bound for each side's run (the count is sent unless this passes first)."""


class GanacheUnavailable(RuntimeError):
    """Ganache could not be installed or started; no figure is made up for it."""


def ensure_ganache(directory: Path) -> Path:
    """Install ganache@GANACHE_VERSION into ``directory`` if needed; return its cli.js.

    Raises:
        GanacheUnavailable: node or npm is missing, or the install failed.
    """
    cli = directory / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
    manifest = directory / "node_modules" / "ganache" / "package.json"
    if cli.exists() and json.loads(manifest.read_text()).get("version") == GANACHE_VERSION:
        return cli
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise GanacheUnavailable("node and npm are needed to run Ganache (Debian: nodejs, npm)")
    directory.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(directory),
            "--save-exact",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"ganache@{GANACHE_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not cli.exists():
        raise GanacheUnavailable(
            f"npm install ganache@{GANACHE_VERSION} failed: {result.stderr.strip()[-800:]}"
        )
    return cli


class Ganache:
    """A Ganache process on 127.0.0.1, stopped by its PID."""

    def __init__(self, cli: Path, accounts: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                "node",
                str(cli),
                "--server.host",
                "127.0.0.1",
                "--server.port",
                str(self.port),
                "--wallet.totalAccounts",
                str(accounts),
                "--logging.quiet",
                "--miner.instamine",
                "eager",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace")[-800:]  # type: ignore[union-attr]
                raise GanacheUnavailable(f"ganache exited with {self.process.returncode}: {err}")
            try:
                self.rpc("eth_blockNumber", [])
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise GanacheUnavailable("ganache did not answer within 60 s")

    def rpc(self, method: str, params: list[Any]) -> Any:
        response = httpx.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=30,
        )
        return response.json()["result"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # by PID: Popen signals exactly this process
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


def run_ganache_side(options: VsGanacheOptions, report: Report) -> float | None:
    """Send ``count`` transfers to Ganache; return transfers/s (None if unavailable)."""
    try:
        cli = ensure_ganache(options.ganache_dir)
        ganache = Ganache(cli, accounts=2 * options.threads)
    except GanacheUnavailable as exc:
        report.notes.append(f"Ganache unavailable, no Ganache figure: {exc}")
        report.ok = False
        return None
    try:
        accounts = ganache.rpc("eth_accounts", [])
        per_thread = options.count // options.threads
        hashes: list[str] = []
        lock = threading.Lock()
        deadline = None if options.duration_s is None else time.monotonic() + options.duration_s

        def sender(t: int) -> None:
            sender_account, receiver = accounts[t], accounts[options.threads + t]
            with httpx.Client(timeout=120) as http:
                sent = 0
                while sent < per_thread:
                    if deadline is not None and time.monotonic() > deadline:
                        return
                    n = min(options.rpc_batch, per_thread - sent)
                    calls = [
                        {
                            "jsonrpc": "2.0",
                            "id": sent + i,
                            "method": "eth_sendTransaction",
                            "params": [{"from": sender_account, "to": receiver, "value": "0x1"}],
                        }
                        for i in range(n)
                    ]
                    answers = http.post(ganache.url, json=calls).json()
                    with lock:
                        hashes.extend(a["result"] for a in answers if "result" in a)
                    sent += n

        threads = [threading.Thread(target=sender, args=(t,)) for t in range(options.threads)]
        started = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.monotonic() - started
        ok = 0
        with httpx.Client(timeout=120) as http:
            for i in range(0, len(hashes), 200):
                calls = [
                    {
                        "jsonrpc": "2.0",
                        "id": j,
                        "method": "eth_getTransactionReceipt",
                        "params": [h],
                    }
                    for j, h in enumerate(hashes[i : i + 200])
                ]
                for answer in http.post(ganache.url, json=calls).json():
                    receipt = answer.get("result")
                    if receipt is not None and receipt.get("status") == "0x1":
                        ok += 1
    finally:
        ganache.stop()
    rate = ok / elapsed if elapsed > 0 else 0.0
    report.add("Ganache transfers", ok, "tx", f"receipts with status 1, in {elapsed:.1f} s")
    report.add("Ganache rate", rate, "tx/s", f"ganache@{GANACHE_VERSION}, instamine eager")
    return rate


def run_amchain_side(options: VsGanacheOptions, report: Report) -> float:
    """Create and fund 16 person accounts (not timed), then send ``count`` token transfers
    (timed)."""
    with scratch_dir("amchain-bench-vs-ganache-") as directory:
        return _run_amchain_side(options, report, directory)


def _run_amchain_side(options: VsGanacheOptions, report: Report, directory: Path) -> float:
    with NodeProcess(directory) as node, Client(node.url, timeout=120) as client:
        chain_id = client.chain_id()
        actors: Actors = actors_of(directory, chain_id)
        create_persons(node.url, actors, clients=1, per_client=16)
        persons = [person_key(0, i) for i in range(16)]
        fund_persons(node.url, chain_id, Keystore(directory).get("financier").key, persons)
        transfers = [
            tx
            for _, tx in transfer_txs(chain_id, persons, options.count, expires_in_ms=EXPIRES_IN_MS)
        ]
        pending: list[threading.Thread] = []
        committed = [0]
        lock = threading.Lock()
        chunks = [transfers[i : i + options.batch] for i in range(0, len(transfers), options.batch)]

        def sender(mine: list[list[Any]]) -> None:
            with Client(node.url, timeout=120) as own:
                for batch in mine:
                    results = own.submit(batch, wait="commit", timeout_ms=60_000)
                    n = sum(1 for r in results if r.committed and (r.receipt or {}).get("ok"))
                    with lock:
                        committed[0] += n

        lanes = 4
        started = time.monotonic()
        for lane in range(lanes):
            th = threading.Thread(target=sender, args=(chunks[lane::lanes],))
            th.start()
            pending.append(th)
        for th in pending:
            th.join()
        elapsed = time.monotonic() - started
    rate = committed[0] / elapsed if elapsed > 0 else 0.0
    report.add(
        "amchain transfers",
        committed[0],
        "tx",
        f"tokens.transfer of {DENOM}, 1 signature each, in {elapsed:.2f} s",
    )
    report.add("amchain rate", rate, "tx/s", "embedded node, synchronous=FULL")
    if committed[0] < len(transfers):
        report.notes.append(f"{len(transfers) - committed[0]} amchain transfers did not commit")
        report.ok = False
    return rate


def run_vs_ganache(options: VsGanacheOptions) -> Report:
    report = Report(
        "vs-ganache",
        params={
            "count": options.count,
            "ganache": f"ganache@{GANACHE_VERSION}, eth_sendTransaction, {options.threads} "
            f"threads, JSON-RPC batches of {options.rpc_batch}",
            "amchain": f"pre-signed tokens.transfer ({DENOM}), SDK batches of {options.batch}, "
            "4 threads",
        },
    )
    ganache_rate = run_ganache_side(options, report)
    amchain_rate = run_amchain_side(options, report)
    if ganache_rate:
        report.add("ratio", amchain_rate / ganache_rate, "×", "amchain rate / Ganache rate")
    return report
