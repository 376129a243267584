"""``verify-limit``: Ed25519 verifications per second with the project's verifier, all cores.

One process per core runs ``amchain.crypto.verify_signature`` (PyNaCl/libsodium, strict)
on a transaction-sized signing message for the duration. This is the physical limit of
ingest on this machine: every transaction needs one check per signer.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from dataclasses import dataclass

from amchain.bench._report import Report
from amchain.crypto import KeyPair, verify_signature
from amchain.ledger import compute_signing_message


@dataclass(frozen=True)
class VerifyLimitOptions:
    duration_s: float = 5.0
    processes: int = 0
    """0: one per core."""


def _verify_for(seconds: float) -> int:
    key = KeyPair.from_seed(bytes(range(32)))
    message = compute_signing_message(bytes(32))
    signature = key.sign(message)
    public = key.public_key
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            if not verify_signature(public, message, signature):
                raise AssertionError("a valid signature did not verify")
        done += 200
    return done


SIGNATURES_PER_TX = 1.25
"""The ingest mix: one of four transactions is a two-signature transfer."""


def measure_signature_limit(seconds: float, processes: int = 0) -> float:
    """Ed25519 verifications per second on all cores (one process per core)."""
    count = processes or os.cpu_count() or 1
    with mp.get_context("spawn").Pool(count) as pool:
        started = time.perf_counter()
        done = pool.map(_verify_for, [seconds] * count)
        return sum(done) / (time.perf_counter() - started)


def run_verify_limit(options: VerifyLimitOptions) -> Report:
    cores = os.cpu_count() or 1
    processes = options.processes or cores
    report = Report(
        "verify-limit",
        params={"duration_s": options.duration_s, "processes": processes},
    )
    one = _verify_for(min(2.0, options.duration_s)) / min(2.0, options.duration_s)
    total = measure_signature_limit(options.duration_s, processes)
    threads_done: list[int] = []

    def in_thread() -> None:
        threads_done.append(_verify_for(min(2.0, options.duration_s)))

    workers = [threading.Thread(target=in_thread) for _ in range(cores)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    threaded = sum(threads_done) / (time.perf_counter() - started)
    report.add(
        "verifications, all cores",
        total,
        "sig/s",
        f"{processes} processes (the ingest limit: 1 check per signer)",
    )
    report.add("verifications, one core", one, "sig/s", "one process, one thread")
    report.add(
        "verifications, threads in one process",
        threaded,
        "sig/s",
        f"{cores} threads (libsodium releases the GIL; Python glue does not)",
    )
    report.add(
        "signatures per transaction",
        SIGNATURES_PER_TX,
        "sig/tx",
        "ingest mix: one of four transactions is a two-signature transfer",
    )
    report.add(
        "ingest limit from signatures",
        total / SIGNATURES_PER_TX,
        "tx/s",
        "all cores doing nothing but signature checks",
    )
    return report
