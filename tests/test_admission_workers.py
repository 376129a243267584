"""Admission worker processes: started with `amchain up`, gone when the node is gone."""

from __future__ import annotations

import time
from pathlib import Path

from amchain.bench import NodeProcess
from amchain.bench._process import child_pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_admission_workers_exit_when_the_node_is_killed(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "chain", extra_args=("--admission-processes", "2")).start()
    try:
        # The workers only: multiprocessing's resource tracker (also a child) holds no
        # database and leaves once every worker has.
        children = [pid for pid in child_pids(node.pid) if "spawn_main" in _cmdline(pid)]
        assert len(children) >= 2, "amchain up started no admission workers"
    finally:
        node.kill()
    deadline = time.monotonic() + 30  # generous: a loaded machine schedules slowly
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children), "workers outlived a kill -9 of the node"
