"""Two revisions side by side in one run: ``amchain bench ingest`` and
``bench/cluster_finality.py`` in each checkout, alternately (A B B A …), figures and ratios
printed together.

Usage::

    git worktree add /tmp/prev <commit>          # the other revision, with its own venv:
    (cd /tmp/prev && python3 -m venv .venv && .venv/bin/pip install -e '.[dev]')
    .venv/bin/python bench/compare_revisions.py --other /tmp/prev --rounds 2

Each checkout runs with its own ``.venv``; the ratio column is this checkout over the other
(higher is better for rates, lower for CPU and latency). Alternating spreads a drift of the
machine's load over both sides; the table gives every run, then the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

INGEST_FIGURES = (
    ("committed", "tx/s"),
    ("submit→commit p50", "ms"),
    ("submit→commit p99", "ms"),
    ("node CPU per transaction", "µs"),
    ("admission workers CPU per transaction", "µs"),
    ("machine CPU per transaction", "µs"),
)

# What cluster_finality.py prints, as (figure, unit, pattern).
FINALITY_FIGURES = (
    ("final events/s", "ev/s", r"FINALITY: .*? = (\d+) events/s"),
    ("p50 to finality", "s", r"FINALITY: .*?p50 ([\d.]+) s"),
    ("p99 to finality", "s", r"FINALITY: .*?p99 ([\d.]+) s"),
    ("peers' CPU per final event", "ms", r"CPU per final event: peers ([\d.]+) ms"),
    ("catch-up rate / production rate", "x", r"CATCH-UP: .*?, ([\d.]+)x the production rate"),
)


def run_ingest(checkout: Path, seconds: int, clients: int) -> dict[str, float]:
    """One ``amchain bench ingest`` in ``checkout``; its figures by name."""
    with tempfile.TemporaryDirectory(prefix="amchain-compare-") as out:
        command = [
            str(checkout / ".venv" / "bin" / "amchain"), "bench", "ingest",
            "--duration", str(seconds), "--clients", str(clients), "--rate-hint", "5000",
            "--out", out,
        ]  # fmt: skip
        subprocess.run(command, cwd=checkout, check=True, stdout=subprocess.DEVNULL)
        report = json.loads((Path(out) / "ingest-latest.json").read_text())
    return {
        name: float(report["figures"][name]["value"])
        for name, _ in INGEST_FIGURES
        if report["figures"].get(name, {}).get("value") is not None
    }


def run_finality(checkout: Path, rate: int, seconds: int, stop_seconds: int) -> dict[str, float]:
    """One ``bench/cluster_finality.py`` in ``checkout``; its figures by name."""
    command = [
        str(checkout / ".venv" / "bin" / "python"), "bench/cluster_finality.py",
        "--rate", str(rate), "--seconds", str(seconds), "--stop-seconds", str(stop_seconds),
        "--vehicles", "2000",
    ]  # fmt: skip
    text = subprocess.run(command, cwd=checkout, check=True, capture_output=True, text=True).stdout
    figures = {}
    for name, _, pattern in FINALITY_FIGURES:
        match = re.search(pattern, text)
        if match:
            figures[name] = float(match.group(1))
    return figures


def revision(checkout: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True
    ).stdout.strip()


def print_table(
    title: str,
    figures: tuple[tuple[str, str], ...],
    runs: dict[str, list[dict[str, float]]],
    names: tuple[str, str],
) -> None:
    this, other = names
    print(f"\n{title}  (median of {len(runs[this])} runs each; every run in brackets)")
    print(f"{'figure':<40} {other:>26} {this:>26} {'this/other':>10}")
    for name, unit in figures:
        values = {side: [r[name] for r in runs[side] if name in r] for side in names}
        if not values[this] or not values[other]:
            continue
        a, b = statistics.median(values[other]), statistics.median(values[this])
        ratio = f"{b / a:.2f}" if a else "-"
        every = {side: "/".join(f"{v:.4g}" for v in values[side]) for side in names}
        print(
            f"{name + ' (' + unit + ')':<40} {f'{a:.4g} [{every[other]}]':>26} "
            f"{f'{b:.4g} [{every[this]}]':>26} {ratio:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--ingest-seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=int, default=1000, help="cluster_finality's offered rate")
    parser.add_argument("--finality-seconds", type=int, default=15)
    parser.add_argument("--stop-seconds", type=int, default=8, help="0: no catch-up phase")
    parser.add_argument("--skip-cluster", action="store_true")
    options = parser.parse_args()
    other = options.other.resolve()
    for checkout in (HERE, other):
        if not (checkout / ".venv" / "bin" / "amchain").exists():
            sys.exit(f"{checkout}: no .venv with amchain (run `make test` or pip install there)")
    names = (f"this {revision(HERE)}", f"other {revision(other)}")
    sides = {names[0]: HERE, names[1]: other}
    print(f"cores: {os.cpu_count()}; load {os.getloadavg()[0]:.2f}; {names[0]} vs {names[1]}")
    order = [names[1], names[0]]
    ingest: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    finality: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for round_ in range(options.rounds):
        for side in order if round_ % 2 == 0 else list(reversed(order)):
            print(f"round {round_ + 1}: ingest, {side}", flush=True)
            ingest[side].append(run_ingest(sides[side], options.ingest_seconds, options.clients))
        if options.skip_cluster:
            continue
        for side in list(reversed(order)) if round_ % 2 == 0 else order:
            print(f"round {round_ + 1}: cluster finality, {side}", flush=True)
            finality[side].append(
                run_finality(
                    sides[side], options.rate, options.finality_seconds, options.stop_seconds
                )
            )
    print_table("amchain bench ingest", INGEST_FIGURES, ingest, names)
    if not options.skip_cluster:
        print_table(
            "bench/cluster_finality.py",
            tuple((name, unit) for name, unit, _ in FINALITY_FIGURES),
            finality,
            names,
        )
    print(f"\nload at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
