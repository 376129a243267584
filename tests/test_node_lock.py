"""One node process per data dir: a second one is refused with a clear error, and the lock
goes with its holder however the holder ends."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amchain.cli import app
from amchain.node import Node, NodeConfig
from amchain.node.localnet import LocalCluster, LocalPeer, alive
from amchain.node.lock import DataDirInUse, DataDirLock, data_dir_holder

from .support import free_port

HOLD_THE_LOCK = (
    "import sys, time; from pathlib import Path; from amchain.node.lock import DataDirLock; "
    "DataDirLock.acquire(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)"
)


def hold_lock_in_another_process(data_dir: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    return process


def test_a_second_node_on_the_same_data_dir_is_refused_and_the_first_keeps_its_chain(
    tmp_path: Path,
) -> None:
    first = Node.open(NodeConfig(data_dir=tmp_path))
    height = first.head.height
    with pytest.raises(DataDirInUse) as refused:
        Node.open(NodeConfig(data_dir=tmp_path))
    assert refused.value.pid == os.getpid()
    assert str(tmp_path) in str(refused.value) and "in use by another amchain node" in str(
        refused.value
    )
    assert first.head.height == height and first.store.latest_height() == height
    asyncio.run(first.stop())
    again = Node.open(NodeConfig(data_dir=tmp_path))  # free once the first has stopped
    assert again.head.height == height
    asyncio.run(again.stop())


def test_the_lock_goes_with_a_killed_holder(tmp_path: Path) -> None:
    holder = hold_lock_in_another_process(tmp_path)
    try:
        assert data_dir_holder(tmp_path) == holder.pid
        with pytest.raises(DataDirInUse) as refused:
            DataDirLock.acquire(tmp_path)
        assert refused.value.pid == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert data_dir_holder(tmp_path) == 0
    lock = DataDirLock.acquire(tmp_path)
    assert data_dir_holder(tmp_path) == os.getpid()
    lock.release()


def test_a_data_dir_that_never_held_a_node_has_no_holder(tmp_path: Path) -> None:
    assert data_dir_holder(tmp_path / "missing") == 0
    DataDirLock.acquire(tmp_path).release()
    assert data_dir_holder(tmp_path) == 0


def test_amchain_up_on_a_data_dir_in_use_says_so_and_exits_1(tmp_path: Path) -> None:
    holder = hold_lock_in_another_process(tmp_path)
    try:
        result = CliRunner().invoke(
            app, ["up", "--data-dir", str(tmp_path), "--port", str(free_port())]
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert result.exit_code == 1
    assert f"in use by another amchain node (pid {holder.pid})" in " ".join(result.output.split())
    assert not (tmp_path / "genesis.json").exists()  # refused before creating anything


def test_cluster_down_also_stops_a_peer_restarted_by_hand(tmp_path: Path) -> None:
    peer_dir = tmp_path / "peers" / "peer1"
    by_hand = hold_lock_in_another_process(peer_dir)  # as `amchain node start` would
    cluster = LocalCluster(
        directory=tmp_path,
        chain_id="test",
        peers=[
            LocalPeer(
                name="peer1",
                org="oem",
                port=free_port(),
                config=str(peer_dir / "peer.toml"),
                data_dir=str(peer_dir),
                node_key="00" * 32,
                pid=0,  # the cluster's own child was killed
            )
        ],
    )
    try:
        assert cluster.running_peer(cluster.peers[0]) == by_hand.pid
        cluster.stop()
        deadline = time.monotonic() + 10
        while by_hand.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert by_hand.poll() is not None and not alive(by_hand.pid)
        assert cluster.running_peer(cluster.peers[0]) == 0
    finally:
        if by_hand.poll() is None:
            by_hand.kill()
            by_hand.wait()
