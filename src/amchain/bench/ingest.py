"""``ingest``: signed transactions, batched through the SDK, to commit.

Two mixes: ``lifecycle`` (vehicle registrations, odometer readings, services, two-signature
ownership transfers: :mod:`amchain.bench._lifecycle`) and ``tokens`` (one-signature
settlement-token transfers between funded person accounts: :mod:`amchain.bench._transfers`).

A fresh embedded node (``amchain up``: solo ordering, SQLite ``synchronous=FULL``) runs in a
child process. N client processes each pre-sign their transactions (see
:mod:`amchain.bench._lifecycle`), wait for a common start, then submit batches with the
SDK's batch submission (``Client.submit([...], wait="commit")``) until the duration is over.
Committed transactions are counted from the receipts the node returns, not from
submissions; the latency of a transaction is the time from sending its batch to the answer
that it is committed.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import queue
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amchain.bench._lifecycle import (
    TX_KINDS,
    Actors,
    create_person_txs,
    lifecycle_txs,
    person_key,
)
from amchain.bench._process import NodeProcess, scratch_dir
from amchain.bench._profile import start_recording, summarise
from amchain.bench._report import Report, percentile
from amchain.bench._transfers import DENOM, fund_persons, transfer_txs
from amchain.bench.verify_limit import SIGNATURES_PER_TX, measure_signature_limit
from amchain.modules.tokens import balance_state_key
from amchain.node import Keystore
from amchain.sdk import Client, did_for_key

EXPIRES_IN_MS = 23 * 3600 * 1000
MIXES = ("lifecycle", "tokens")
MIX_DESCRIPTIONS = {
    "lifecycle": "register, odometer, serviced, ownership_transferred (2 signatures): 1:1:1:1",
    "tokens": f"tokens.transfer of 1 minor unit of {DENOM} between funded persons, 1 signature",
}
SIGNATURES_PER_MIX_TX = {"lifecycle": SIGNATURES_PER_TX, "tokens": 1.0}


@dataclass(frozen=True)
class IngestOptions:
    duration_s: float = 60.0
    clients: int = 4
    batch: int = 500
    persons_per_client: int = 16
    rate_hint: int = 7_000
    """Transactions per second to pre-sign for (per run); a client that runs out stops."""
    profile: Path | None = None
    """Sample the node with py-spy during the run into this file (raw format) and summarise."""
    mix: str = "lifecycle"
    """What the clients send: one of ``MIXES``."""


def actors_of(data_dir: Path, chain_id: str) -> Actors:
    keystore = Keystore(data_dir)
    return Actors(
        chain_id=chain_id,
        oem=keystore.get("oem").key,
        registry=keystore.get("registry").key,
        service_center=keystore.get("service_center").key,
        dealer=keystore.get("dealer").key,
    )


def create_persons(url: str, actors: Actors, clients: int, per_client: int) -> None:
    """Create every client's person DIDs (committed before the measured run starts)."""
    persons = [person_key(c, i) for c in range(clients) for i in range(per_client)]
    with Client(url, timeout=120) as client:
        for i in range(0, len(persons), 500):
            results = client.submit(create_person_txs(actors, persons[i : i + 500]))
            bad = [r for r in results if not r.ok]
            if bad:
                raise RuntimeError(f"creating person DIDs failed: {bad[0]}")


def _client_main(
    index: int,
    url: str,
    seeds: dict[str, str],
    vehicles: int,
    options: IngestOptions,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One client process: pre-sign, wait for the start, submit batches, report."""
    actors = Actors.from_seeds(seeds)
    persons = [person_key(index, i) for i in range(options.persons_per_client)]
    if options.mix == "tokens":
        signed = list(
            transfer_txs(
                actors.chain_id,
                persons,
                vehicles * len(TX_KINDS),
                expires_in_ms=EXPIRES_IN_MS,
            )
        )
    else:
        signed = list(
            lifecycle_txs(
                actors,
                persons,
                client=index,
                first_vehicle=0,
                vehicles=vehicles,
                expires_in_ms=EXPIRES_IN_MS,
            )
        )
    batches = [signed[i : i + options.batch] for i in range(0, len(signed), options.batch)]
    ready.release()
    go.wait()
    deadline = time.monotonic() + options.duration_s
    latencies: list[tuple[float, int]] = []  # (seconds, transactions in the batch)
    counts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    kinds_ok: Counter[str] = Counter()
    started = time.monotonic()
    cpu_started = time.process_time()
    ran_out = True
    with Client(url, timeout=120) as client:
        for batch in batches:
            if time.monotonic() >= deadline:
                ran_out = False
                break
            sent = time.monotonic()
            results = client.submit([tx for _, tx in batch], wait="commit", timeout_ms=60_000)
            took = time.monotonic() - sent
            latencies.append((took, len(batch)))
            for (kind, _), result in zip(batch, results, strict=True):
                receipt = result.receipt
                if result.status == "committed" and receipt is not None:
                    if receipt.get("ok"):
                        counts["ok"] += 1
                        kinds_ok[kind] += 1
                    else:
                        counts["failed"] += 1
                        codes[f"{receipt.get('codespace')}/{receipt.get('code')}"] += 1
                else:
                    counts[result.status] += 1
                    if result.error is not None:
                        codes[f"{result.error.codespace}/{result.error.code}"] += 1
    out.put(
        {
            "client": index,
            "started": started,
            "ended": time.monotonic(),
            "cpu_s": time.process_time() - cpu_started,
            "latencies": latencies,
            "counts": dict(counts),
            "codes": dict(codes),
            "kinds_ok": dict(kinds_ok),
            "ran_out": ran_out,
            "presigned": len(signed),
        }
    )


def check_alive(procs: list[Any]) -> None:
    """Raise if a client process died (instead of waiting for it forever)."""
    for p in procs:
        if p.exitcode not in (None, 0):
            raise RuntimeError(f"client process {p.name} exited with {p.exitcode}")


def collect(
    out: Any, procs: list[Any], *, tick: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    """One result per client process, failing fast if one dies; ``tick`` is called about
    once a second while waiting (a long run's progress)."""
    results: list[dict[str, Any]] = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            check_alive(procs)
        if tick is not None:
            tick()
    return results


def measure_accounts(
    node: NodeProcess, report: Report, chain_id: str, directory: Path, options: IngestOptions
) -> None:
    """Fund every client's persons (not timed) and report what an account costs in state."""
    persons = [
        person_key(c, i) for c in range(options.clients) for i in range(options.persons_per_client)
    ]
    fund_persons(node.url, chain_id, Keystore(directory).get("financier").key, persons)
    key = balance_state_key(DENOM, did_for_key(persons[0].public_key))
    with Client(node.url) as client:
        value = client.get_state(key)["value"]
    entry = len(key.encode()) + len(json.dumps(value, separators=(",", ":")).encode())
    report.add(
        "state bytes per account",
        entry,
        "bytes",
        f"one balance entry: key {key.split('/did:')[0]}/<DID> + value (a whole number); "
        "its state-tree nodes come on top",
    )


def run_ingest(options: IngestOptions, *, data_dir: Path | None = None) -> Report:
    """Run the ingest workload (in ``data_dir``, or a scratch directory removed afterwards)."""
    if data_dir is not None:
        return _run_ingest(options, data_dir)
    with scratch_dir("amchain-bench-ingest-") as directory:
        return _run_ingest(options, directory)


def _run_ingest(options: IngestOptions, directory: Path) -> Report:
    if options.mix not in MIXES:
        raise ValueError(f"unknown mix {options.mix!r}: one of {', '.join(MIXES)}")
    report = Report(
        "ingest",
        params={
            "duration_s": options.duration_s,
            "clients": options.clients,
            "batch": options.batch,
            "mix": MIX_DESCRIPTIONS[options.mix],
            "submission": "SDK Client.submit(batch, wait='commit'), pre-signed",
            "node": "amchain up (solo ordering, SQLite WAL synchronous=FULL), own process",
        },
    )
    signature_limit = measure_signature_limit(2.0)
    total = int(options.rate_hint * options.duration_s * 1.1) + options.batch * options.clients
    vehicles_per_client = max(1, total // options.clients // len(TX_KINDS))
    ctx = mp.get_context("spawn")
    with NodeProcess(directory) as node:
        with Client(node.url) as client:
            chain_id = client.chain_id()
        actors = actors_of(directory, chain_id)
        create_persons(node.url, actors, options.clients, options.persons_per_client)
        if options.mix == "tokens":
            measure_accounts(node, report, chain_id, directory, options)
        ready = ctx.Semaphore(0)
        go = ctx.Event()
        out = ctx.Queue()
        procs = [
            ctx.Process(
                target=_client_main,
                args=(i, node.url, actors.to_seeds(), vehicles_per_client, options, ready, go, out),
                daemon=True,
            )
            for i in range(options.clients)
        ]
        for p in procs:
            p.start()
        signing_started = time.monotonic()
        for _ in procs:
            while not ready.acquire(timeout=1):
                check_alive(procs)
        signing_s = time.monotonic() - signing_started
        db_before = node.db_bytes()
        cpu_before = node.cpu_seconds()
        workers_before = node.worker_cpu_seconds()
        recorder = None
        if options.profile is not None:
            recorder = start_recording(node.pid, options.profile, options.duration_s)
        go.set()
        results = collect(out, procs)
        cpu_used = node.cpu_seconds() - cpu_before
        workers_used = node.worker_cpu_seconds() - workers_before
        workers_rss = node.worker_peak_rss_bytes()
        for p in procs:
            p.join(timeout=30)
        if recorder is not None:
            recorder.wait(timeout=120)
        db_after = node.db_bytes()
        peak_rss = node.peak_rss_bytes()
        with Client(node.url) as client:
            height = client.status().height
    start = min(r["started"] for r in results)
    end = max(r["ended"] for r in results)
    elapsed = end - start
    counts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    samples: list[float] = []
    for r in results:
        counts.update(r["counts"])
        codes.update(r["codes"])
        kinds.update(r["kinds_ok"])
        for seconds, n in r["latencies"]:
            samples.extend([seconds] * n)
    ok = counts["ok"]
    rate = ok / elapsed if elapsed > 0 else 0.0
    report.add("committed", rate, "tx/s", "receipts ok, counted from the node's answers")
    report.add("committed transactions", ok, "tx", f"in {elapsed:.1f} s")
    signatures = SIGNATURES_PER_MIX_TX[options.mix]
    report.add(
        "signature-check limit",
        signature_limit / signatures,
        "tx/s",
        f"{signature_limit:,.0f} Ed25519 checks/s on all cores, measured just before, "
        f"/ {signatures} signatures per transaction",
    )
    report.add(
        "ratio to the signature limit",
        100 * rate * signatures / signature_limit if signature_limit else None,
        "%",
        "committed tx/s / signature-check limit",
    )
    report.add("failed receipts", counts["failed"], "tx", "committed, refused by a module")
    report.add("refused at admission", counts["refused"], "tx")
    report.add("not committed in time", counts["pending"], "tx")
    p50 = percentile(samples, 50)
    p99 = percentile(samples, 99)
    report.add("submit→commit p50", None if p50 is None else p50 * 1000, "ms", "per transaction")
    report.add("submit→commit p99", None if p99 is None else p99 * 1000, "ms", "per transaction")
    report.add(
        "node CPU per transaction",
        cpu_used / ok * 1e6 if ok else None,
        "µs",
        f"node process user+system, {cpu_used:.1f} s over the run",
    )
    report.add(
        "node CPU utilisation", cpu_used / elapsed if elapsed else None, "cores", "of the node"
    )
    report.add(
        "admission workers CPU per transaction",
        workers_used / ok * 1e6 if ok else None,
        "µs",
        f"the node's worker processes, {workers_used:.1f} s over the run",
    )
    clients_cpu = sum(r["cpu_s"] for r in results)
    report.add(
        "client CPU per transaction",
        clients_cpu / ok * 1e6 if ok else None,
        "µs",
        "SDK submission in the client processes (signing was before the run)",
    )
    total_cpu = cpu_used + workers_used + clients_cpu
    report.add(
        "machine CPU per transaction",
        total_cpu / ok * 1e6 if ok else None,
        "µs",
        "node + workers + clients: on an idle machine, cores / this bounds the rate",
    )
    report.add("node peak RSS", peak_rss / 2**20, "MiB", "VmHWM of the node process")
    report.add("workers peak RSS", workers_rss / 2**20, "MiB", "sum over admission workers")
    report.add(
        "database growth per transaction",
        (db_after - db_before) / ok if ok else None,
        "bytes",
        "chain.db + WAL",
    )
    report.add("chain height", height, "blocks")
    report.add(
        "client pre-signing",
        sum(r["presigned"] for r in results) / signing_s,
        "tx/s",
        f"{options.clients} processes, before the run",
    )
    report.tables["committed by kind"] = [
        {"kind": k, "committed": n} for k, n in sorted(kinds.items())
    ]
    if codes:
        report.tables["refusals"] = [{"code": c, "count": n} for c, n in codes.most_common()]
    if any(r["ran_out"] for r in results):
        report.notes.append(
            "a client used up its pre-signed transactions before the duration ended; "
            "raise --rate-hint"
        )
    if options.profile is not None and options.profile.exists():
        summary = summarise(options.profile)
        report.tables["node profile: share of samples by stage (py-spy)"] = summary["stages"]
        report.tables["node profile: hottest functions, own time"] = summary["hottest"]
        report.notes.append(f"py-spy raw profile: {options.profile} ({summary['samples']} samples)")
    report.ok = ok > 0 and counts["failed"] == 0 and counts["refused"] == 0
    return report
