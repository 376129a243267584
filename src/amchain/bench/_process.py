"""Run ``amchain up`` as a child process: start it, wait until it answers, measure, stop it.

Used by the benchmarks (a node that has its own process, so its CPU time and peak RSS are
its own) and by the crash test (which SIGKILLs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A new directory under the system's temp dir, removed (with the chain in it) afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class NodeStartError(RuntimeError):
    """The node process exited or did not answer ``/v1/status`` in time."""


@dataclass
class NodeProcess:
    """``amchain up --data-dir DIR --port PORT`` in a child process.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Without ``log_path``
    the child's stdout is discarded and its stderr kept in memory; with it, both go to that
    file. Either way the tail is shown if the node fails to start.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    start_timeout_s: float = 30.0
    log_path: Path | None = None
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the node process is not running")
        return self.process.pid

    def start(self) -> NodeProcess:
        """Start the node and return once ``GET /v1/status`` answers 200.

        Raises:
            NodeStartError: the process exited, or did not answer within the timeout.
        """
        sink = None if self.log_path is None else self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amchain.cli",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL if sink is None else sink,
            stderr=subprocess.PIPE if sink is None else subprocess.STDOUT,
            env={**(os.environ if self.env is None else self.env), "PYTHONUNBUFFERED": "1"},
        )
        if sink is not None:
            sink.close()  # the child holds its own descriptor
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NodeStartError(
                    f"node exited with {self.process.returncode}: {self.output()[-2000:]}"
                )
            try:
                if httpx.get(f"{self.url}/v1/status", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise NodeStartError(
            f"node did not answer on {self.url} within {self.start_timeout_s} s: "
            f"{self.output()[-2000:]}"
        )

    def output(self) -> str:
        """What the node printed: the log file, or (without one) stderr once it has exited."""
        if self.log_path is not None:
            return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        if self.process is None or self.process.stderr is None or self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode(errors="replace")

    def kill(self, children_timeout_s: float = 10.0) -> None:
        """SIGKILL the node (as a crash would), reap it, and wait until its worker processes
        (which die with it) are gone too, so nothing of it still holds the database open."""
        if self.process is None:
            return
        children = child_pids(self.process.pid) if self.process.poll() is None else []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + children_timeout_s
        while any(_running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self, timeout_s: float = 20.0) -> None:
        """Ask the node to stop (SIGTERM); SIGKILL it if it has not stopped in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stderr is not None:
            self.process.stderr.close()

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the process uses ----------------------------------------------------------
    def cpu_seconds(self) -> float:
        """User + system CPU time the node process has used so far (all its threads)."""
        return process_cpu_seconds(self.pid)

    def worker_cpu_seconds(self) -> float:
        """CPU time of the node's child processes (its admission workers), still running."""
        return sum(process_cpu_seconds(child) for child in child_pids(self.pid))

    def worker_peak_rss_bytes(self) -> int:
        """Sum of the peak RSS of the node's child processes."""
        return sum(process_peak_rss_bytes(child) for child in child_pids(self.pid))

    def peak_rss_bytes(self) -> int:
        """The node process's peak resident set size so far (``VmHWM``)."""
        return process_peak_rss_bytes(self.pid)

    def db_bytes(self) -> int:
        """Bytes of the chain database on disk, WAL included."""
        return sum(p.stat().st_size for p in self.data_dir.glob("chain.db*"))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def process_peak_rss_bytes(pid: int) -> int:
    """Peak resident set size of process ``pid`` (Linux ``/proc``, ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def child_pids(pid: int) -> list[int]:
    """Pids of the live child processes of ``pid`` (Linux ``/proc``)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def _running(pid: int) -> bool:
    """True while process ``pid`` exists and has not exited (a zombie has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
