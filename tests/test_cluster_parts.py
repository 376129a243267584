"""The consortium's parts, each on real inputs: the block codec, block validity, quorum
finality and certificates, the peer configuration, and the etcd client against a real
single-member etcd (a height is written exactly once, leases, compaction)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from amchain.consensus.etcd import (
    BLOCK_VALUE_LIMIT,
    BlockDecodeError,
    ClusterKeys,
    EtcdOrderer,
    EtcdOrderingConfig,
    OrderedBlock,
    decode_block,
    encode_block,
    pack_block_value,
    unpack_block_value,
)
from amchain.consensus.etcdv3 import (
    Compare,
    EtcdClient,
    EtcdCompacted,
    EtcdUnavailable,
    KeyValue,
    prefix_end,
    put_op,
)
from amchain.crypto import KeyPair
from amchain.ledger import (
    BlockCode,
    BlockError,
    CommitRecord,
    compute_block_hash,
    make_block_header,
    sign_commit_record,
)
from amchain.node.cluster_config import ClusterConfig, ClusterConfigError
from amchain.node.localnet import free_ports
from amchain.node.peer import (
    PeerInfo,
    QuorumTracker,
    validate_ordered_block,
    verify_certificate,
)
from tests.support import sign_tx

CHAIN = "test-chain"


def a_block(height: int = 1, prev_hash: str = "00" * 32, txs=None, time_ms: int | None = None):
    key = KeyPair.generate()
    time_ms = time.time_ns() // 1_000_000 if time_ms is None else time_ms
    txs = (
        txs
        if txs is not None
        else [sign_tx(CHAIN, [key], "vehicles", "register_vehicle", {"vin": "X"}) for _ in range(3)]
    )
    header = make_block_header(
        chain_id=CHAIN,
        height=height,
        prev_hash=prev_hash,
        time_ms=time_ms,
        txs=txs,
        proposer=key.public_key,
    )
    return header, txs


# -- block codec ------------------------------------------------------------------------------


def test_a_block_decodes_to_the_same_header_transactions_and_hash() -> None:
    header, txs = a_block()
    block = decode_block(encode_block(header, (tx.canonical for tx in txs)))
    assert block.header == header
    assert [tx.hash for tx in block.txs] == [tx.hash for tx in txs]
    assert block.hash == compute_block_hash(header).hex()


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b'{"header": {}, "txs": []}', b'{"header": 1}', b"\xff\xfe"],
)
def test_bytes_that_are_not_a_block_are_refused(data: bytes) -> None:
    with pytest.raises(BlockDecodeError):
        decode_block(data)


def test_a_block_with_a_tampered_transaction_is_refused() -> None:
    header, txs = a_block()
    data = encode_block(header, (tx.canonical for tx in txs)).replace(b'"nonce":', b'"nonse":', 1)
    with pytest.raises(BlockDecodeError, match="transaction"):
        decode_block(data)


def test_a_block_value_in_etcd_is_the_compressed_block_and_inflates_to_it() -> None:
    header, txs = a_block()
    data = encode_block(header, (tx.canonical for tx in txs))
    value = pack_block_value(data)
    assert len(value) < len(data)
    assert unpack_block_value(value) == data
    assert unpack_block_value(data) == data  # an uncompressed block value is read as is


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe garbage", "neither a block nor a zlib-compressed block"),
        (zlib.compress(b'{"header":{}}')[:-3], "truncated"),
        (zlib.compress(b"{}") + b"tail", "padded"),
        (zlib.compress(b" " * (BLOCK_VALUE_LIMIT + 1), 9), "inflates to more than"),
    ],
)
def test_a_malformed_block_value_in_etcd_is_refused_with_the_reason(
    value: bytes, reason: str
) -> None:
    with pytest.raises(BlockDecodeError, match=reason):
        unpack_block_value(value)


def test_etcd_keys_sort_by_height() -> None:
    keys = ClusterKeys.for_chain(CHAIN)
    assert sorted([keys.block(10), keys.block(9), keys.block(100)]) == [
        keys.block(9),
        keys.block(10),
        keys.block(100),
    ]
    assert keys.height_of(keys.block(1234)) == 1234
    assert keys.height_of(keys.commit(77, "ab" * 32)) == 77
    assert prefix_end(keys.blocks) > keys.block(10**11)


# -- block validity ---------------------------------------------------------------------------


def check(block: OrderedBlock, *, committed: set[bytes] | None = None, height: int = 0) -> None:
    validate_ordered_block(
        block,
        chain_id=CHAIN,
        height=height,
        head_hash="00" * 32,
        head_time_ms=500,
        committed_among=lambda hashes: {h for h in hashes if h in (committed or set())},
    )


def ordered(header, txs) -> OrderedBlock:
    return OrderedBlock(header, txs, compute_block_hash(header).hex())


def test_a_block_following_the_head_is_valid() -> None:
    check(ordered(*a_block()))


def test_a_block_with_a_wrong_previous_hash_is_invalid() -> None:
    with pytest.raises(BlockError) as caught:
        check(ordered(*a_block(prev_hash="ab" * 32)))
    assert caught.value.code == BlockCode.WRONG_PREV_HASH


def test_a_block_at_the_wrong_height_is_invalid() -> None:
    with pytest.raises(BlockError) as caught:
        check(ordered(*a_block(height=3)))
    assert caught.value.code == BlockCode.WRONG_HEIGHT


def test_a_block_replaying_a_committed_transaction_is_invalid() -> None:
    header, txs = a_block()
    with pytest.raises(BlockError, match="already on the chain") as caught:
        check(ordered(header, txs), committed={txs[1].hash})
    assert caught.value.code == BlockCode.INVALID_TRANSACTION


def test_a_block_holding_one_transaction_twice_is_invalid() -> None:
    _, txs = a_block()
    header, txs = a_block(txs=[txs[0], txs[0]])
    with pytest.raises(BlockError, match="already on the chain"):
        check(ordered(header, txs))


def test_a_block_holding_an_expired_transaction_is_invalid() -> None:
    key = KeyPair.generate()
    tx = sign_tx(CHAIN, [key], "vehicles", "register_vehicle", {}, expires_in_ms=1)
    header, txs = a_block(txs=[tx], time_ms=time.time_ns() // 1_000_000 + 60_000)
    with pytest.raises(BlockError, match="tx/2"):
        check(ordered(header, txs))


# -- quorum -----------------------------------------------------------------------------------


def peers(n: int) -> tuple[list[KeyPair], list[PeerInfo]]:
    keys = [KeyPair.generate() for _ in range(n)]
    infos = [
        PeerInfo(f"peer{i}", f"org{i}", f"http://p{i}", k.public_key.hex())
        for i, k in enumerate(keys)
    ]
    return keys, infos


def record(height: int, root: str = "aa" * 32, block_hash: str = "bb" * 32) -> CommitRecord:
    return CommitRecord(
        chain_id=CHAIN, height=height, block_hash=block_hash, state_root=root,
        receipts_root="cc" * 32,
    )  # fmt: skip


def test_a_height_is_final_when_a_quorum_signs_the_same_record() -> None:
    keys, infos = peers(4)
    tracker = QuorumTracker(infos, 3, CHAIN)
    assert tracker.add(sign_commit_record(record(1), keys[0])) is None
    assert tracker.add(sign_commit_record(record(1, root="dd" * 32), keys[1])) is None
    assert tracker.add(sign_commit_record(record(1), keys[2])) is None
    finality = tracker.add(sign_commit_record(record(1), keys[3]))
    assert finality is not None and finality.record == record(1)
    assert {c.signer for c in finality.commits} == {keys[i].public_key.hex() for i in (0, 2, 3)}
    assert tracker.final_height == 1


def test_certificates_grow_to_every_agreeing_peer_whatever_the_arrival_order() -> None:
    keys, infos = peers(3)
    commits = [sign_commit_record(record(1), k) for k in keys]
    certificates = []
    for order in ([2, 0, 1], [1, 2, 0]):
        tracker = QuorumTracker(infos, 2, CHAIN)
        results = [tracker.add(commits[i]) for i in order]
        assert results[0] is None and results[1] is not None  # final at two of three
        assert results[2] is not None and len(results[2].commits) == 3  # then extended
        assert tracker.add(commits[order[0]]) is None  # a repeat changes nothing
        certificates.append(results[2].commits)
    assert certificates[0] == certificates[1]
    assert [c.signer for c in certificates[0]] == sorted(c.signer for c in commits)


def test_signatures_of_strangers_forgeries_and_repeats_do_not_count() -> None:
    keys, infos = peers(3)
    tracker = QuorumTracker(infos, 2, CHAIN)
    stranger = KeyPair.generate()
    assert tracker.add(sign_commit_record(record(1), stranger)) is None
    good = sign_commit_record(record(1), keys[0])
    assert tracker.add(good) is None
    assert tracker.add(good) is None  # the same peer twice
    forged = sign_commit_record(record(1), keys[1])
    forged = type(forged)(record=forged.record, signer=forged.signer, signature="00" * 64)
    assert tracker.add(forged) is None
    assert tracker.add(sign_commit_record(record(1), keys[2])) is not None


def test_a_certificate_must_hold_a_quorum_for_the_block_it_comes_with() -> None:
    keys, infos = peers(3)
    tracker = QuorumTracker(infos, 2, CHAIN)
    header, txs = a_block()
    block = ordered(header, txs)
    rec = record(1, block_hash=block.hash)
    commits = [sign_commit_record(rec, k) for k in keys[:2]]
    assert verify_certificate(block, commits, tracker) == rec
    with pytest.raises(BlockError, match="1 valid signatures, 2 are needed"):
        verify_certificate(block, commits[:1], tracker)
    other = [sign_commit_record(record(1), k) for k in keys[:2]]
    with pytest.raises(BlockError, match="names block"):
        verify_certificate(block, other, tracker)


def test_a_quorum_larger_than_the_consortium_is_refused() -> None:
    _, infos = peers(3)
    with pytest.raises(ValueError, match="quorum"):
        QuorumTracker(infos, 4, CHAIN)


# -- block intake -----------------------------------------------------------------------------


class _RecordingPeer:
    """The peer side of block intake, reduced to recording what it is asked to apply."""

    def __init__(self, final_height: int) -> None:
        self.height = 0
        self.final = final_height
        self.writes: list[list[int]] = []
        self.reason: str | None = None

    def applied(self) -> tuple[int, str, int]:
        return self.height, "", 0

    def final_height(self) -> int:
        return self.final

    def halted(self) -> str | None:
        return self.reason

    def halt(self, reason: str) -> None:
        self.reason = reason

    async def apply(self, blocks: list[tuple[OrderedBlock, list | None]]) -> None:
        self.writes.append([block.height for block, _ in blocks])
        self.height = blocks[-1][0].height


def _block_events(heights: list[int]) -> list[KeyValue]:
    keys = ClusterKeys.for_chain(CHAIN)
    events = []
    for revision, height in enumerate(heights, start=1):
        header, txs = a_block(height=height, txs=[])
        value = pack_block_value(encode_block(header, [tx.canonical for tx in txs]))
        events.append(KeyValue(keys.block(height), value, revision, revision, 0))
    return events


def _orderer(peer: _RecordingPeer, network_height: int) -> EtcdOrderer:
    """A peer's ordering adapter, never connected, with the network at ``network_height``."""
    config = EtcdOrderingConfig(
        endpoints=["http://127.0.0.1:9"], name="p1", url="", node_key_hex="00" * 32
    )
    orderer = EtcdOrderer(config, chain_id=CHAIN, hooks=peer)  # type: ignore[arg-type]
    orderer.context.latest_seen = network_height
    return orderer


def _offer(
    events: list[KeyValue],
    *,
    network_height: int = 100,
    final_height: int = 100,
    late: int | None = None,
) -> tuple[bool, _RecordingPeer, EtcdOrderer]:
    """Hand ``events`` to a peer's block intake at once, as a watch delivers a backlog, the
    network being at ``network_height`` and its blocks final up to ``final_height``. Every
    block is prepared (decoded and checked) before, but the one at height ``late``, which
    is ready only 50 ms later."""
    peer = _RecordingPeer(final_height)
    orderer = _orderer(peer, network_height)

    async def offer() -> bool:
        try:
            for kv in events:
                orderer.intake.prefetch(kv)
            prepared = dict(orderer.intake.prepared)
            await asyncio.gather(*prepared.values(), return_exceptions=True)
            for (height, revision), future in prepared.items():
                if height == late:
                    pending = asyncio.get_running_loop().create_future()
                    asyncio.get_running_loop().call_later(0.05, pending.set_result, future.result())
                    orderer.intake.prepared[(height, revision)] = pending
            return await orderer.intake.offer(events)
        finally:
            await orderer.aclose()

    return asyncio.run(offer()), peer, orderer


def test_a_backlog_of_final_blocks_is_applied_in_one_write_and_repeats_are_ignored() -> None:
    followed_on, peer, orderer = _offer(_block_events([1, 2, 2, 1, 3]))
    assert followed_on
    assert peer.writes == [[1, 2, 3]]
    assert orderer.duplicates_ignored == 2


def test_the_blocks_prepared_are_written_without_waiting_for_the_next_one() -> None:
    _, peer, _ = _offer(_block_events([1, 2, 3, 4]), late=3)
    assert peer.writes == [[1, 2], [3, 4]]


def test_a_peer_a_few_blocks_behind_applies_one_block_to_a_write() -> None:
    # Its clients' answers and its commit records wait for no other block.
    _, peer, _ = _offer(_block_events([1, 2, 3]), network_height=5, final_height=5)
    assert peer.writes == [[1], [2], [3]]


def test_a_peer_whose_etcd_reads_lag_the_final_height_still_writes_its_backlog_together() -> None:
    # Its read of etcd ended 3 blocks ahead, but other peers' records show the network at 100.
    _, peer, _ = _offer(_block_events([1, 2, 3]), network_height=3, final_height=100)
    assert peer.writes == [[1, 2, 3]]


def test_blocks_fetched_with_a_quorum_certificate_count_as_final() -> None:
    peer = _RecordingPeer(final_height=0)  # no commit record seen yet (a peer just resumed)
    orderer = _orderer(peer, network_height=100)
    certified = [(ordered(*a_block(height=h, txs=[])), [object()]) for h in (1, 2, 3)]

    async def apply() -> None:
        try:
            await orderer.intake.apply_in_writes(certified)  # type: ignore[arg-type]
        finally:
            await orderer.aclose()

    asyncio.run(apply())
    assert peer.writes == [[1, 2, 3]]


def test_blocks_not_final_yet_are_applied_one_write_each() -> None:
    # This peer's commit record may be the one that makes them final: it goes out at once.
    _, peer, _ = _offer(_block_events([1, 2, 3, 4]), final_height=2)
    assert peer.writes == [[1, 2], [3], [4]]


def test_blocks_before_a_gap_are_applied_and_the_gap_sends_intake_back_to_catch_up() -> None:
    followed_on, peer, _ = _offer(_block_events([1, 2, 4, 5]))
    assert not followed_on
    assert peer.writes == [[1, 2]]


def test_a_block_event_that_does_not_decode_halts_after_the_blocks_before_it() -> None:
    broken = KeyValue(ClusterKeys.for_chain(CHAIN).block(3), b"not a block", 3, 3, 0)
    followed_on, peer, _ = _offer([*_block_events([1, 2]), broken])
    assert not followed_on
    assert peer.writes == [[1, 2]]
    assert peer.reason is not None and peer.reason.startswith("block 3 in etcd is invalid")


# -- configuration ----------------------------------------------------------------------------


def test_a_peer_configuration_is_read_with_paths_relative_to_it(tmp_path: Path) -> None:
    path = tmp_path / "peer.toml"
    path.write_text(
        '[node]\nname = "p1"\norg = "oem"\ndata_dir = "data"\ngenesis = "g.json"\n'
        'node_key_file = "k.json"\nport = 9000\n[etcd]\nendpoints = ["http://127.0.0.1:2379"]\n'
        '[[peers]]\nname = "p1"\nurl = "http://127.0.0.1:9000/"\nnode_key = "AB"\n'
        '[[peers]]\nname = "p2"\nurl = "http://127.0.0.1:9001"\nnode_key = "cd"\n'
        '[[peers]]\nname = "p3"\nurl = "http://127.0.0.1:9002"\nnode_key = "ef"\n'
    )
    config = ClusterConfig.load(path)
    assert config.data_dir == tmp_path / "data"
    assert config.quorum == 2  # a majority of three
    assert config.me.url == "http://127.0.0.1:9000" and config.me.node_key == "ab"
    assert config.max_block_bytes < 1536 * 1024


def test_a_configuration_without_this_peer_in_the_peer_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "peer.toml"
    path.write_text(
        '[node]\nname = "p9"\norg = "oem"\ndata_dir = "d"\ngenesis = "g"\nnode_key_file = "k"\n'
        'port = 1\n[etcd]\nendpoints = ["http://e"]\n'
        '[[peers]]\nname = "p1"\nurl = "http://x"\nnode_key = "ab"\n'
    )
    with pytest.raises(ClusterConfigError, match="does not list this peer"):
        ClusterConfig.load(path)


# -- the etcd client on a real etcd -----------------------------------------------------------


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("etcd")
    if binary is None:
        pytest.fail("etcd is not installed (Debian package etcd-server; `make test` installs it)")
    client_port, peer_port = free_ports(2)
    url = f"http://127.0.0.1:{client_port}"
    command = [
        binary, "--name", "solo", "--data-dir", str(tmp_path_factory.mktemp("etcd")),
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
        "--initial-cluster", f"solo=http://127.0.0.1:{peer_port}",
        "--logger", "zap", "--log-level", "error",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).json().get("health") == "true":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def run(coro):
    return asyncio.run(coro)


def test_a_height_guarded_by_create_revision_zero_is_written_exactly_once(etcd: str) -> None:
    async def race() -> list[bool]:
        client = EtcdClient([etcd])
        key = b"/t/blocks/000000000001"
        try:
            outcomes = await asyncio.gather(
                *(
                    client.txn([Compare(key, "CREATE", 0)], [put_op(key, f"cutter{i}".encode())])
                    for i in range(8)
                )
            )
            stored = await client.get(key)
        finally:
            await client.aclose()
        assert stored is not None and stored.value.startswith(b"cutter")
        return [won for won, _, _ in outcomes]

    assert sorted(run(race())) == [False] * 7 + [True]


def test_a_lease_holds_a_key_until_revoked(etcd: str) -> None:
    async def lease() -> tuple[bool, bool]:
        client = EtcdClient([etcd])
        try:
            lease_id = await client.grant_lease(5)
            assert await client.keep_alive(lease_id) > 0
            await client.put(b"/t/cutter", b"me", lease=lease_id)
            held = await client.get(b"/t/cutter") is not None
            await client.revoke_lease(lease_id)
            gone = await client.get(b"/t/cutter") is None
        finally:
            await client.aclose()
        return held, gone

    assert run(lease()) == (True, True)


def test_a_watch_from_compacted_history_says_so(etcd: str) -> None:
    async def compacted() -> int:
        client = EtcdClient([etcd])
        try:
            first = await client.put(b"/t/w/1", b"a")
            await client.put(b"/t/w/2", b"b")
            current = await client.put(b"/t/w/3", b"c")
            await client.compact(current)
            with pytest.raises(EtcdCompacted) as caught:
                async for _ in client.watch(b"/t/w/", prefix_end(b"/t/w/"), start_revision=first):
                    pass
            return caught.value.compact_revision
        finally:
            await client.aclose()

    assert run(compacted()) > 0


def test_an_unreachable_etcd_fails_fast(etcd: str) -> None:
    (port,) = free_ports(1)

    async def unreachable() -> float:
        client = EtcdClient([f"http://127.0.0.1:{port}"], timeout_s=1)
        started = time.monotonic()
        try:
            with pytest.raises(EtcdUnavailable, match="no etcd member answered"):
                await client.get(b"/t/x")
        finally:
            await client.aclose()
        return time.monotonic() - started

    assert run(unreachable()) < 5


def test_a_full_block_fits_etcds_request_limit_and_an_oversized_one_does_not(etcd: str) -> None:
    keys = ClusterKeys.for_chain(CHAIN)
    key = KeyPair.generate()
    tx = sign_tx(CHAIN, [key], "vehicles", "register_vehicle", {"note": "x" * 900})
    per_tx = len(tx.canonical) + 1
    full = [tx] * ((1024 * 1024 - 4096) // per_tx)  # what the cutter packs at most
    header, _ = a_block(txs=[])
    block = encode_block(header, (t.canonical for t in full))
    assert 1000 * 1024 < len(block) <= 1024 * 1024

    async def append(data: bytes, height: int) -> bool:
        client = EtcdClient([etcd])
        try:
            won, _, _ = await client.txn(
                [Compare(keys.block(height), "CREATE", 0)], [put_op(keys.block(height), data)]
            )
            return won
        finally:
            await client.aclose()

    assert run(append(block, 1)) is True
    with pytest.raises(RuntimeError, match="too large"):
        run(append(block * 2, 2))
