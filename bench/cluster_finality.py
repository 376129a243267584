"""Consortium benchmark: signed vehicle events to quorum finality, and a stopped peer's catch-up.

Starts a local consortium (`amchain cluster up` code: real etcd members and real peer
processes on 127.0.0.1), registers vehicles, then offers odometer events (signed by the
registry organisation) at a fixed rate through every peer's API, in batches with
`?wait=final`. Reports:

* events/s that reached quorum finality (a majority of peers signed the same commit record),
  and p50/p99 of the time from sending a batch to its final answer;
* catch-up: one peer is stopped (SIGSTOP) for 80 % of ``--stop-seconds`` under the same
  load, then resumed while the load goes on until it is back; its catch-up rate (the
  transactions it missed, over the time from its resumption to the head it had missed) is
  compared with the network's production rate while it was stopped. (Before 2026-11-22
  the phase offered load for ``--stop-seconds`` only, which ran out ~1.6 s after the
  resumption: most of the catch-up ran on a machine the load had left.) ``--stop-seconds 0``
  leaves this phase out.

    .venv/bin/python bench/cluster_finality.py [--peers 4] [--etcd 3] [--rate 1000]
        [--seconds 20] [--batch 100] [--stop-seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from amchain.crypto import KeyPair
from amchain.ledger import Transaction, make_body, sign_transaction
from amchain.node import Keystore
from amchain.node.localnet import LocalCluster

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin(i: int) -> str:
    digits = []
    for _ in range(8):
        i, r = divmod(i, len(VIN_ALPHABET))
        digits.append(VIN_ALPHABET[r])
    return "WVWZZZ1K" + "Z" + "".join(digits)


def sign(chain_id: str, key: KeyPair, module: str, message: str, args: dict) -> Transaction:
    body = make_body(
        chain_id=chain_id,
        signers=[key.public_key],
        nonce=secrets.randbelow(2**53),
        expires_at_ms=time.time_ns() // 1_000_000 + 3_600_000,
        module=module,
        message=message,
        args=args,
    )
    return sign_transaction(body, [key])


def registration(chain_id: str, oem: KeyPair, i: int) -> Transaction:
    return sign(
        chain_id,
        oem,
        "vehicles",
        "register_vehicle",
        {"vin": vin(i), "make": "VW", "model": "Golf", "model_year": 2024},
    )


def odometer(chain_id: str, registry: KeyPair, i: int, vehicles: int) -> Transaction:
    return sign(
        chain_id,
        registry,
        "vehicles",
        "record_event",
        {
            "vin": vin(i % vehicles),
            "event": {"type": "odometer", "odometer_km": 1000 + 10 * (i // vehicles)},
        },
    )


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by processes ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def post_batch(
    client: httpx.AsyncClient, url: str, txs: list[Transaction]
) -> tuple[int, float]:
    """POST a batch with wait=final; return (final count, seconds)."""
    body = b'{"txs":[' + b",".join(tx.canonical for tx in txs) + b"]}"
    started = time.perf_counter()
    for _ in range(50):
        try:
            response = await client.post(
                f"{url}/v1/txs",
                content=body,
                params={"wait": "final", "timeout_ms": 60_000},
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
            continue
        if response.status_code == 503:
            await asyncio.sleep(0.2)
            continue
        results = response.json()["results"]
        final = sum(1 for r in results if r.get("final") or r.get("status") == "refused")
        return final, time.perf_counter() - started
    return 0, time.perf_counter() - started


async def offer(
    urls: list[str],
    txs: list[Transaction],
    rate: float,
    batch: int,
    until: asyncio.Event | None = None,
) -> tuple[float, list[float], int]:
    """Offer ``txs`` at ``rate`` per second (no more once ``until`` is set); return
    (seconds, per-batch latencies, final)."""
    latencies: list[float] = []
    final_total = 0
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as client:
        tasks = []
        started = time.perf_counter()
        for n, start in enumerate(range(0, len(txs), batch)):
            if until is not None and until.is_set():
                break
            due = started + start / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(
                asyncio.create_task(
                    post_batch(client, urls[n % len(urls)], txs[start : start + batch])
                )
            )
        for result in await asyncio.gather(*tasks):
            final_total += result[0]
            latencies.append(result[1])
        elapsed = time.perf_counter() - started
    return elapsed, latencies, final_total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def height(url: str) -> int:
    return int(httpx.get(f"{url}/v1/status", timeout=10).json()["height"])


def tx_count(url: str) -> int:
    """Transactions committed on the peer (its status counts them)."""
    return int(httpx.get(f"{url}/v1/cluster/status", timeout=10).json()["tx_count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=4)
    parser.add_argument("--etcd", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--vehicles", type=int, default=4000)
    parser.add_argument(
        "--stop-seconds", type=float, default=15, help="the catch-up phase's length; 0: none"
    )
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--max-block-wait-ms", type=int, default=50)
    options = parser.parse_args()
    if options.stop_seconds < 0:
        parser.error("--stop-seconds must be 0 (no catch-up phase) or more")
    # A SIGTERM (timeout, pkill) stops the consortium too: the `finally` below runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    directory = options.dir or Path(tempfile.mkdtemp(prefix="amchain-cluster-bench-"))
    cluster = LocalCluster.create(
        directory / "cluster",
        peers=options.peers,
        etcd=options.etcd,
        max_block_wait_ms=options.max_block_wait_ms,
    )
    print(f"cluster in {cluster.directory}; cores: {os.cpu_count()}; load {load_average()}")
    cluster.start()
    try:
        keystore = Keystore(cluster.directory)
        oem, registry = keystore.get("oem").key, keystore.get("registry").key
        urls = [p.url for p in cluster.peers]
        chain_id = cluster.chain_id

        count = int(options.rate * options.seconds)
        # The catch-up phase offers load until the stopped peer is back at the head: enough
        # events for twice the stop, and no more are sent once it is back.
        stop_count = int(options.rate * options.stop_seconds * 2)
        t0 = time.perf_counter()
        registrations = [registration(chain_id, oem, i) for i in range(options.vehicles)]
        events = [
            odometer(chain_id, registry, i, options.vehicles) for i in range(count + stop_count)
        ]
        print(f"signed {len(registrations) + len(events)} txs in {time.perf_counter() - t0:.1f} s")

        elapsed, _, final = asyncio.run(offer(urls, registrations, 2000, 200))
        print(f"registered {final} vehicles in {elapsed:.1f} s")

        print(f"load before finality run: {load_average()}")
        peer_pids = [p.pid for p in cluster.peers]
        etcd_pids = [m.pid for m in cluster.etcd]
        cpu_before = (cpu_seconds(peer_pids), cpu_seconds(etcd_pids), cpu_seconds([os.getpid()]))
        elapsed, latencies, final = asyncio.run(
            offer(urls, events[:count], options.rate, options.batch)
        )
        cpu_after = (cpu_seconds(peer_pids), cpu_seconds(etcd_pids), cpu_seconds([os.getpid()]))
        peers_ms, etcd_ms, client_ms = (
            1000 * (after - before) / max(final, 1)
            for before, after in zip(cpu_before, cpu_after, strict=True)
        )
        print(
            f"CPU per final event: peers {peers_ms:.2f} ms (all {len(peer_pids)} together), "
            f"etcd {etcd_ms:.2f} ms, load generator {client_ms:.2f} ms; ceiling on 2 idle "
            f"cores for peers + etcd: {2000 / (peers_ms + etcd_ms):.0f} events/s"
        )
        print(
            f"FINALITY: offered {options.rate:.0f}/s for {options.seconds:.0f} s: {final} events "
            f"final in {elapsed:.1f} s = {final / elapsed:.0f} events/s; batch latency to "
            f"finality p50 {statistics.median(latencies):.3f} s, p99 "
            f"{percentile(latencies, 0.99):.3f} s, max {max(latencies):.3f} s "
            f"(load {load_average()})"
        )
        if not options.stop_seconds:
            return

        # Catch-up: stop the last peer while the others carry the same load; resume it
        # while the load goes on; time its return to the network's head.
        roles = {
            p.name: httpx.get(f"{p.url}/v1/cluster/status", timeout=10).json()["role"]
            for p in cluster.peers
        }
        victim = next(p for p in reversed(cluster.peers) if roles[p.name] != "cutter")
        others = [p.url for p in cluster.peers if p is not victim]
        phase: dict[str, float] = {}

        async def catch_up_phase() -> tuple[float, int]:
            back = asyncio.Event()
            load_ends_at = time.perf_counter() + (len(events) - count) / options.rate
            load = asyncio.create_task(
                offer(others, events[count:], options.rate, options.batch, until=back)
            )
            await asyncio.sleep(options.stop_seconds * 0.1)
            phase["before"] = height(others[0])
            phase["stopped_txs"] = tx_count(others[0])
            os.kill(victim.pid, signal.SIGSTOP)
            phase["stopped_at"] = time.perf_counter()
            await asyncio.sleep(options.stop_seconds * 0.8)
            phase["target"] = height(others[0])
            phase["target_txs"] = tx_count(others[0])
            phase["resumed_at"] = time.perf_counter()
            phase["victim_cpu_before"] = cpu_seconds([victim.pid])
            phase["all_cpu_before"] = cpu_seconds(peer_pids + etcd_pids + [os.getpid()])
            os.kill(victim.pid, signal.SIGCONT)
            while height_or(victim.url, 0) < phase["target"]:
                await asyncio.sleep(0.05)
            phase["caught_up_at"] = time.perf_counter()
            phase["load_ended_early"] = float(phase["caught_up_at"] > load_ends_at)
            back.set()
            phase["victim_cpu"] = cpu_seconds([victim.pid]) - phase["victim_cpu_before"]
            phase["all_cpu"] = (
                cpu_seconds(peer_pids + etcd_pids + [os.getpid()]) - phase["all_cpu_before"]
            )
            elapsed, _, final = await load
            return elapsed, final

        elapsed, final = asyncio.run(catch_up_phase())
        stopped_s = phase["resumed_at"] - phase["stopped_at"]
        missed_txs = phase["target_txs"] - phase["stopped_txs"]
        missed_blocks = phase["target"] - phase["before"]
        production_rate = missed_txs / stopped_s
        catch_up_s = phase["caught_up_at"] - phase["resumed_at"]
        catch_up_rate = missed_txs / catch_up_s
        under = (
            "resumed under the same load (the load ran out before it was back)"
            if phase["load_ended_early"]
            else "resumed under the same load, which went on until it was back"
        )
        print(
            f"CATCH-UP: peer stopped {stopped_s:.1f} s while the network committed {missed_txs} "
            f"txs in {missed_blocks} blocks ({production_rate:.0f} txs/s, "
            f"{missed_blocks / stopped_s:.1f} blocks/s); {under}, it was back at "
            f"that head in {catch_up_s:.2f} s = {catch_up_rate:.0f} txs/s, "
            f"{catch_up_rate / production_rate:.1f}x the production rate; "
            f"{final / elapsed:.0f} events/s final during the phase (load {load_average()})"
        )
        print(
            f"CATCH-UP CPU: the resumed peer used {phase['victim_cpu'] / catch_up_s:.2f} of a "
            f"core ({1000 * phase['victim_cpu'] / max(missed_txs, 1):.3f} ms per missed tx); "
            f"the whole cluster and load generator {phase['all_cpu'] / catch_up_s:.2f} cores"
        )
        subprocess.run(
            [
                os.path.join(os.path.dirname(os.sys.executable), "amchain"),
                "cluster",
                "status",
                "--dir",
                str(cluster.directory),
            ],
            check=False,
        )
    finally:
        cluster.stop()
        if options.dir is None:  # a directory of our own: the peers' and etcd's data go too
            shutil.rmtree(directory, ignore_errors=True)


def height_or(url: str, default: int) -> int:
    try:
        return height(url)
    except httpx.HTTPError:
        return default


if __name__ == "__main__":
    main()
