"""What a node counts about itself, for ``/metrics`` (the API turns it into Prometheus text).

Plain counters and fixed-bucket histograms, updated where the work happens (intake, block
production, block application); reading them never blocks a writer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["BLOCK_SECONDS_BUCKETS", "Histogram", "NodeMetrics"]

BLOCK_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(slots=True)
class Histogram:
    """Observations counted per upper bound (the last bucket is +Inf)."""

    bounds: Sequence[float]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        index = next((i for i, bound in enumerate(self.bounds) if value <= bound), len(self.bounds))
        self.counts[index] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs, cumulative, ending with ``+Inf``."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


class NodeMetrics:
    """The node's counters; thread-safe (admission threads and the writer update them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.txs_admitted = 0
        self.txs_refused: dict[tuple[str, int], int] = {}
        self.blocks_committed = 0
        self.txs_committed = 0
        self.block_seconds = Histogram(BLOCK_SECONDS_BUCKETS)
        """Executing and committing one block (or one batch of blocks, a peer catching up)."""
        self.block_interval_seconds = Histogram(BLOCK_SECONDS_BUCKETS)
        """Block time between consecutive blocks (the header's clock)."""
        self._last_block_time_ms: int | None = None

    def admitted(self, count: int = 1) -> None:
        with self._lock:
            self.txs_admitted += count

    def refused(self, codespace: str, code: int) -> None:
        with self._lock:
            key = (codespace, code)
            self.txs_refused[key] = self.txs_refused.get(key, 0) + 1

    def committed(self, *, blocks: int, txs: int, seconds: float, last_time_ms: int) -> None:
        with self._lock:
            self.blocks_committed += blocks
            self.txs_committed += txs
            self.block_seconds.observe(seconds)
            if self._last_block_time_ms is not None and blocks == 1:
                self.block_interval_seconds.observe(
                    max(0, last_time_ms - self._last_block_time_ms) / 1000
                )
            self._last_block_time_ms = last_time_ms

    def refused_counts(self) -> list[tuple[tuple[str, int], int]]:
        with self._lock:
            return sorted(self.txs_refused.items())
