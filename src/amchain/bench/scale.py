"""``scale``: ingest and query latency as the chain grows, and how the database grows.

Vehicles go through the ingest lifecycle (register, odometer, serviced, ownership transfer:
four transactions, four history entries each). The chain is grown in phases up to
``--vehicles`` (checkpoints at 1,000, 10,000, 100,000, 1,000,000 and the final size); client
processes sign just in time and submit batches through the SDK. At each checkpoint: the
phase's ingest rate, the latency of one vehicle's history and record (random vehicles,
loopback HTTP), the database size per event and the node's peak RSS.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from amchain.bench._lifecycle import TX_KINDS, Actors, lifecycle_txs, make_vin, person_key
from amchain.bench._process import NodeProcess, scratch_dir
from amchain.bench._report import Report, percentile
from amchain.bench.ingest import EXPIRES_IN_MS, actors_of, collect, create_persons
from amchain.sdk import Client

PERSONS = 16


@dataclass(frozen=True)
class ScaleOptions:
    vehicles: int = 2_000
    clients: int = 2
    batch: int = 500
    queries: int = 200
    progress: Callable[[str], None] | None = None
    """Called with a line of progress every ``progress_every_s`` (a long run says where it is)."""
    progress_every_s: float = 30.0


def checkpoints(vehicles: int) -> list[int]:
    points = [p for p in (1_000, 10_000, 100_000, 1_000_000, 10_000_000) if p < vehicles]
    return [*points, vehicles]


def _grow(
    index: int, url: str, seeds: dict[str, str], first: int, count: int, batch: int, out: Any
) -> None:
    """Client process: vehicles ``first .. first+count-1`` of client ``index``, batch by batch."""
    actors = Actors.from_seeds(seeds)
    persons = [person_key(index, i) for i in range(PERSONS)]
    per_batch = max(1, batch // len(TX_KINDS))
    ok = failed = 0
    with Client(url, timeout=300) as client:
        for start in range(first, first + count, per_batch):
            n = min(per_batch, first + count - start)
            txs = [
                tx
                for _, tx in lifecycle_txs(
                    actors,
                    persons,
                    client=index,
                    first_vehicle=start,
                    vehicles=n,
                    expires_in_ms=EXPIRES_IN_MS,
                )
            ]
            for result in client.submit(txs, wait="commit", timeout_ms=60_000):
                if result.committed and (result.receipt or {}).get("ok"):
                    ok += 1
                else:
                    failed += 1
    out.put({"client": index, "ok": ok, "failed": failed})


def _latency(url: str, vins: list[str]) -> tuple[list[float], list[float]]:
    history: list[float] = []
    record: list[float] = []
    with httpx.Client(timeout=60) as http:
        for vin in vins:
            t0 = time.perf_counter()
            response = http.get(f"{url}/v1/vehicles/{vin}/history")
            response.json()
            t1 = time.perf_counter()
            http.get(f"{url}/v1/vehicles/{vin}").json()
            t2 = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(f"history of {vin}: {response.status_code}")
            history.append(t1 - t0)
            record.append(t2 - t1)
    return history, record


def _progress_ticker(
    options: ScaleOptions, node: NodeProcess, done: int, point: int
) -> Callable[[], None] | None:
    """What to call while a growth phase runs: a progress line every ``progress_every_s``."""
    report = options.progress
    if report is None:
        return None
    started = time.monotonic()
    next_at = started + options.progress_every_s

    def tick() -> None:
        nonlocal next_at
        if time.monotonic() >= next_at:
            next_at += options.progress_every_s
            report(_progress_line(node, done, point, started))

    return tick


def _progress_line(node: NodeProcess, done: int, point: int, started: float) -> str:
    """Where a growth phase is: the chain's height and size (read from the node's status)."""
    try:
        height = httpx.get(f"{node.url}/v1/status", timeout=10).json()["height"]
    except (httpx.HTTPError, KeyError, ValueError):
        height = "?"
    return (
        f"scale: growing {done:,} -> {point:,} vehicles, {time.monotonic() - started:,.0f} s in "
        f"this phase, chain height {height}, database {node.db_bytes() / 2**20:,.0f} MiB, "
        f"node RSS peak {node.peak_rss_bytes() / 2**20:,.0f} MiB"
    )


def run_scale(options: ScaleOptions) -> Report:
    """Run the workload in a scratch directory, removed afterwards."""
    with scratch_dir("amchain-bench-scale-") as directory:
        return _run_scale(options, directory)


def _run_scale(options: ScaleOptions, directory: Path) -> Report:
    report = Report(
        "scale",
        params={
            "vehicles": options.vehicles,
            "clients": options.clients,
            "batch": options.batch,
            "events_per_vehicle": len(TX_KINDS),
            "signing": "just in time in the client processes (shares the cores with the node)",
        },
    )
    ctx = mp.get_context("spawn")
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    with NodeProcess(directory) as node:
        with Client(node.url) as client:
            actors = actors_of(directory, client.chain_id())
        create_persons(node.url, actors, options.clients, PERSONS)
        done = 0
        for point in checkpoints(options.vehicles):
            per_client = (point - done) // options.clients
            first = done // options.clients
            out = ctx.Queue()
            procs = [
                ctx.Process(
                    target=_grow,
                    args=(c, node.url, actors.to_seeds(), first, per_client, options.batch, out),
                    daemon=True,
                )
                for c in range(options.clients)
            ]
            started = time.monotonic()
            for p in procs:
                p.start()
            results = collect(out, procs, tick=_progress_ticker(options, node, done, point))
            elapsed = time.monotonic() - started
            for p in procs:
                p.join(timeout=30)
            failed = sum(r["failed"] for r in results)
            if failed:
                report.ok = False
                report.notes.append(f"{failed} transactions failed before {point} vehicles")
            done = first * options.clients + per_client * options.clients
            total = done
            vins = [
                make_vin(rng.randrange(options.clients), rng.randrange(done // options.clients))
                for _ in range(options.queries)
            ]
            history, record = _latency(node.url, vins)
            db = node.db_bytes()
            events = total * len(TX_KINDS)
            rows.append(
                {
                    "vehicles": total,
                    "events": events,
                    "phase tx/s": sum(r["ok"] for r in results) / elapsed,
                    "history p50 ms": (percentile(history, 50) or 0) * 1000,
                    "history p99 ms": (percentile(history, 99) or 0) * 1000,
                    "record p50 ms": (percentile(record, 50) or 0) * 1000,
                    "db MiB": db / 2**20,
                    "db bytes/event": db / events,
                    "peak RSS MiB": node.peak_rss_bytes() / 2**20,
                }
            )
    report.tables["growth"] = rows
    first_row, last_row = rows[0], rows[-1]
    report.add("vehicles", last_row["vehicles"], "", f"{last_row['events']:,} history events")
    report.add("history query p50", last_row["history p50 ms"], "ms", "one vehicle, 4 events")
    report.add(
        "history latency growth",
        last_row["history p50 ms"] / first_row["history p50 ms"],
        "×",
        f"p50 at {last_row['vehicles']:,} vehicles / at {first_row['vehicles']:,}",
    )
    report.add("database per event", last_row["db bytes/event"], "bytes", "chain.db + WAL")
    report.add("node peak RSS", last_row["peak RSS MiB"], "MiB", "VmHWM")
    return report
