"""The node's SQLite file: refusals indexed on their own, and upgrades of older files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from amchain.storage import BlockStore, StorageError
from amchain.storage.sqlite import SCHEMA_VERSION
from tests.support import RunningNode, start_node

VIN = "1HGCM82633A004352"


def _chain_with_a_refused_rollback(data_dir: Path) -> None:
    """A vehicle with two readings and one refused rollback between them."""
    with start_node(data_dir) as node:
        car = {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003}
        _post(node, "oem", "register_vehicle", car, status=200)
        for km, status in ((12_000, 200), (9_000, 422), (15_000, 200)):  # 9,000: a rollback
            event = {"vin": VIN, "event": {"type": "odometer", "odometer_km": km}}
            _post(node, "registry", "record_event", event, status=status)


def _post(node: RunningNode, signer: str, message: str, args: dict, *, status: int) -> None:
    response = node.post(node.tx([node.key(signer)], "vehicles", message, args))
    assert response.status_code == status, response.text


def _refused_kms(store: BlockStore) -> list[int]:
    stored = store.indexed_txs("vehicle", VIN, failed_only=True)
    return [json.loads(t.tx)["body"]["args"]["event"]["odometer_km"] for t in stored]


def test_refused_transactions_are_listed_from_an_index_of_their_own(tmp_path: Path) -> None:
    _chain_with_a_refused_rollback(tmp_path)
    store = BlockStore.open(tmp_path / "chain.db")
    try:
        assert _refused_kms(store) == [9_000]
        assert len(store.indexed_txs("vehicle", VIN)) == 4
    finally:
        store.close()
    conn = sqlite3.connect(tmp_path / "chain.db")
    failed = conn.execute("SELECT DISTINCT height, idx FROM failed_tx_index").fetchall()
    kinds = conn.execute("SELECT kind, value FROM failed_tx_index WHERE kind = 'vehicle'")
    vehicle_rows = kinds.fetchall()
    conn.close()
    assert len(failed) == 1  # the refusal only (under each of its index keys), not the others
    assert vehicle_rows == [("vehicle", VIN)]


def test_a_version_2_database_is_upgraded_with_its_refusals_indexed(tmp_path: Path) -> None:
    _chain_with_a_refused_rollback(tmp_path)
    db = tmp_path / "chain.db"
    # What a version 2 file looks like: no failed_tx_index table.
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE failed_tx_index")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (b"2",))
    conn.commit()
    conn.close()
    store = BlockStore.open(db)
    try:
        assert _refused_kms(store) == [9_000]
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION).encode()
    finally:
        store.close()


def test_a_database_of_an_unknown_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    _chain_with_a_refused_rollback(tmp_path)
    db = tmp_path / "chain.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (b"99",))
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match=r"schema version 99.*new data directory"):
        BlockStore.open(db)
