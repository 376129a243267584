"""The benchmark suite runs end to end (tiny sizes; figures themselves are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from amchain.bench._report import percentile
from amchain.bench.scale import checkpoints
from amchain.bench.vs_ganache import GanacheUnavailable, ensure_ganache


def run_bench(*args: str, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "amchain.cli", "bench", *args, "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_percentile_is_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) is None


def test_scale_checkpoints_grow_by_tens_up_to_the_size() -> None:
    assert checkpoints(2_000) == [1_000, 2_000]
    assert checkpoints(100_000) == [1_000, 10_000, 100_000]
    assert checkpoints(500) == [500]


def test_ganache_missing_tools_are_reported_not_faked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no npm
    with pytest.raises(GanacheUnavailable, match="node and npm"):
        ensure_ganache(tmp_path / "ganache")


def test_verify_limit_prints_json_and_writes_results(tmp_path: Path) -> None:
    report = run_bench("verify-limit", "--duration", "1", out=tmp_path)
    assert report["workload"] == "verify-limit"
    assert report["machine"]["cores"] >= 1
    assert report["figures"]["verifications, all cores"]["value"] > 0
    assert (tmp_path / "verify-limit-latest.json").exists()


@pytest.mark.slow
def test_ingest_counts_committed_receipts_of_every_kind(tmp_path: Path) -> None:
    report = run_bench(
        "ingest", "--duration", "3", "--clients", "2", "--batch", "100", "--rate-hint", "300",
        out=tmp_path,
    )  # fmt: skip
    figures = report["figures"]
    assert figures["committed transactions"]["value"] > 0
    assert figures["failed receipts"]["value"] == 0
    assert figures["refused at admission"]["value"] == 0
    kinds = {row["kind"]: row["committed"] for row in report["tables"]["committed by kind"]}
    assert set(kinds) == {"register", "odometer", "serviced", "transfer"}
    assert all(n > 0 for n in kinds.values())
    assert figures["node peak RSS"]["value"] > 0


@pytest.mark.slow
def test_ingest_of_token_transfers_reports_what_an_account_costs(tmp_path: Path) -> None:
    report = run_bench(
        "ingest", "--mix", "tokens", "--duration", "3", "--clients", "2", "--batch", "100",
        "--rate-hint", "300", out=tmp_path,
    )  # fmt: skip
    figures = report["figures"]
    assert figures["committed transactions"]["value"] > 0
    assert figures["failed receipts"]["value"] == 0
    kinds = {row["kind"]: row["committed"] for row in report["tables"]["committed by kind"]}
    assert set(kinds) == {"transfer"}
    assert figures["state bytes per account"]["value"] > 0


def test_loan_hook_collects_every_instalment_due_in_the_block(tmp_path: Path) -> None:
    report = run_bench("loan-hook", "--count", "300", out=tmp_path)
    figures = report["figures"]
    assert figures["instalments collected"]["value"] == 300
    assert figures["time per due instalment"]["value"] > 0
