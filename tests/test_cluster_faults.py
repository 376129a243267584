"""The consortium survives faults, on a real etcd cluster with real peer processes.

One local consortium (3 etcd members, 3 peers, one organisation each; etcd keeps only 20
blocks below the final height) serves the whole module; the tests run in order, each with a
load of signed transactions running, and each ends by checking that every peer holds the
same blocks and state roots and every acknowledged transaction exactly once. The last two
faults halt peers on purpose.
"""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from amchain.codec import encode_canonical
from amchain.consensus.etcd import (
    BLOCKS_PER_WRITE,
    ClusterKeys,
    decode_block,
    encode_block,
    unpack_block_value,
)
from amchain.ledger import make_block_header
from amchain.node import Keystore
from amchain.node.localnet import LocalCluster, alive
from tests.cluster_support import Load, assert_consistent, cluster_report, status
from tests.cluster_support import wait_until as _wait_until
from tests.support import sign_tx

pytestmark = pytest.mark.slow


CLUSTER: list[LocalCluster] = []


def wait_until(what, check, timeout_s=60, every_s=0.1):
    """Wait for ``check``; on a timeout, say how every peer and member stands."""
    try:
        return _wait_until(what, check, timeout_s, every_s)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster_report(CLUSTER[0])}") from None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster.create(
        tmp_path_factory.mktemp("consortium") / "cluster",
        peers=3,
        etcd=3,
        keep_blocks=20,
        compact_every=10,
        max_block_txs=500,
        max_block_wait_ms=50,
    )
    CLUSTER[:] = [local]
    try:
        local.start(timeout_s=90)
        yield local
    finally:
        local.stop()


def etcd_call(cluster: LocalCluster, path: str, body: dict) -> dict:
    for member in cluster.etcd:
        if not alive(member.pid):
            continue
        try:
            response = httpx.post(f"{member.client_url}{path}", json=body, timeout=5)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            return response.json()
    raise AssertionError("no etcd member answered")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cutter(cluster: LocalCluster):
    return wait_until(
        "a block cutter",
        lambda: next((p for p in cluster.peers if status(p)["role"] == "cutter"), None),
        30,
    )


def test_a_transaction_submitted_to_one_peer_becomes_final_on_every_peer(cluster):
    oem = Keystore(cluster.directory).get("oem").key
    tx = sign_tx(
        cluster.chain_id,
        [oem],
        "vehicles",
        "register_vehicle",
        {"vin": "WVWZZZ1KZAM000042", "make": "VW", "model": "Golf", "model_year": 2024},
    )
    accepted = httpx.post(f"{cluster.peers[0].url}/v1/txs", json=tx.to_wire(), timeout=30)
    assert accepted.status_code == 202 and accepted.json()["status"] == "pending"
    answers = [
        httpx.get(
            f"{p.url}/v1/txs/{tx.hash_hex}",
            params={"wait": "final", "timeout_ms": 30_000},
            timeout=60,
        ).json()
        for p in cluster.peers
    ]
    assert all(a["final"] is True and a["receipt"]["ok"] for a in answers)
    assert len({(a["height"], a["index"]) for a in answers}) == 1
    blocks = [httpx.get(f"{p.url}/v1/blocks/{answers[0]['height']}").json() for p in cluster.peers]
    assert len({b["hash"] for b in blocks}) == 1
    assert len({b["commit"]["record"]["state_root"] for b in blocks}) == 1
    assert {b["commit"]["signer"] for b in blocks} == {p.node_key for p in cluster.peers}


def test_a_peer_killed_with_sigkill_catches_up_and_nothing_acknowledged_is_lost(cluster):
    load = Load(cluster).start()
    try:
        load.wait_for_more(200)
        victim = cutter(cluster)  # the hardest peer to lose: it cuts the blocks
        cluster.kill(victim.pid)
        load.wait_for_more(200)  # the others elect a new cutter and carry on
        cluster.start_peer(victim)
        cluster.wait_peer(victim, 90)
        load.wait_for_more(200)
    finally:
        load.stop()
    assert load.count() >= 600
    assert not load.refused, load.refused
    assert_consistent(cluster, load.acked)


def test_the_etcd_leader_killed_commits_resume_within_5_s(cluster):
    load = Load(cluster).start()
    try:
        load.wait_for_more(100)
        leader = wait_until("an etcd leader", cluster.etcd_leader, 30)
        before = max(status(p)["latest_ordered_height"] for p in cluster.peers)
        killed_at = time.monotonic()
        cluster.kill(leader.pid)
        wait_until(
            "a block ordered after the kill",
            lambda: max(status(p)["height"] for p in cluster.peers) > before + 1,
            30,
            0.05,
        )
        resumed_after = time.monotonic() - killed_at
        load.wait_for_more(100)
        cluster.start_etcd(leader)
        cluster.wait_etcd(60)
        load.wait_for_more(100)
    finally:
        load.stop()
    assert resumed_after <= 5.0, f"commits resumed {resumed_after:.1f} s after the kill"
    assert not load.refused, load.refused
    assert_consistent(cluster, load.acked)


def test_two_of_three_etcd_members_down_submissions_fail_fast_with_503_then_resume(cluster):
    load = Load(cluster).start()
    oem = Keystore(cluster.directory).get("oem").key
    peer = cluster.peers[0]
    try:
        load.wait_for_more(100)
        down = cluster.etcd[:2]
        for member in down:
            cluster.kill(member.pid)

        def refused_with_503() -> httpx.Response | None:
            tx = sign_tx(
                cluster.chain_id,
                [oem],
                "vehicles",
                "register_vehicle",
                {"vin": "WVWZZZ1KZAM000001", "make": "VW", "model": "Up", "model_year": 2020},
            )
            answer = httpx.post(f"{peer.url}/v1/txs", json=tx.to_wire(), timeout=30)
            return answer if answer.status_code == 503 else None

        first = wait_until("a 503 from the peer", refused_with_503, 20, 0.2)
        timings = []
        for _ in range(5):
            started = time.monotonic()
            answer = refused_with_503()
            timings.append(time.monotonic() - started)
            assert answer is not None
        acked_while_down = load.count()
        for member in down:
            cluster.start_etcd(member)
        cluster.wait_etcd(60)
        load.wait_for_more(200)
    finally:
        load.stop()
    problem = first.json()
    assert first.headers["content-type"].startswith("application/problem+json")
    assert (problem["codespace"], problem["code"]) == ("node", 2)
    assert "etcd" in problem["detail"] and "quorum" in problem["detail"]
    assert max(timings) < 2.0, f"a refusal took {max(timings):.2f} s"
    assert load.count() > acked_while_down
    assert not load.refused, load.refused
    assert_consistent(cluster, load.acked)


def test_a_peer_stopped_past_etcd_history_catches_up_from_other_peers(cluster):
    victim = next(p for p in cluster.peers if status(p)["role"] != "cutter")
    others = [p for p in cluster.peers if p is not victim]
    keys = ClusterKeys.for_chain(cluster.chain_id)
    load = Load(cluster).start()
    load.peers = others
    try:
        load.wait_for_more(50)
        os.kill(victim.pid, signal.SIGSTOP)
        with sqlite3.connect(f"file:{Path(victim.data_dir) / 'chain.db'}?mode=ro", uri=True) as db:
            (stopped_at,) = db.execute("SELECT MAX(height) FROM blocks").fetchone()

        def history_gone() -> bool:
            answer = etcd_call(
                cluster,
                "/v3/kv/range",
                {"key": b64(keys.blocks), "range_end": b64(keys.prefix + b"blocks0"), "limit": 1},
            )
            first = keys.height_of(base64.b64decode(answer["kvs"][0]["key"]))
            # Beyond what it may hold in memory (one write of blocks and as many prepared).
            return first > stopped_at + 2 * BLOCKS_PER_WRITE + 2

        try:
            wait_until("etcd to drop the blocks the stopped peer needs", history_gone, 180, 0.5)
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        wait_until(
            "the resumed peer to fetch blocks from other peers",
            lambda: status(victim)["blocks_fetched"] > 0,
            90,
        )
        wait_until(
            "the resumed peer to commit several of those final blocks with one write",
            lambda: status(victim)["most_blocks_in_one_write"] > 1,
            60,
        )
        load.wait_for_more(100)
    finally:
        load.stop()
    assert not load.refused, load.refused
    assert_consistent(cluster, load.acked)


def test_a_peer_whose_state_was_tampered_with_halts_at_the_next_commit_comparison(cluster):
    oem = Keystore(cluster.directory).get("oem").key
    registry = Keystore(cluster.directory).get("registry").key
    victim = next(p for p in cluster.peers if status(p)["role"] != "cutter")
    honest = [p for p in cluster.peers if p is not victim]
    vin = "WVWZZZ1KZAM000777"

    def submit(tx, peer):
        answer = httpx.post(
            f"{peer.url}/v1/txs", json=tx.to_wire(), params={"wait": "final"}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    register = sign_tx(
        cluster.chain_id,
        [oem],
        "vehicles",
        "register_vehicle",
        {"vin": vin, "make": "VW", "model": "Golf", "model_year": 2024},
    )
    submit(register, honest[0])
    wait_until(
        "the victim to hold the vehicle",
        lambda: status(victim)["height"] >= status(honest[0])["height"],
        30,
    )
    cluster.kill(victim.pid)
    db = sqlite3.connect(Path(victim.data_dir) / "chain.db")
    with db:
        (value,) = db.execute(
            "SELECT value FROM state WHERE key = ?", (f"vehicles/v/{vin}",)
        ).fetchone()
        record = msgspec.json.decode(value)
        record["model"] = "Polo"  # a forged record: the state on disk no longer matches
        db.execute(
            "UPDATE state SET value = ? WHERE key = ?",
            (encode_canonical(record), f"vehicles/v/{vin}"),
        )
    db.close()
    cluster.start_peer(victim)
    cluster.wait_peer(victim, 90)
    load = Load(cluster).start()
    load.peers = honest
    try:
        event = sign_tx(
            cluster.chain_id,
            [registry],
            "vehicles",
            "record_event",
            {"vin": vin, "event": {"type": "odometer", "odometer_km": 1234}},
        )
        final = submit(event, honest[0])
        halted = wait_until("the tampered peer to halt", lambda: status(victim)["halted"], 60)
        load.wait_for_more(100)
    finally:
        load.stop()
    assert halted
    reason = status(victim)["halt_reason"]
    assert f"state diverged at height {final['height']}" in reason
    assert "quorum of 2 peers" in reason
    refusal = httpx.get(f"{victim.url}/v1/vehicles/{vin}", timeout=10)
    assert refusal.status_code == 503
    assert refusal.json()["detail"] == reason
    assert not load.refused, load.refused
    assert_consistent(cluster, load.acked, peers=honest)


def test_duplicate_and_out_of_order_block_events_are_ignored_and_a_broken_link_halts(cluster):
    keys = ClusterKeys.for_chain(cluster.chain_id)
    running = [p for p in cluster.peers if not status(p)["halted"]]
    load = Load(cluster).start()
    load.peers = running
    try:
        load.wait_for_more(50)
        latest = max(status(p)["height"] for p in running)
        ignored = {p.name: status(p)["duplicate_block_events_ignored"] for p in running}
        # Re-deliver an applied block, then an older one, as new etcd events.
        for height in (latest, latest - 3):
            kv = etcd_call(cluster, "/v3/kv/range", {"key": b64(keys.block(height))})["kvs"][0]
            etcd_call(cluster, "/v3/kv/put", {"key": kv["key"], "value": kv["value"]})
        for peer in running:
            wait_until(
                f"{peer.name} to see and ignore both events",
                lambda peer=peer: (
                    status(peer)["duplicate_block_events_ignored"] >= ignored[peer.name] + 2
                ),
                30,
            )
        load.wait_for_more(100)
    finally:
        load.stop()
    assert all(not status(p)["halted"] for p in running)
    height = assert_consistent(cluster, load.acked, peers=running)

    # A block whose previous-hash link is wrong, appended the way a cutter appends.
    kv = etcd_call(cluster, "/v3/kv/range", {"key": b64(keys.block(height))})["kvs"][0]
    parent = decode_block(unpack_block_value(base64.b64decode(kv["value"])))
    header = make_block_header(
        chain_id=cluster.chain_id,
        height=height + 1,
        prev_hash="ab" * 32,
        time_ms=parent.header.time_ms + 1,
        txs=[],
        proposer=bytes.fromhex(parent.header.proposer),
    )
    key = b64(keys.block(height + 1))
    answer = etcd_call(
        cluster,
        "/v3/kv/txn",
        {
            "compare": [
                {"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
            ],
            "success": [{"request_put": {"key": key, "value": b64(encode_block(header, []))}}],
        },
    )
    assert answer.get("succeeded") is True
    for peer in running:
        wait_until(f"{peer.name} to halt", lambda peer=peer: status(peer)["halted"], 60)
        reason = status(peer)["halt_reason"]
        assert reason.startswith(f"block {height + 1} is invalid (block/2)"), reason
        assert "links to abababababababab" in reason
        assert status(peer)["height"] == height
        refusal = httpx.get(f"{peer.url}/v1/blocks/{height}", timeout=10)
        assert refusal.status_code == 503 and refusal.json()["detail"] == reason
