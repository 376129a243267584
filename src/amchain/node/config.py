"""Node configuration: where the data lives, where the API listens, how blocks are cut."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8640
DEFAULT_HOST = "127.0.0.1"


def default_data_dir() -> Path:
    """``$AMCHAIN_DATA_DIR`` if set, else ``~/.amchain``: the same for `up` and every command."""
    env = os.environ.get("AMCHAIN_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".amchain"


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeConfig:
    """Everything a node needs to start. Keyword-only on purpose: names say what is what."""

    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    chain_id: str = "amchain-dev"
    max_block_txs: int = 2000
    max_block_bytes: int = 4 * 1024 * 1024
    max_block_wait_ms: int = 100
    max_mempool_txs: int = 50_000
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch_txs: int = 5_000
    """Transactions in one ``POST /v1/txs`` batch; a longer batch is refused whole (413)
    before its elements are looked at."""
    max_pending_per_signer: int = 10_000
    """Transactions of one signer (its first) waiting to be ordered; more are refused
    with 429 (tx/QUOTA_EXCEEDED) until blocks drain them."""
    max_pending_bytes_per_signer: int = 16 * 1024 * 1024
    """Bytes of one signer's transactions waiting to be ordered (likewise)."""
    public_names: tuple[str, ...] = ()
    """Host names (and addresses) the API answers to besides the local ones; requests naming
    another host are refused (a DNS-rebinding page cannot reach the node)."""
    cors_origins: tuple[str, ...] = ()
    """Web origins whose pages may call the API from a browser (default: none)."""
    max_event_streams: int = 256
    """``/v1/events`` subscribers at once, in total (each client: at most 8)."""
    admission_threads: int = 2
    admission_processes: int = 0
    """Worker processes that parse and admit transactions (0: threads in the node process)."""
    state_cache_entries: int = 50_000
    """Committed state values the block producer keeps in memory (0: none)."""
    genesis_time_ms: int | None = None
    """A new development chain's genesis time (default: now); in the past, time-based rules
    (vesting, maturities) are already due at the first block."""

    @property
    def db_path(self) -> Path:
        return self.data_dir / "chain.db"

    @property
    def genesis_path(self) -> Path:
        return self.data_dir / "genesis.json"

    @property
    def node_key_path(self) -> Path:
        return self.data_dir / "node_key.json"
