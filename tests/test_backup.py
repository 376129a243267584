"""``amchain backup`` of a node under load, and ``amchain restore``, which re-executes every
block and refuses a backup whose blocks do not reproduce their signed commit records."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import httpx
from typer.testing import CliRunner

from amchain.cli import app
from amchain.crypto import KeyPair
from amchain.node import Node, NodeConfig
from tests.support import RunningNode, start_node

runner = CliRunner()


def _load(node: RunningNode, stop: threading.Event, sent: list[str]) -> None:
    dealer = node.key("dealer")
    seed = 0
    while not stop.is_set() and seed < 400:
        seed += 1
        new_key = KeyPair.from_seed(seed.to_bytes(32, "big"))
        tx = node.tx(
            [dealer, new_key], "identity", "create_did", {"public_key": new_key.public_key.hex()}
        )
        if node.post(tx, wait=False).status_code == 202:
            sent.append(tx.hash_hex)


def test_a_backup_taken_under_load_restores_to_a_chain_that_verifies(tmp_path: Path) -> None:
    stop = threading.Event()
    sent: list[str] = []
    with start_node(tmp_path / "live") as node:
        load = threading.Thread(target=_load, args=(node, stop, sent))
        load.start()
        try:
            while node.node.head.height < 3:
                stop.wait(0.05)
            taken = runner.invoke(
                app, ["backup", str(tmp_path / "backup"), "--data-dir", str(node.data_dir)]
            )
        finally:
            stop.set()
            load.join()
        assert taken.exit_code == 0, taken.output
        assert "backed up" in taken.output
    manifest = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert manifest["height"] >= 3
    assert (tmp_path / "backup" / "node_key.json").stat().st_mode & 0o777 == 0o600

    restored = runner.invoke(
        app, ["restore", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "restored")]
    )
    assert restored.exit_code == 0, restored.output
    assert f"{manifest['height']} blocks re-executed" in restored.output
    node = Node.open(NodeConfig(data_dir=tmp_path / "restored"))
    try:
        assert (node.head.height, node.head.hash) == (manifest["height"], manifest["block_hash"])
        assert node.head.state_root.hex() == manifest["state_root"]
    finally:
        node.close()


def test_a_backup_whose_blocks_do_not_reproduce_their_records_is_refused(tmp_path: Path) -> None:
    with start_node(tmp_path / "live") as node:
        oem = node.key("oem")
        for seed in (1, 2):
            key = KeyPair.from_seed(bytes([seed]) * 32)
            tx = node.tx([oem, key], "identity", "create_did", {"public_key": key.public_key.hex()})
            assert node.post(tx).status_code == 200
        assert httpx.get(f"{node.url}/v1/status").status_code == 200
        assert (
            runner.invoke(
                app, ["backup", str(tmp_path / "b"), "--data-dir", str(node.data_dir)]
            ).exit_code
            == 0
        )
    db = tmp_path / "b" / "chain.db"

    # a changed file: the manifest's digest no longer matches
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE blocks SET tx_count = tx_count WHERE height = 1")
        conn.execute("PRAGMA user_version = 77")
    refused = runner.invoke(
        app, ["restore", str(tmp_path / "b"), "--data-dir", str(tmp_path / "r1")]
    )
    assert refused.exit_code == 1 and "changed since the backup" in refused.output

    # a commit record rewritten (and the manifest with it): its signature gives it away
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 0")
        record = json.loads(
            conn.execute("SELECT commit_record FROM blocks WHERE height = 1").fetchone()[0]
        )
        record["record"]["state_root"] = "00" * 32
        conn.execute(
            "UPDATE blocks SET commit_record = ? WHERE height = 1", (json.dumps(record).encode(),)
        )
    manifest_path = tmp_path / "b" / "backup.json"
    manifest = json.loads(manifest_path.read_text())
    import hashlib

    manifest["files"]["chain.db"] = hashlib.sha256(db.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    refused = runner.invoke(
        app, ["restore", str(tmp_path / "b"), "--data-dir", str(tmp_path / "r2")]
    )
    assert refused.exit_code == 1, refused.output
    assert "block 1" in refused.output
    assert not (tmp_path / "r2").exists()  # nothing left behind
