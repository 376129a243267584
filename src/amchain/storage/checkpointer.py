"""The background WAL checkpointer of the node's database."""

from __future__ import annotations

import threading
from pathlib import Path

from amchain.storage.connection import connect

__all__ = ["CHECKPOINT_PAUSE_S", "Checkpointer"]

CHECKPOINT_PAUSE_S = 0.5  # the background checkpointer's rest between two copies


class Checkpointer:
    """Copies the WAL back into the database file from its own connection and thread.

    SQLite's automatic checkpoint runs inside the COMMIT of the transaction that crosses
    the threshold, so the block producer would wait for it (copying pages, an fsync of the
    database file) before it can start the next block. Here the producer only wakes this
    thread after each commit. ``PASSIVE`` never blocks the writer or readers; durability is
    the WAL's, fsynced at every commit (``synchronous=FULL``), whether or not the copy ran.

    After a copy the thread rests ``CHECKPOINT_PAUSE_S``: a page that several blocks in a
    row rewrote (upper B-tree levels, the tails of the append-only tables) is copied and
    fsynced once for all of them instead of once per block.
    """

    def __init__(self, path: Path) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="wal-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path) -> None:
        conn = connect(path)
        try:
            while not self._stopping:
                self._wake.wait(1.0)
                self._wake.clear()
                if not self._stopping:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    self._stop.wait(CHECKPOINT_PAUSE_S)
        finally:
            conn.close()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._stop.set()
        self._wake.set()
        self._thread.join()
