"""The node's SQLite file: refusals indexed on their own, state-tree nodes in packs, upgrades
of older files, and block batches."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amchain.crypto import KeyPair
from amchain.ledger import (
    EMPTY_TREE,
    CommitRecord,
    apply_state_updates,
    compute_block_hash,
    make_block_header,
    sign_commit_record,
)
from amchain.sdk.light import LightClient
from amchain.storage import BlockStore, StorageError, connection, tree_packs
from amchain.storage.schema import SCHEMA_VERSION
from amchain.storage.tree_packs import TREE_PACK_NODES, TreeNodeCache, pack_tree_nodes
from tests.support import RunningNode, start_node

VIN = "1HGCM82633A004352"
V3_DATA_DIR = Path(__file__).parent / "data" / "chain-v3"


def _chain_with_a_refused_rollback(data_dir: Path) -> None:
    """A vehicle with two readings and one refused rollback between them."""
    with start_node(data_dir) as node:
        car = {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003}
        _post(node, "oem", "register_vehicle", car, status=200)
        for km, status in ((12_000, 200), (9_000, 422), (15_000, 200)):  # 9,000: a rollback
            _post(node, "registry", "record_event", _reading(km), status=status)


def _reading(odometer_km: int) -> dict:
    return {"vin": VIN, "event": {"type": "odometer", "odometer_km": odometer_km}}


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


def _old_data_directory(tmp_path: Path) -> Path:
    """A copy of a data directory written by the release that used schema 3 (made with
    ``_chain_with_a_refused_rollback``: five blocks, four transactions, 122 tree nodes)."""
    data_dir = tmp_path / "node"
    shutil.copytree(V3_DATA_DIR, data_dir)
    return data_dir


def _tables(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


def test_a_version_3_data_directory_is_upgraded_and_keeps_proving(tmp_path: Path) -> None:
    data_dir = _old_data_directory(tmp_path)
    with start_node(data_dir) as node:
        light = LightClient(trusted_peers=[node.node.node_key.public_key.hex()], quorum=1)
        history = node.get(f"/v1/vehicles/{VIN}/history", proof="true").json()
        assert light.verify_bundle(history).facts["event_count"] == 3
        assert [e["odometer_km"] for e in history["events"][1:]] == [12_000, 15_000]
        # every older height still proves the vehicle's record as it was then
        for height, count in ((1, 1), (2, 2), (4, 3)):
            old = node.get(f"/v1/state/vehicles/v/{VIN}", proof="true", height=height).json()
            assert light.verify_bundle(old).facts["value"]["event_count"] == count
        tx_hash = history["events"][1]["tx_hash"]
        assert light.verify_bundle(node.get(f"/v1/txs/{tx_hash}", proof="true").json())
        # and the upgraded file takes new blocks
        _post(node, "registry", "record_event", _reading(20_000), status=200)
        _post(node, "registry", "record_event", _reading(19_000), status=422)
        after = node.get(f"/v1/vehicles/{VIN}/history", proof="true").json()
        assert light.verify_bundle(after).facts["event_count"] == 4
        assert _refused_kms(node.node.store) == [9_000, 19_000]
        assert node.node.store.get_meta("schema_version") == str(SCHEMA_VERSION).encode()
    tables = _tables(data_dir / "chain.db")
    assert {"tree_node_packs", "txs"} <= tables and "tree_nodes" not in tables


def test_a_version_2_database_is_upgraded_with_its_refusals_indexed(tmp_path: Path) -> None:
    db = _old_data_directory(tmp_path) / "chain.db"
    # What a version 2 file looks like: version 3 without failed_tx_index.
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("DROP TABLE failed_tx_index")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (b"2",))
        conn.commit()
    store = BlockStore.open(db)
    try:
        assert _refused_kms(store) == [9_000]
        assert len(store.indexed_txs("vehicle", VIN)) == 4
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION).encode()
    finally:
        store.close()


def test_an_upgrade_that_fails_leaves_the_old_file_as_it_was(tmp_path: Path) -> None:
    db = _old_data_directory(tmp_path) / "chain.db"
    with closing(sqlite3.connect(db)) as conn:  # a tree node that cannot be packed
        conn.execute("UPDATE tree_nodes SET node = ? WHERE id = 5", (b"",))
        conn.commit()
    before = _tables(db)
    with pytest.raises(StorageError, match="node 5 is empty"):
        BlockStore.open(db)
    assert _tables(db) == before
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            b"3",
        )


def test_tree_nodes_are_stored_in_packs_of_consecutive_ids() -> None:
    nodes = [b"a" * 70, b"b" * 82] + [b"c" * 65] * 30 + [b"d" * 90]  # ids 62 .. 94
    packs = pack_tree_nodes(62, nodes)
    assert [pack for pack, _ in packs] == [1, 2]
    assert len(packs[0][1]) == 4 * (TREE_PACK_NODES + 1) + 70 + 82
    assert len(packs[1][1]) == 4 * (TREE_PACK_NODES + 1) + 30 * 65 + 90
    with pytest.raises(StorageError, match="node 64 is empty"):
        pack_tree_nodes(62, [b"a", b"b", b"", b"c"])


def test_a_database_of_an_unknown_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    _chain_with_a_refused_rollback(tmp_path)
    db = tmp_path / "chain.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (b"99",))
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match=r"schema version 99.*new data directory"):
        BlockStore.open(db)


def _packed_reader(
    tmp_path: Path, nodes: list[tuple[int, bytes]], read_packs: int, written_packs: int = 0
) -> Any:
    """A reader of ``nodes`` (``(id, node)`` pairs with consecutive ids)."""
    conn = sqlite3.connect(tmp_path / "packs.db", isolation_level=None)
    conn.execute("CREATE TABLE tree_node_packs (pack INTEGER PRIMARY KEY, nodes BLOB NOT NULL)")
    packs = pack_tree_nodes(nodes[0][0], [node for _, node in nodes])
    conn.executemany("INSERT INTO tree_node_packs VALUES (?, ?)", packs)
    return TreeNodeCache(conn, written_packs, read_packs)


def test_a_full_pack_cache_still_returns_every_node_asked_for(tmp_path: Path) -> None:
    nodes = [(i, bytes([i % 256]) * 70) for i in range(1, 200)]  # seven packs
    reader = _packed_reader(tmp_path, nodes, read_packs=3)
    assert reader.get_tree_nodes([1, 40]) == {1: nodes[0][1], 40: nodes[39][1]}
    # two packs cached; asking for five more makes room, and the first two come back
    wanted = [1, 40, 70, 100, 130, 160, 199, 500]
    assert reader.get_tree_nodes(wanted) == {i: nodes[i - 1][1] for i in wanted if i < 200}


def test_packs_written_stay_cached_while_packs_read_come_and_go(tmp_path: Path) -> None:
    nodes = [(i, bytes([i % 256]) * 70) for i in range(1, 200)]  # packs 0 .. 6, stored
    reader = _packed_reader(tmp_path, nodes, read_packs=2, written_packs=2)
    written = [bytes([i % 256]) * 60 for i in range(224, 288)]
    reader.remember(pack_tree_nodes(224, written))  # packs 7 and 8, only in the cache
    reader.get_tree_nodes([1, 40, 70])  # packs 0, 1, 2: more than the read cache holds
    reader.get_tree_nodes([100])  # pack 3: the oldest reads go
    assert list(reader._read) == [3] and list(reader._written) == [7, 8]
    assert reader.get_tree_nodes([224, 287, 1]) == {
        224: written[0],
        287: written[-1],
        1: nodes[0][1],
    }


def test_in_list_queries_come_in_ten_lengths_and_keep_every_value() -> None:
    statements = set()
    for count in range(1, 1200):
        values = list(range(count))
        kept: list[int] = []
        for marks, chunk in connection.in_list_chunks(values):
            assert marks.count("?") == len(chunk) <= 512
            assert len(chunk) & (len(chunk) - 1) == 0, "a power of two"
            statements.add(marks)
            kept.extend(dict.fromkeys(chunk))  # the padding repeats the chunk's last value
        assert kept == values
    assert len(statements) == 10  # 1, 2, 4, ..., 512 values


def test_a_reader_returns_exactly_the_nodes_asked_for_from_any_number_of_packs(
    tmp_path: Path,
) -> None:
    nodes = [(i, i.to_bytes(2, "big") * 40) for i in range(1, 40 * TREE_PACK_NODES)]
    reader = _packed_reader(tmp_path, nodes, read_packs=0)  # every pack read from SQLite
    for count in range(1, 41):
        wanted = [pack * TREE_PACK_NODES + 1 for pack in range(count)] + [10**6]
        assert reader.get_tree_nodes(wanted) == {i: nodes[i - 1][1] for i in wanted[:-1]}


def test_known_txs_are_exactly_the_committed_ones_among_any_number_asked(
    tmp_path: Path,
) -> None:
    store = BlockStore.open(tmp_path / "chain.db")
    try:
        committed = [i.to_bytes(32, "big") for i in range(1, 700)]
        store._writer.executemany(  # bare rows: only the hashes are read
            "INSERT INTO txs (hash, height, idx, ok, tx, receipt) VALUES (?, 1, ?, 1, '', '')",
            [(tx_hash, index) for index, tx_hash in enumerate(committed)],
        )
        never = [b"\xff" * 32, b"\xfe" * 32]
        for count in (1, 3, 5, 600):
            assert store.known_txs([*committed[:count], *never]) == set(committed[:count])
            assert store.known_txs(committed[:count], on_writer=True) == set(committed[:count])
    finally:
        store.close()


def test_a_malformed_pack_is_a_storage_error(tmp_path: Path) -> None:
    reader = _packed_reader(tmp_path, [(1, b"x" * 70)], read_packs=8)
    reader._conn.execute("UPDATE tree_node_packs SET nodes = ?", (b"\x00" * 20,))
    with pytest.raises(StorageError, match="pack 0 is malformed"):
        reader.get_tree_nodes([1])


def test_the_compiled_pack_lookup_was_built() -> None:
    assert tree_packs.COMPILED_PACK_READER, (
        "amchain.storage._tree_packs was not built: install a C compiler (Debian: gcc), "
        "then `.venv/bin/pip install -e .` again"
    )


def _find_both(packs: dict[int, bytes], ids: list[int]) -> Any:
    """Look ``ids`` up with the compiled lookup and the Python reference; return what both
    found, or the error both raised."""
    outcomes = []
    for find in (tree_packs.find_packed_nodes, tree_packs.find_packed_nodes_in_python):
        try:
            outcomes.append(find(packs, ids))
        except StorageError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


@settings(deadline=None)
@given(
    st.integers(0, 100),
    st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=80),
    st.lists(st.integers(0, 200), max_size=60),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 200), st.integers(0, 255)), max_size=3),
)
def test_the_compiled_pack_lookup_finds_what_the_python_reference_finds(
    first_id: int,
    nodes: list[bytes],
    ids: list[int],
    damage: list[tuple[int, int, int]],
) -> None:
    packs = dict(pack_tree_nodes(first_id, nodes))
    for which, offset, byte in damage:  # some packs damaged: both must refuse them alike
        pack = sorted(packs)[which % len(packs)]
        data = bytearray(packs[pack])
        if offset < len(data):
            data[offset] = byte
        packs[pack] = bytes(data[: len(data) - offset // 8])
    outcome = _find_both(packs, ids)
    if not damage:
        found, absent = outcome
        by_id = {first_id + i: node for i, node in enumerate(nodes)}
        assert found == {i: by_id[i] for i in ids if i in by_id}
        assert absent == [i for i in ids if i // TREE_PACK_NODES not in packs]


def test_the_pack_lookups_refuse_a_pack_shorter_than_its_header() -> None:
    assert _find_both({0: b"\x00" * 20}, [1]) == "state-tree pack 0 is malformed (20 bytes)"


def test_the_latest_failed_transactions_are_read_from_an_index_of_failures(
    tmp_path: Path,
) -> None:
    _chain_with_a_refused_rollback(tmp_path)
    store = BlockStore.open(tmp_path / "chain.db")
    try:
        assert len(store.recent_txs(0, 10)) == 4
        statements: list[str] = []
        store._reader().set_trace_callback(statements.append)
        failed = store.recent_txs(0, 10, failed_only=True)
        store._reader().set_trace_callback(None)
        kms = [json.loads(t.tx)["body"]["args"]["event"]["odometer_km"] for t in failed]
        assert kms == [9_000]
        (query,) = statements  # as run, with its values
        plan = store._reader().execute(f"EXPLAIN QUERY PLAN {query}").fetchall()
        assert "USING INDEX txs_failed" in str(plan)
    finally:
        store.close()


# -- block batches (a peer applying a backlog) ------------------------------------------------

_KEY = KeyPair.generate()


class _Chain:
    """Empty blocks, each writing one state key, committed straight to a store."""

    def __init__(self, store: BlockStore) -> None:
        self.store = store
        self.height = -1
        self.hash = "00" * 32
        self.root = EMPTY_TREE

    def commit(self, *, reuse_pack_of: int | None = None) -> None:
        """Commit the next block (``reuse_pack_of``: with a tree pack id that is taken,
        which fails the block's write)."""
        height = self.height + 1
        header = make_block_header(
            chain_id="test-chain",
            height=height,
            prev_hash=self.hash,
            time_ms=1_000 + height,
            txs=[],
            proposer=_KEY.public_key,
        )
        block_hash = compute_block_hash(header)
        write_set: list[tuple[str, bytes | None]] = [(f"k/{height}", b"v")]
        next_id = self.store.next_tree_node_id()
        if reuse_pack_of is not None:
            next_id = reuse_pack_of * TREE_PACK_NODES
        tree = apply_state_updates(
            self.store.writer_tree_nodes(), self.root, write_set, next_node_id=next_id
        )
        record = CommitRecord(
            chain_id="test-chain",
            height=height,
            block_hash=block_hash.hex(),
            state_root=tree.root.hash.hex(),
            receipts_root="00" * 32,
        )
        self.store.commit_block(
            header=header,
            block_hash=block_hash,
            commit=sign_commit_record(record, _KEY),
            txs=[],
            receipts=[],
            write_set=write_set,
            tree=tree,
            index=[],
            receipt_bytes=[],
        )
        self.height, self.hash, self.root = height, block_hash.hex(), tree.root


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[_Chain]:
    """A new store with its genesis block committed."""
    store = BlockStore.open(tmp_path / "chain.db")
    try:
        first = _Chain(store)
        first.commit()
        yield first
    finally:
        store.close()


def _heights_seen_by_another_connection(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM blocks").fetchone()[0])


def test_a_block_batch_is_invisible_to_readers_until_it_ends_then_whole(chain: _Chain) -> None:
    store = chain.store
    with store.block_batch():
        for _ in range(3):
            chain.commit()  # each block reads the state tree the one before it wrote
        assert _heights_seen_by_another_connection(store.path) == 1
    assert _heights_seen_by_another_connection(store.path) == 4
    assert store.state_tree_root(3) == chain.root
    assert store.latest_height() == 3


def test_a_block_that_fails_in_a_batch_rolls_the_whole_batch_back(chain: _Chain) -> None:
    store = chain.store
    durable = (chain.height, chain.hash, chain.root)
    with pytest.raises(sqlite3.IntegrityError), store.block_batch():
        chain.commit()
        chain.commit(reuse_pack_of=1)  # block 1's pack again: refused halfway
    assert _heights_seen_by_another_connection(store.path) == 1  # genesis only
    assert store.latest_height() == 0
    # The packs of the rolled-back block are not served from the writer's cache.
    assert store.writer_tree_nodes().get_tree_nodes([TREE_PACK_NODES]) == {}
    chain.height, chain.hash, chain.root = durable
    chain.commit()  # the store takes block 1 again, as a restarted peer would write it
    assert store.state_tree_root(1) == chain.root


def test_a_batch_whose_failed_block_was_caught_still_commits_nothing(chain: _Chain) -> None:
    with pytest.raises(StorageError, match="failed to be written"), chain.store.block_batch():
        chain.commit()
        with pytest.raises(sqlite3.IntegrityError):
            chain.commit(reuse_pack_of=1)
    assert chain.store.latest_height() == 0


def test_block_batches_do_not_nest(chain: _Chain) -> None:
    with (
        chain.store.block_batch(),
        pytest.raises(RuntimeError, match="already open"),
        chain.store.block_batch(),
    ):
        pass
