"""State tree figures (issue 3): proof size, proof verification, update cost per written key.

Builds a tree of ``--keys`` realistic state keys (a vehicle record ``vehicles/v/<VIN>`` and
three history entries ``vehicles/h/<VIN>/<seq>`` per vehicle, values of about 200 bytes),
then applies blocks of ``--batch`` writes (half new history entries, half rewrites of
existing keys) and measures:

- the amortised update cost per written key, in memory (``MemoryTreeNodes``) and against
  the real SQLite store (the node's cached writer reader for the reads; the new nodes
  inserted in one transaction per block with ``synchronous=FULL``, as the node does);
- proof size (compact binary and JSON) and verification time, for present and absent keys;
- database bytes per written key.

Targets (issue 3): median proof <= 1 KB, verification <= 1 ms, update <= 30 us per key.

The measured blocks run the compiled update loop when it was built (the table's title says
which); ``--python`` measures the pure-Python reference loop instead.

    .venv/bin/python bench/state_tree.py [--keys 1000000] [--batch 1000] [--python] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from amchain.ledger.state_tree import (
    COMPILED_UPDATE,
    MemoryTreeNodes,
    TreeRoot,
    TreeUpdate,
    apply_state_updates,
    apply_state_updates_in_python,
    decode_state_proof,
    encode_state_proof,
    prove_state_key,
    verify_state_proof,
)
from amchain.storage import BlockStore
from amchain.storage.tree_packs import pack_tree_nodes

RESULTS = Path(__file__).resolve().parent / "results" / "state_tree.json"
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q (ISO 3779)
HISTORY_PER_VEHICLE = 3
TARGETS = {"proof_bytes": 1024, "verify_us": 1000.0, "update_us_per_key": 30.0}
console = Console()
Apply = Callable[..., TreeUpdate]


# -- realistic keys and values -------------------------------------------------------------
def vin(vehicle: int) -> str:
    digest = hashlib.sha256(vehicle.to_bytes(8, "big")).digest()
    return "".join(VIN_ALPHABET[b % len(VIN_ALPHABET)] for b in digest[:17])


def key_at(index: int) -> str:
    """The ``index``-th key of the initial state: a record, then its history entries."""
    vehicle, slot = divmod(index, HISTORY_PER_VEHICLE + 1)
    if slot == 0:
        return f"vehicles/v/{vin(vehicle)}"
    return f"vehicles/h/{vin(vehicle)}/{slot - 1:010d}"


def value_for(key: str, version: int) -> bytes:
    """About 200 bytes of canonical-JSON-like record, different for every version."""
    tag = hashlib.sha256(f"{key}@{version}".encode()).hexdigest()
    record = (
        f'{{"key":"{key}","odometer_km":{version * 7919 % 400_000},'
        f'"recorded_by":"did:amchain:{tag[:44]}","tx":"{tag}"}}'
    )
    return record.encode().ljust(200, b" ")


def block_writes(rng: random.Random, vehicles: int, block: int, size: int) -> list:
    """One block: half new history entries, half rewrites of existing keys."""
    writes: list[tuple[str, bytes | None]] = []
    for i in range(size):
        if i % 2 == 0:
            key = f"vehicles/h/{vin(rng.randrange(vehicles))}/{1_000_000 + block * size + i:010d}"
        else:
            key = key_at(rng.randrange(vehicles * (HISTORY_PER_VEHICLE + 1)))
        writes.append((key, value_for(key, block + 1)))
    return writes


def python_speed_ms(steps: int = 1_000_000, repeat: int = 5) -> float:
    """CPU ms per million steps of a fixed pure-Python loop, here and now.

    The machine is shared: how fast the interpreter runs changes by up to 2x within a run
    (other engineers' tests), and CPU time does not hide that (caches, memory bandwidth).
    Taken before every measured block, it tells how fast the interpreter was meanwhile.
    """
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        total = 0
        for i in range(steps):
            total += i & 7
        best = min(best, time.process_time() - started)
    return best * 1000 * 1_000_000 / steps


def calibrate() -> float:
    """A short :func:`python_speed_ms` (about 5 ms) to take before each measured block."""
    return python_speed_ms(steps=50_000, repeat=3)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


# -- phases --------------------------------------------------------------------------------
def build_in_memory(keys: int, build_batch: int) -> tuple[MemoryTreeNodes, float]:
    tree = MemoryTreeNodes()
    started = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"building {keys:,} keys in memory", total=keys)
        for lo in range(0, keys, build_batch):
            hi = min(keys, lo + build_batch)
            tree.apply([(key_at(i), value_for(key_at(i), 0)) for i in range(lo, hi)])
            bar.update(task, completed=hi)
    return tree, time.perf_counter() - started


def measure_updates_in_memory(
    tree: MemoryTreeNodes, vehicles: int, blocks: int, size: int, profile: bool, apply: Apply
) -> dict[str, float]:
    rng = random.Random(1)
    cpu: list[float] = []
    wall: list[float] = []
    speed: list[float] = []
    nodes = 0
    profiler = cProfile.Profile() if profile else None
    with progress() as bar:
        task = bar.add_task(f"{blocks} blocks of {size:,} writes, in memory", total=blocks)
        for block in range(blocks):
            writes = block_writes(rng, vehicles, block, size)
            speed.append(calibrate())
            c0, w0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            result = apply(tree, tree.root, writes, next_node_id=tree.next_node_id)
            if profiler:
                profiler.disable()
            w1, c1 = time.perf_counter(), time.process_time()
            tree.nodes.update(result.numbered_nodes())
            tree.next_node_id, tree.root = result.next_node_id, result.root
            cpu.append((c1 - c0) / size * 1e6)
            wall.append((w1 - w0) / size * 1e6)
            nodes += len(result.new_nodes)
            bar.advance(task)
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return {
        "update_us_per_key_cpu": statistics.fmean(cpu),
        "update_us_per_key_cpu_median_block": statistics.median(cpu),
        "update_us_per_key_wall": statistics.fmean(wall),
        "new_nodes_per_key": nodes / (blocks * size),
        "python_loop_ms_memory_phase": statistics.median(speed),
    }


def measure_proofs(tree: MemoryTreeNodes, vehicles: int, count: int) -> dict[str, float]:
    rng = random.Random(2)
    total_keys = vehicles * (HISTORY_PER_VEHICLE + 1)
    present = [key_at(rng.randrange(total_keys)) for _ in range(count)]
    absent = [f"vehicles/v/{vin(vehicles + i)}" for i in range(count)]
    binary: list[int] = []
    as_json: list[int] = []
    verify_us: list[float] = []
    decode_verify_us: list[float] = []
    depths: list[int] = []
    root = tree.root
    for key in present + absent:
        value, proof = prove_state_key(tree, root, key)
        assert (value is None) == (key in absent)
        encoded = encode_state_proof(proof)
        binary.append(len(encoded))
        as_json.append(len(msgspec.json.encode(proof)))
        depths.append(len(proof.siblings))
        t0 = time.perf_counter_ns()
        ok = verify_state_proof(root.hash, key, value, proof)
        t1 = time.perf_counter_ns()
        ok_binary = verify_state_proof(root.hash, key, value, decode_state_proof(encoded))
        t2 = time.perf_counter_ns()
        assert ok and ok_binary
        verify_us.append((t1 - t0) / 1000)
        decode_verify_us.append((t2 - t1) / 1000)
    present_binary = binary[:count]
    return {
        "proof_bytes_median": statistics.median(binary),
        "proof_bytes_p95": percentile(binary, 0.95),
        "proof_bytes_median_present": statistics.median(present_binary),
        "proof_json_bytes_median": statistics.median(as_json),
        "proof_json_bytes_p95": percentile(as_json, 0.95),
        "proof_depth_median": statistics.median(depths),
        "proof_depth_max": max(depths),
        "verify_us_median": statistics.median(verify_us),
        "verify_us_p95": percentile(verify_us, 0.95),
        "decode_and_verify_us_median": statistics.median(decode_verify_us),
    }


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def load_into_sqlite(tree: MemoryTreeNodes, db_path: Path) -> None:
    """Copy the built tree's nodes into a fresh node database (setup, not measured)."""
    BlockStore.open(db_path).close()  # the node's schema
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    with progress() as bar:
        task = bar.add_task("loading the tree into SQLite", total=len(tree.nodes))
        conn.execute("BEGIN")
        count = len(tree.nodes)
        assert min(tree.nodes) == 1 and max(tree.nodes) == count, "the tree's ids are 1, 2, ..."
        step = 1 << 16  # ids per chunk: whole packs
        for low in range(0, count + 1, step):
            first = max(low, 1)
            chunk = [tree.nodes[i] for i in range(first, min(low + step, count + 1))]
            conn.executemany(
                "INSERT INTO tree_node_packs (pack, nodes) VALUES (?, ?)",
                pack_tree_nodes(first, chunk),
            )
            bar.advance(task, len(chunk))
        conn.execute("COMMIT")
    checkpoint(conn)
    conn.close()


def measure_updates_on_sqlite(
    db_path: Path,
    root: TreeRoot,
    vehicles: int,
    blocks: int,
    warmup: int,
    size: int,
    apply: Apply,
) -> dict[str, float]:
    store = BlockStore.open(db_path)
    reader = store.writer_tree_nodes()  # the node's producer reader, with its pack cache
    next_id = store.next_tree_node_id()  # the first id of a new pack, as the node numbers
    # The node's writer connection (WAL, synchronous=FULL), as BlockStore.commit_block uses
    # it: reads and writes on one connection keep its page cache valid between blocks.
    # Only the tree's rows are written here; the block's other rows are ingest's cost.
    conn = store._writer
    rng = random.Random(3)
    apply_cpu: list[float] = []
    apply_wall: list[float] = []
    write_wall: list[float] = []
    write_cpu: list[float] = []
    speed: list[float] = []
    node_bytes = 0
    before = 0
    try:
        with progress() as bar:
            task = bar.add_task(
                f"{warmup} + {blocks} blocks of {size:,} writes, SQLite", total=warmup + blocks
            )
            for block in range(warmup + blocks):
                if block == warmup:
                    checkpoint(conn)
                    before = file_bytes(db_path)
                writes = block_writes(rng, vehicles, 10_000 + block, size)
                if block >= warmup:
                    speed.append(calibrate())
                c0, w0 = time.process_time(), time.perf_counter()
                result = apply(reader, root, writes, next_node_id=next_id)
                w1, c1 = time.perf_counter(), time.process_time()
                packs = pack_tree_nodes(result.first_node_id, result.new_nodes)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO tree_node_packs (pack, nodes) VALUES (?, ?)", packs)
                conn.execute("COMMIT")
                w2, c2 = time.perf_counter(), time.process_time()
                reader.remember(packs)
                root, next_id = result.root, store.next_tree_node_id()
                if block >= warmup:
                    apply_cpu.append((c1 - c0) / size * 1e6)
                    apply_wall.append((w1 - w0) / size * 1e6)
                    write_wall.append((w2 - w1) / size * 1e6)
                    write_cpu.append((c2 - c1) / size * 1e6)
                    node_bytes += sum(map(len, result.new_nodes))
                bar.advance(task)
        checkpoint(conn)
        after = file_bytes(db_path)
        sample = [key_at(rng.randrange(vehicles * 4)) for _ in range(500)]
        prove_us = []
        cold = store.tree_nodes()  # an API thread's reader: no node cache
        for key in sample:
            t0 = time.perf_counter_ns()
            prove_state_key(cold, root, key)
            prove_us.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        store.close()
    written = blocks * size
    return {
        "sqlite_apply_us_per_key_cpu": statistics.fmean(apply_cpu),
        "sqlite_apply_us_per_key_wall": statistics.fmean(apply_wall),
        "sqlite_insert_commit_us_per_key_wall": statistics.fmean(write_wall),
        "sqlite_insert_commit_us_per_key_cpu": statistics.fmean(write_cpu),
        "sqlite_update_us_per_key_cpu": statistics.fmean(apply_cpu) + statistics.fmean(write_cpu),
        "sqlite_update_us_per_key_wall": statistics.fmean(apply_wall)
        + statistics.fmean(write_wall),
        "sqlite_db_bytes_per_written_key": (after - before) / written,
        "node_payload_bytes_per_written_key": node_bytes / written,
        "sqlite_prove_us_median": statistics.median(prove_us),
        "sqlite_db_bytes_total": after,
        "python_loop_ms_sqlite_phase": statistics.median(speed),
    }


# -- report --------------------------------------------------------------------------------
def loop_name(options: argparse.Namespace) -> str:
    return "compiled" if COMPILED_UPDATE and not options.python else "pure-Python"


def report(figures: dict[str, float], options: argparse.Namespace) -> None:
    table = Table(
        title=f"State tree, {options.keys:,} keys, blocks of {options.batch:,} writes, "
        f"{loop_name(options)} update loop"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")

    def row(label: str, name: str, unit: str, target: float | None = None) -> None:
        if name not in figures:
            return
        value = figures[name]
        text = f"{value:,.1f} {unit}" if isinstance(value, float) else f"{value:,} {unit}"
        goal = ""
        if target is not None:
            goal = ("[green]ok[/] " if value <= target else "[red]missed[/] ") + f"<= {target:g}"
        table.add_row(label, text, goal)

    row("proof size, median (binary)", "proof_bytes_median", "B", TARGETS["proof_bytes"])
    row("proof size, p95 (binary)", "proof_bytes_p95", "B")
    row("proof size, median (JSON)", "proof_json_bytes_median", "B")
    row("proof size, p95 (JSON)", "proof_json_bytes_p95", "B")
    row("proof depth, median / max", "proof_depth_median", "siblings")
    row("verify, median", "verify_us_median", "us", TARGETS["verify_us"])
    row("verify, p95", "verify_us_p95", "us")
    row("decode binary + verify, median", "decode_and_verify_us_median", "us")
    row("update, memory (CPU)", "update_us_per_key_cpu", "us/key", TARGETS["update_us_per_key"])
    row("update, memory (wall)", "update_us_per_key_wall", "us/key")
    row("update, memory (CPU), at fastest loop", "update_us_per_key_cpu_at_fastest", "us/key")
    row("new nodes per written key", "new_nodes_per_key", "")
    row("update, SQLite: apply (CPU)", "sqlite_apply_us_per_key_cpu", "us/key")
    row("update, SQLite: apply (wall)", "sqlite_apply_us_per_key_wall", "us/key")
    row("update, SQLite: insert + COMMIT (CPU)", "sqlite_insert_commit_us_per_key_cpu", "us/key")
    row("update, SQLite: insert + COMMIT (wall)", "sqlite_insert_commit_us_per_key_wall", "us/key")
    row(
        "update, SQLite: total (CPU)",
        "sqlite_update_us_per_key_cpu",
        "us/key",
        TARGETS["update_us_per_key"],
    )
    row(
        "update, SQLite: total (wall)",
        "sqlite_update_us_per_key_wall",
        "us/key",
    )
    row(
        "update, SQLite: total (CPU), at fastest loop",
        "sqlite_update_us_per_key_cpu_at_fastest",
        "us/key",
    )
    row("DB bytes per written key", "sqlite_db_bytes_per_written_key", "B")
    row("node payload bytes per written key", "node_payload_bytes_per_written_key", "B")
    row("prove from SQLite (no cache), median", "sqlite_prove_us_median", "us")
    row("initial build, per key", "build_us_per_key", "us/key")
    row("1M-step Python loop: before", "python_loop_ms_before", "ms")
    row("1M-step Python loop: memory phase (median)", "python_loop_ms_memory_phase", "ms")
    row("1M-step Python loop: SQLite phase (median)", "python_loop_ms_sqlite_phase", "ms")
    row("1M-step Python loop: after", "python_loop_ms_after", "ms")
    row("1M-step Python loop: fastest", "python_loop_ms_fastest", "ms")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="writes per block")
    parser.add_argument("--blocks", type=int, default=200, help="measured blocks in memory")
    parser.add_argument("--sqlite-blocks", type=int, default=100, help="measured, SQLite")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured SQLite blocks")
    parser.add_argument("--build-batch", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=2000, help="present and as many absent")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--python", action="store_true", help="measure the pure-Python update loop")
    parser.add_argument("--profile", action="store_true", help="cProfile the memory updates")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()
    vehicles = options.keys // (HISTORY_PER_VEHICLE + 1)
    keys = vehicles * (HISTORY_PER_VEHICLE + 1)

    speed_before = python_speed_ms()
    tree, build_s = build_in_memory(keys, options.build_batch)
    figures: dict[str, float] = {"build_us_per_key": build_s / keys * 1e6}
    loaded = (tree.root, tree.next_node_id)
    figures |= measure_proofs(tree, vehicles, options.proofs)
    apply = apply_state_updates_in_python if options.python else apply_state_updates
    figures |= measure_updates_in_memory(
        tree, vehicles, options.blocks, options.batch, options.profile, apply
    )
    if not options.no_sqlite:
        workdir = Path(tempfile.mkdtemp(prefix="amchain-bench-tree-"))
        try:
            db_path = workdir / "chain.db"
            # The SQLite run starts from the built tree (before the in-memory blocks).
            tree.nodes = {i: n for i, n in tree.nodes.items() if i < loaded[1]}
            load_into_sqlite(tree, db_path)
            del tree
            figures |= measure_updates_on_sqlite(
                db_path,
                loaded[0],
                vehicles,
                options.sqlite_blocks,
                options.warmup,
                options.batch,
                apply,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["python_loop_ms_before"] = speed_before
    figures["python_loop_ms_after"] = python_speed_ms()
    # The same work at the fastest the interpreter ran during this run (an estimate of the
    # figure on this machine unshared; the raw figures above are what was measured).
    fastest = min(v for k, v in figures.items() if k.startswith("python_loop_ms"))
    figures["python_loop_ms_fastest"] = fastest
    phases = [
        ("update_us_per_key_cpu", "python_loop_ms_memory_phase"),
        ("sqlite_update_us_per_key_cpu", "python_loop_ms_sqlite_phase"),
    ]
    for name, phase in phases:
        if name in figures:
            figures[f"{name}_at_fastest"] = figures[name] * fastest / figures[phase]
    report(figures, options)
    load = os.getloadavg()
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(
        json.dumps(
            {
                "machine": {
                    "cores": os.cpu_count(),
                    "load_average_1_5_15": [round(x, 2) for x in load],
                    "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version,
                },
                "parameters": {
                    "keys": keys,
                    "batch": options.batch,
                    "blocks": options.blocks,
                    "sqlite_blocks": options.sqlite_blocks,
                    "warmup": options.warmup,
                    "proofs": options.proofs,
                    "update_loop": loop_name(options),
                },
                "targets": TARGETS,
                "figures": {k: round(v, 3) for k, v in figures.items()},
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {options.out} (load average {load[0]:.2f}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
