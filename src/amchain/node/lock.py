"""One node process per data dir.

Two nodes on one data dir would both append blocks to the same database: the second one's
writer fails on the heights the first wrote, while its API keeps admitting transactions it
will never commit and serving a head that no longer moves. So a node holds an exclusive
``flock`` on ``<data dir>/node.lock`` (with its pid written in it) from opening to stopping;
a second node is refused at start, and the kernel drops the lock when the holder dies,
however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = "node.lock"


class DataDirInUse(RuntimeError):
    """Another live process holds the data dir's lock (its pid is :attr:`pid`, 0 if unknown)."""

    def __init__(self, data_dir: Path, pid: int) -> None:
        holder = f"pid {pid}" if pid else "a process whose pid it did not record"
        super().__init__(
            f"{data_dir} is in use by another amchain node ({holder}); stop that node first, "
            "or give this one another data dir"
        )
        self.data_dir = data_dir
        self.pid = pid


class DataDirLock:
    """The lock a node holds on its data dir while it is open (see the module docstring)."""

    def __init__(self, data_dir: Path, fd: int) -> None:
        self.data_dir = data_dir
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Take the lock on ``data_dir`` (created if missing) for this process.

        Raises:
            DataDirInUse: another process holds it.
            OSError: the data dir or its lock file cannot be created.
        """
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data_dir.chmod(0o700)  # the node's own: keys, chain and logs are for its user only
        fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _recorded_pid(fd)
            os.close(fd)
            raise DataDirInUse(data_dir, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(data_dir, fd)

    def release(self) -> None:
        """Give the lock up (idempotent); the file stays, with no live holder."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def data_dir_holder(data_dir: Path) -> int:
    """Return the pid of the live process holding ``data_dir``'s lock; 0 if none does (or
    it did not record its pid)."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        # A shared lock is granted only if nobody holds the exclusive one.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _recorded_pid(fd)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return 0
    finally:
        os.close(fd)


def _recorded_pid(fd: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip() or 0)
    return 0
