"""A short run of the admission fuzzer (the long campaign is in bench/RESULTS.md): any input
atheris makes is admitted or refused with a code, never a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fuzzing_admission_finds_no_crash_in_a_short_run(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz_admission.py"), "-runs=20000",
         "-max_len=4096", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 20000 runs" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
