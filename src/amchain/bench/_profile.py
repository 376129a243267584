"""Sample the node with py-spy during a run and say where its time goes.

``py-spy record --gil --format raw`` samples only the thread holding the GIL (the node's
scarce resource: everything but libsodium and SQLite holds it) and writes one line per
distinct stack (``frame;frame;... count``).
The summary groups samples by the stage of a transaction's life they belong to (the first
matching function on the stack) and lists the hottest functions by own time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# The stage a sample belongs to: the first of these found on its stack, from the root.
STAGES: tuple[tuple[str, str], ...] = (
    ("_produce_block", "block: validate, execute, commit (writer thread)"),
    ("_admit_chunk", "admission: decode, signatures, permission (worker threads)"),
    ("submit (amchain/api/app.py", "API: read and parse the request, answer"),
    ("wait_for_commit", "API: wait for commit"),
    ("tx_status", "API: status reads"),
)


def py_spy() -> str | None:
    """The py-spy executable next to this Python, or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start_recording(
    pid: int, out: Path, duration_s: float, rate: int = 250
) -> subprocess.Popen[bytes]:
    """Start sampling process ``pid`` for ``duration_s`` seconds into ``out`` (raw format).

    Raises:
        FileNotFoundError: py-spy is not installed (``pip install -e '.[dev]'``).
    """
    exe = py_spy()
    if exe is None:
        raise FileNotFoundError("py-spy is not installed; it is in the dev extras")
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(out),
            "--rate",
            str(rate),
            "--duration",
            str(max(1, round(duration_s))),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """Stages and hottest functions (own time) from a py-spy raw profile."""
    stages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        stage = "other (event loop, HTTP server, idle waits)"
        for needle, name in STAGES:
            if any(needle in frame for frame in frames):
                stage = name
                break
        stages[stage] += count
        own[frames[-1]] += count
    if total == 0:
        return {"samples": 0, "stages": [], "hottest": []}
    return {
        "samples": total,
        "stages": [
            {"stage": name, "share_pct": round(100 * n / total, 1)}
            for name, n in stages.most_common()
        ],
        "hottest": [
            {"function": name[:110], "own_pct": round(100 * n / total, 1)}
            for name, n in own.most_common(top)
        ],
    }
