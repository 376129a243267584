"""A local consortium on 127.0.0.1: etcd members and peers as child processes.

``LocalCluster.create(DIR, peers=4, etcd=3)`` writes::

    DIR/cluster.json            the layout: members, peers, ports, process ids
    DIR/genesis.json            one organisation per peer, each peer's node key registered
    DIR/keystore.json           each organisation's admin key, named after the organisation
    DIR/peers.json              the peers' node keys, for light clients (`amchain verify`)
    DIR/etcd/<member>/          etcd data
    DIR/peers/<peer>/peer.toml  the peer's configuration (``amchain node start --config``)
    DIR/peers/<peer>/node_key.json, chain.db, certificates.db
    DIR/logs/<name>.log

and ``start()`` runs every member and peer as a child process in its own session, so they
outlive the command that started them; ``stop()`` (``amchain cluster down``) ends them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from amchain.codec import to_builtins
from amchain.crypto import KeyPair
from amchain.modules.base import GenesisMember
from amchain.node.devnet import write_json_atomically
from amchain.node.keystore import Keystore
from amchain.node.lock import data_dir_holder
from amchain.runtime import default_registry, make_genesis

ETCD_BINARY = "etcd"
LAYOUT_FILE = "cluster.json"

# Organisation of peer i (cycled): its id (also its keystore name) and roles.
ORG_ROLES: list[tuple[str, list[str]]] = [
    ("oem", ["oem", "supplier"]),
    ("registry", ["registry", "regulator"]),
    ("dealer", ["dealer", "service_center"]),
    ("insurer", ["insurer", "financier"]),
    ("charging", ["charging_operator", "grid_operator"]),
    ("fleet", ["fleet", "edge_operator"]),
]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: str
    pid: int = 0

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


@dataclass
class LocalPeer:
    name: str
    org: str
    port: int
    config: str
    data_dir: str
    node_key: str
    pid: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class LocalCluster:
    directory: Path
    chain_id: str
    etcd: list[EtcdMember] = field(default_factory=list)
    peers: list[LocalPeer] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    # -- layout ----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        peers: int = 4,
        etcd: int = 3,
        chain_id: str = "amchain-consortium",
        keep_blocks: int = 200,
        compact_every: int = 50,
        lease_ttl_s: int = 3,
        max_block_txs: int = 2000,
        max_block_wait_ms: int = 50,
        quorum: int = 0,
    ) -> LocalCluster:
        """Write a new consortium's layout, genesis, keys and configurations.

        Raises:
            FileExistsError: ``directory`` already holds a cluster.
            ValueError: fewer than 1 peer or etcd member.
        """
        if peers < 1 or etcd < 1:
            raise ValueError("a cluster needs at least one peer and one etcd member")
        directory = directory.resolve()
        if (directory / LAYOUT_FILE).exists():
            raise FileExistsError(f"{directory} already holds a cluster ({LAYOUT_FILE})")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "logs").mkdir(exist_ok=True)
        ports = free_ports(2 * etcd + peers)
        members = [
            EtcdMember(
                name=f"etcd{i + 1}",
                client_port=ports[2 * i],
                peer_port=ports[2 * i + 1],
                data_dir=str(directory / "etcd" / f"etcd{i + 1}"),
            )
            for i in range(etcd)
        ]
        keystore = Keystore(directory)
        genesis_members: list[GenesisMember] = []
        local_peers: list[LocalPeer] = []
        for i in range(peers):
            base, roles = ORG_ROLES[i % len(ORG_ROLES)]
            org = base if i < len(ORG_ROLES) else f"{base}{i // len(ORG_ROLES) + 1}"
            admin = keystore.add(org, KeyPair.generate(), org=org, did=f"did:amc:org:{org}").key
            node_key = KeyPair.generate()
            peer_dir = directory / "peers" / f"peer{i + 1}"
            peer_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomically(
                peer_dir / "node_key.json", {"seed": node_key.seed.hex()}, mode=0o600
            )
            genesis_members.append(
                GenesisMember(
                    id=org,
                    name=f"Consortium member {org}",
                    roles=tuple(roles),
                    admin_keys=(admin.public_key.hex(),),
                    device_keys=(node_key.public_key.hex(),),
                )
            )
            local_peers.append(
                LocalPeer(
                    name=f"peer{i + 1}",
                    org=org,
                    port=ports[2 * etcd + i],
                    config=str(peer_dir / "peer.toml"),
                    data_dir=str(peer_dir),
                    node_key=node_key.public_key.hex(),
                )
            )
        genesis = make_genesis(
            default_registry(),
            chain_id=f"{chain_id}-{os.urandom(3).hex()}",
            genesis_time_ms=time.time_ns() // 1_000_000,
            members=genesis_members,
        )
        write_json_atomically(directory / "genesis.json", to_builtins(genesis))
        # The keys a light client trusts (`amchain verify --peers-file DIR/peers.json`).
        write_json_atomically(directory / "peers.json", [p.node_key for p in local_peers])
        cluster = cls(
            directory=directory,
            chain_id=genesis.chain_id,
            etcd=members,
            peers=local_peers,
            settings={
                "keep_blocks": keep_blocks,
                "compact_every": compact_every,
                "lease_ttl_s": lease_ttl_s,
                "max_block_txs": max_block_txs,
                "max_block_wait_ms": max_block_wait_ms,
                "quorum": quorum,
            },
        )
        for peer in local_peers:
            Path(peer.config).write_text(cluster.peer_toml(peer))
        cluster.save()
        return cluster

    def peer_toml(self, peer: LocalPeer) -> str:
        s = self.settings
        endpoints = ", ".join(f'"{m.client_url}"' for m in self.etcd)
        lines = [
            "# amchain peer configuration: amchain node start --config THIS_FILE",
            "[node]",
            f'name = "{peer.name}"',
            f'org = "{peer.org}"',
            'data_dir = "."',
            'genesis = "../../genesis.json"',
            'node_key_file = "node_key.json"',
            'host = "127.0.0.1"',
            f"port = {peer.port}",
            "",
            "[etcd]",
            f"endpoints = [{endpoints}]",
            f"lease_ttl_s = {s['lease_ttl_s']}",
            f"keep_blocks = {s['keep_blocks']}",
            f"compact_every = {s['compact_every']}",
            "",
            "[blocks]",
            f"max_txs = {s['max_block_txs']}",
            "max_bytes = 1048576",
            f"max_wait_ms = {s['max_block_wait_ms']}",
            "",
            "[cluster]",
            f"quorum = {s['quorum']}",
        ]
        for other in self.peers:
            lines += [
                "",
                "[[peers]]",
                f'name = "{other.name}"',
                f'org = "{other.org}"',
                f'url = "{other.url}"',
                f'node_key = "{other.node_key}"',
            ]
        return "\n".join(lines) + "\n"

    def save(self) -> None:
        data = {
            "chain_id": self.chain_id,
            "etcd": [asdict(m) for m in self.etcd],
            "peers": [asdict(p) for p in self.peers],
            "settings": self.settings,
        }
        write_json_atomically(self.directory / LAYOUT_FILE, data)

    @classmethod
    def load(cls, directory: Path) -> LocalCluster:
        """Read the layout of a cluster made by :meth:`create`.

        Raises:
            FileNotFoundError: no cluster in ``directory``.
        """
        directory = directory.resolve()
        path = directory / LAYOUT_FILE
        if not path.exists():
            raise FileNotFoundError(f"no cluster in {directory} (no {LAYOUT_FILE})")
        data = json.loads(path.read_text())
        return cls(
            directory=directory,
            chain_id=data["chain_id"],
            etcd=[EtcdMember(**m) for m in data["etcd"]],
            peers=[LocalPeer(**p) for p in data["peers"]],
            settings=data.get("settings", {}),
        )

    # -- processes -------------------------------------------------------------------------
    def _log(self, name: str) -> Any:
        return open(self.directory / "logs" / f"{name}.log", "ab")

    def start_etcd(self, member: EtcdMember) -> None:
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.etcd)
        state = "existing" if (Path(member.data_dir) / "member").exists() else "new"
        command = [
            ETCD_BINARY,
            "--name", member.name,
            "--data-dir", member.data_dir,
            "--listen-client-urls", member.client_url,
            "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", initial,
            "--initial-cluster-state", state,
            "--initial-cluster-token", self.chain_id,
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            "--snapshot-count", "10000",
            "--logger", "zap",
            "--log-level", "warn",
        ]  # fmt: skip
        with self._log(member.name) as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        member.pid = process.pid
        self.save()

    def start_peer(self, peer: LocalPeer) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self._log(peer.name) as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "amchain.cli", "node", "start", "--config", peer.config],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        peer.pid = process.pid
        self.save()

    def start(self, *, timeout_s: float = 60) -> None:
        """Start every etcd member, then every peer; wait until all answer."""
        for member in self.etcd:
            if not alive(member.pid):
                self.start_etcd(member)
        self.wait_etcd(timeout_s)
        for peer in self.peers:
            running = self.running_peer(peer)
            if running:
                peer.pid = running  # maybe restarted by hand with `amchain node start`
                self.save()
            else:
                self.start_peer(peer)
        for peer in self.peers:
            self.wait_peer(peer, timeout_s)

    def wait_etcd(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            healthy = 0
            for member in self.etcd:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    answer = httpx.get(f"{member.client_url}/health", timeout=1).json()
                    healthy += answer.get("health") == "true"
            if healthy > len(self.etcd) // 2:
                return
            time.sleep(0.2)
        raise TimeoutError(f"etcd did not become healthy; see {self.directory / 'logs'}")

    def wait_peer(self, peer: LocalPeer, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if peer.pid and not alive(peer.pid):
                log = (self.directory / "logs" / f"{peer.name}.log").read_text()[-3000:]
                raise RuntimeError(f"{peer.name} exited:\n{log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{peer.url}/v1/status", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{peer.name} did not answer on {peer.url} within {timeout_s} s")

    def signal(self, pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def stop_process(self, pid: int, *, timeout_s: float = 10) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; reap it if it is our child."""
        if not pid or not alive(pid):
            return
        self.signal(pid, signal.SIGCONT)
        self.signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            self.signal(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.02)

    def kill(self, pid: int) -> None:
        """SIGKILL and wait until it is gone."""
        self.signal(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.02)

    def running_peer(self, peer: LocalPeer) -> int:
        """The pid of the process running ``peer``: the one this cluster started, or one
        started by hand (`amchain node start --config`) that holds the peer's data dir; 0
        if none runs."""
        if alive(peer.pid):
            return peer.pid
        holder = data_dir_holder(Path(peer.data_dir))
        return 0 if holder == os.getpid() else holder  # never this process (a test's node)

    def stop(self) -> None:
        """Stop every peer (also one restarted by hand), then every etcd member."""
        for peer in self.peers:
            self.stop_process(peer.pid)
            peer.pid = 0
            self.stop_process(self.running_peer(peer))  # one restarted by hand
        for member in self.etcd:
            self.stop_process(member.pid)
            member.pid = 0
        self.save()

    # -- observing -------------------------------------------------------------------------
    def etcd_leader(self) -> EtcdMember | None:
        """The member that is the Raft leader now, if any answers."""
        for member in self.etcd:
            if not alive(member.pid):
                continue
            try:
                status = httpx.post(
                    f"{member.client_url}/v3/maintenance/status", json={}, timeout=1
                ).json()
            except (httpx.HTTPError, ValueError):
                continue
            if status.get("leader") and status["leader"] == status["header"]["member_id"]:
                return member
        return None

    def peer_status(self, peer: LocalPeer) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{peer.url}/v1/cluster/status", timeout=2)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None


def alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie (reaping our own children)."""
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True
