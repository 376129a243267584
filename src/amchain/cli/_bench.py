"""``amchain bench WORKLOAD``: run one benchmark workload, print its table, write its JSON.

The workloads live in :mod:`amchain.bench`; this only maps options onto them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from amchain.cli._common import JsonOpt, console, err_console, print_json, want_json


class Mix(StrEnum):
    LIFECYCLE = "lifecycle"
    TOKENS = "tokens"


class Workload(StrEnum):
    INGEST = "ingest"
    VERIFY_LIMIT = "verify-limit"
    HISTORY = "history"
    SCALE = "scale"
    VS_GANACHE = "vs-ganache"
    STAGES = "stages"
    LOAN_HOOK = "loan-hook"


def bench(
    workload: Annotated[Workload, typer.Argument(help="What to measure.")],
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", min=1, help="Bound the run to SECONDS (ingest, verify-limit, vs-ganache)."
        ),
    ] = None,
    clients: Annotated[int, typer.Option("--clients", min=1, help="Client processes.")] = 4,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Transactions per request.")] = 500,
    vehicles: Annotated[
        int,
        typer.Option(
            "--vehicles",
            min=1,
            help="scale: grow the chain to this many vehicles; stages: vehicles to run.",
        ),
    ] = 2_000,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            min=1,
            help="vs-ganache: transfers on each side (2,000); loan-hook: loans due (100,000).",
        ),
    ] = None,
    rate_hint: Annotated[
        int, typer.Option("--rate-hint", min=1, help="ingest: tx/s to pre-sign for.")
    ] = 7_000,
    mix: Annotated[
        Mix,
        typer.Option(
            "--mix",
            help="ingest: vehicle lifecycle transactions, or one-signature token transfers.",
        ),
    ] = Mix.LIFECYCLE,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="ingest: sample the node with py-spy into this file."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the JSON results.")] = Path(
        "bench/results"
    ),
    json_: JsonOpt = False,
) -> None:
    """Run a benchmark workload: a table on the terminal, JSON in bench/results/."""
    if workload is Workload.INGEST:
        from amchain.bench.ingest import IngestOptions, run_ingest

        report = run_ingest(
            IngestOptions(
                duration_s=duration or 60.0,
                clients=clients,
                batch=batch,
                rate_hint=rate_hint,
                profile=profile,
                mix=mix.value,
            )
        )
    elif workload is Workload.VERIFY_LIMIT:
        from amchain.bench.verify_limit import VerifyLimitOptions, run_verify_limit

        report = run_verify_limit(VerifyLimitOptions(duration_s=duration or 5.0))
    elif workload is Workload.HISTORY:
        from amchain.bench.history import HistoryOptions, run_history

        report = run_history(HistoryOptions())
    elif workload is Workload.SCALE:
        from amchain.bench.scale import ScaleOptions, run_scale

        report = run_scale(
            ScaleOptions(
                vehicles=vehicles,
                clients=min(clients, 2),
                batch=batch,
                progress=None if want_json(json_) else err_console.print,
            )
        )
    elif workload is Workload.VS_GANACHE:
        from amchain.bench.vs_ganache import VsGanacheOptions, run_vs_ganache

        report = run_vs_ganache(
            VsGanacheOptions(count=count or 2_000, duration_s=duration, batch=batch)
        )
    elif workload is Workload.LOAN_HOOK:
        from amchain.bench.loan_hook import LoanHookOptions, run_loan_hook

        report = run_loan_hook(
            LoanHookOptions(
                count=count or 100_000,
                progress=None if want_json(json_) else err_console.print,
            )
        )
    else:
        from amchain.bench.stages import StagesOptions, run_stages

        report = run_stages(StagesOptions(vehicles=vehicles))
    path = report.write(out)
    if want_json(json_):
        print_json(report.to_json())
    else:
        report.render(console)
        console.print(f"[dim]results: {path}[/]")
    if not report.ok:
        err_console.print(f"error: {workload.value}: the run did not complete cleanly (see notes)")
        raise typer.Exit(1)
