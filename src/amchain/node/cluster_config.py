"""A consortium peer's configuration.

Configuration is a TOML file (``amchain node start --config FILE``)::

    [node]
    name = "peer1"                 # this peer, one of [[peers]]
    org = "oem"                    # its organisation
    data_dir = "peer1"             # relative paths are relative to this file
    genesis = "../genesis.json"
    node_key_file = "node_key.json"
    host = "127.0.0.1"
    port = 9101

    [etcd]
    endpoints = ["http://127.0.0.1:2379", "http://127.0.0.1:2381", "http://127.0.0.1:2383"]
    lease_ttl_s = 3                # cutter election lease
    keep_blocks = 200              # blocks kept in etcd below the final height
    compact_every = 50

    [blocks]
    max_txs = 2000
    max_bytes = 1048576            # well under etcd's 1.5 MiB request limit
    max_wait_ms = 50

    [cluster]
    quorum = 0                     # 0: a majority of [[peers]]

    [[peers]]
    name = "peer1"
    org = "oem"
    url = "http://127.0.0.1:9101"
    node_key = "<hex>"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amchain.node.config import NodeConfig
from amchain.node.peer import PeerInfo, majority

__all__ = ["ClusterConfig", "ClusterConfigError"]


class ClusterConfigError(ValueError):
    """A peer configuration file that cannot be used (says which field and why)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterConfig:
    name: str
    org: str
    data_dir: Path
    genesis_path: Path
    node_key_path: Path
    host: str
    port: int
    etcd_endpoints: list[str]
    peers: list[PeerInfo]
    quorum: int
    lease_ttl_s: int = 3
    keep_blocks: int = 200
    compact_every: int = 50
    max_block_txs: int = 2000
    max_block_bytes: int = 1024 * 1024
    max_block_wait_ms: int = 50
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def me(self) -> PeerInfo:
        return next(p for p in self.peers if p.name == self.name)

    @property
    def url(self) -> str:
        return self.me.url

    def node_config(self) -> NodeConfig:
        return NodeConfig(
            data_dir=self.data_dir,
            host=self.host,
            port=self.port,
            max_block_txs=self.max_block_txs,
            max_block_bytes=self.max_block_bytes,
            max_block_wait_ms=self.max_block_wait_ms,
        )

    @classmethod
    def load(cls, path: Path) -> ClusterConfig:
        """Read a peer's TOML configuration.

        Raises:
            ClusterConfigError: a missing or malformed field, or a peer list without this
                peer.
        """
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ClusterConfigError(f"cannot read {path}: {exc}") from None
        base = path.resolve().parent

        def need(table: str, key: str, kind: type) -> Any:
            value = raw.get(table, {}).get(key)
            if not isinstance(value, kind):
                raise ClusterConfigError(
                    f"{path}: [{table}] {key} must be a {kind.__name__} (got {value!r})"
                )
            return value

        def where(value: str) -> Path:
            candidate = Path(value).expanduser()
            return candidate if candidate.is_absolute() else base / candidate

        peers = []
        for i, entry in enumerate(raw.get("peers", [])):
            try:
                peers.append(
                    PeerInfo(
                        name=str(entry["name"]),
                        org=str(entry.get("org", "")),
                        url=str(entry["url"]).rstrip("/"),
                        node_key=str(entry["node_key"]).lower(),
                    )
                )
            except KeyError as exc:
                raise ClusterConfigError(f"{path}: [[peers]] #{i + 1} has no {exc}") from None
        name = need("node", "name", str)
        if name not in {p.name for p in peers}:
            raise ClusterConfigError(f"{path}: [[peers]] does not list this peer ({name!r})")
        quorum = int(raw.get("cluster", {}).get("quorum", 0)) or majority(len(peers))
        endpoints = need("etcd", "endpoints", list)
        etcd = raw.get("etcd", {})
        blocks = raw.get("blocks", {})
        return cls(
            name=name,
            org=need("node", "org", str),
            data_dir=where(need("node", "data_dir", str)),
            genesis_path=where(need("node", "genesis", str)),
            node_key_path=where(need("node", "node_key_file", str)),
            host=str(raw["node"].get("host", "127.0.0.1")),
            port=need("node", "port", int),
            etcd_endpoints=[str(e) for e in endpoints],
            peers=peers,
            quorum=quorum,
            lease_ttl_s=int(etcd.get("lease_ttl_s", 3)),
            keep_blocks=int(etcd.get("keep_blocks", 200)),
            compact_every=int(etcd.get("compact_every", 50)),
            max_block_txs=int(blocks.get("max_txs", 2000)),
            max_block_bytes=int(blocks.get("max_bytes", 1024 * 1024)),
            max_block_wait_ms=int(blocks.get("max_wait_ms", 50)),
        )
