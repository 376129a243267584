"""Proofs served by a real node (``?proof=true``) and checked by the offline light client."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amchain.crypto import KeyPair
from amchain.ledger import (
    CommitCertificate,
    CommitRecord,
    CommitSignature,
    make_commit_certificate,
    sign_commit_record,
)
from amchain.sdk.light import LightClient, ProofCode, ProofError
from tests.support import RunningNode, start_node

VIN = "1HGCM82633A004352"
OTHER_VIN = "JH4KA7561PC008269"

Bundle = dict[str, Any]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with start_node(tmp_path_factory.mktemp("proofs")) as running:
        register = running.tx(
            [running.key("oem")],
            "vehicles",
            "register_vehicle",
            {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003},
        )
        assert running.post(register).status_code == 200
        for km in (1_000, 2_000, 3_000, 4_000):
            event = {"vin": VIN, "event": {"type": "odometer", "odometer_km": km}}
            tx = running.tx([running.key("registry")], "vehicles", "record_event", event)
            assert running.post(tx).status_code == 200
        yield running


@pytest.fixture(scope="module")
def light(node: RunningNode) -> LightClient:
    return LightClient(trusted_peers=[node.node.node_key.public_key.hex()], quorum=1)


def history_bundle(node: RunningNode, **params: Any) -> Bundle:
    response = node.get(f"/v1/vehicles/{VIN}/history", proof="true", **params)
    assert response.status_code == 200, response.text
    bundle: Bundle = response.json()
    return bundle


def refusal(light: LightClient, bundle: Bundle) -> ProofError:
    with pytest.raises(ProofError) as caught:
        light.verify_bundle(bundle)
    return caught.value


# -- what verifies ---------------------------------------------------------------------------


def test_vehicle_history_proof_verifies_offline(node: RunningNode, light: LightClient) -> None:
    body = node.get(f"/v1/vehicles/{VIN}/history", proof="true").json()
    result = light.verify_bundle(body)  # the answer is the bundle
    assert result.kind == "vehicle-history" and body["format"] == "amchain-proof/v1"
    assert result.facts["event_count"] == 5 == len(body["events"])
    assert result.record.height == body["as_of_height"] == body["height"]
    assert "proof" not in body


def test_state_proofs_show_presence_and_absence(node: RunningNode, light: LightClient) -> None:
    present = node.get(f"/v1/state/vehicles/v/{VIN}", proof="true").json()
    assert present["value"]["vin"] == VIN
    assert light.verify_bundle(present).facts["value"]["event_count"] == 5
    absent = node.get(f"/v1/state/vehicles/v/{OTHER_VIN}", proof="true").json()
    assert absent["value"] is None
    assert "absent" in light.verify_bundle(absent).summary
    # claiming the absent key holds a value does not verify
    forged = copy.deepcopy(absent["proof"])
    forged["entry"]["value"] = present["value"]
    assert refusal(light, forged).code == ProofCode.STATE_PROOF_INVALID


def test_proofs_at_older_heights_keep_verifying(node: RunningNode, light: LightClient) -> None:
    registered_at = node.get(f"/v1/vehicles/{VIN}").json()["registered_height"]
    old = node.get(f"/v1/state/vehicles/v/{VIN}", proof="true", height=registered_at).json()
    assert old["height"] == registered_at and old["value"]["event_count"] == 1
    light.verify_bundle(old)
    tx = node.tx(
        [node.key("registry")],
        "vehicles",
        "record_event",
        {"vin": OTHER_VIN, "event": {"type": "odometer", "odometer_km": 1}},
    )
    node.post(tx)  # refused (unknown vehicle) but a new block all the same
    assert light.verify_bundle(old).record.height == registered_at
    again = node.get(f"/v1/state/vehicles/v/{VIN}", proof="true", height=registered_at).json()
    assert again["proof"] == old["proof"]
    before = node.get(f"/v1/vehicles/{VIN}/history", height=registered_at).json()
    assert before["event_count"] == 1 and len(before["events"]) == 1


def test_transaction_and_receipt_proof(node: RunningNode, light: LightClient) -> None:
    tx = node.tx(
        [node.key("service_center")],
        "vehicles",
        "record_event",
        {"vin": VIN, "event": {"type": "serviced", "odometer_km": 4_100, "work_items": ["oil"]}},
    )
    assert node.post(tx).status_code == 200
    body = node.get(f"/v1/txs/{tx.hash_hex}", proof="true").json()
    result = light.verify_bundle(body)
    assert result.kind == "tx" and result.facts["ok"] is True
    bundle = body["proof"]
    changed = copy.deepcopy(bundle)
    changed["inclusion"]["receipt"]["events"] = []
    assert refusal(light, changed).code == ProofCode.RECEIPT_PROOF_INVALID
    changed = copy.deepcopy(bundle)
    changed["inclusion"]["tx"]["body"]["args"]["event"]["odometer_km"] = 1
    assert refusal(light, changed).code == ProofCode.TX_PROOF_INVALID
    changed = copy.deepcopy(bundle)
    changed["inclusion"]["header"]["time_ms"] += 1
    assert refusal(light, changed).code == ProofCode.HEADER_MISMATCH


def test_did_document_proof(node: RunningNode, light: LightClient) -> None:
    did = f"did:amc:vin:{VIN}"
    body = node.get(f"/v1/dids/{did}", proof="true").json()
    assert body["didDocument"]["id"] == did
    assert light.verify_bundle(body).facts["did"] == did
    changed = copy.deepcopy(body["proof"])
    # a node that adds a key of its choosing to the served document is caught
    changed["resolution"]["didDocument"]["verificationMethod"] = [
        {
            "id": f"{did}#k",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        }
    ]
    assert refusal(light, changed).code == ProofCode.DOCUMENT_MISMATCH


def test_organisation_dids_and_future_heights_are_not_provable(node: RunningNode) -> None:
    org = node.get("/v1/dids/did:amc:org:oem", proof="true")
    assert org.status_code == 422 and org.json()["codespace"] == "proof"
    assert "listing" in org.json()["detail"]
    future = node.get(f"/v1/state/vehicles/v/{VIN}", proof="true", height=10**9)
    assert future.status_code == 404 and future.json()["code"] == 20


# -- what does not verify --------------------------------------------------------------------

Edit = Callable[[Bundle], None]


def _drop_event(index: int) -> Edit:
    return lambda b: b["events"].pop(index % len(b["events"]))


def _swap_events(index: int) -> Edit:
    def edit(b: Bundle) -> None:
        events = b["events"]
        i = index % (len(events) - 1)
        events[i], events[i + 1] = events[i + 1], events[i]

    return edit


def _change_odometer(index: int) -> Edit:
    def edit(b: Bundle) -> None:
        readings = [e for e in b["events"] if e.get("odometer_km")]
        readings[index % len(readings)]["odometer_km"] += 1

    return edit


def _add_field(index: int) -> Edit:
    return lambda b: b["events"][index % len(b["events"])]["fields"].update(note="hidden")


def _change_count(index: int) -> Edit:
    return lambda b: b["record"]["value"].update(event_count=index % 5)


def _flip_sibling(index: int) -> Edit:
    def edit(b: Bundle) -> None:
        siblings = b["record"]["proof"]["siblings"]
        i = index % len(siblings)
        siblings[i] = "11" * 32 if siblings[i] is None else siblings[i][::-1]

    return edit


def _forge_signature(index: int) -> Edit:
    def edit(b: Bundle) -> None:
        signature = bytearray.fromhex(b["certificate"]["signatures"][0]["signature"])
        signature[index % 64] ^= 0x01
        b["certificate"]["signatures"][0]["signature"] = signature.hex()

    return edit


def _change_state_root(index: int) -> Edit:
    def edit(b: Bundle) -> None:
        root = bytearray.fromhex(b["certificate"]["record"]["state_root"])
        root[index % 32] ^= 0x80
        b["certificate"]["record"]["state_root"] = root.hex()

    return edit


EDITS = {
    "drop": (_drop_event, {ProofCode.HISTORY_INCOMPLETE}),
    "swap": (_swap_events, {ProofCode.HISTORY_OUT_OF_ORDER}),
    "odometer": (_change_odometer, {ProofCode.HISTORY_ALTERED}),
    "added field": (_add_field, {ProofCode.HISTORY_ALTERED}),
    "count": (_change_count, {ProofCode.STATE_PROOF_INVALID}),
    "sibling": (_flip_sibling, {ProofCode.STATE_PROOF_INVALID}),
    "signature": (_forge_signature, {ProofCode.BAD_SIGNATURE}),
    "state root": (_change_state_root, {ProofCode.BAD_SIGNATURE}),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(sorted(EDITS)), index=st.integers(min_value=0, max_value=10_000))
def test_any_tampering_with_a_history_bundle_fails(
    node: RunningNode, light: LightClient, kind: str, index: int
) -> None:
    bundle = _cached_history(node)
    make_edit, codes = EDITS[kind]
    changed = copy.deepcopy(bundle)
    make_edit(index)(changed)
    assert refusal(light, changed).code in codes


_CACHE: dict[str, Bundle] = {}


def _cached_history(node: RunningNode) -> Bundle:
    if "history" not in _CACHE:
        _CACHE["history"] = history_bundle(node, height=node.get("/v1/status").json()["height"])
    return _CACHE["history"]


def test_a_removed_event_with_a_rewritten_record_still_fails(
    node: RunningNode, light: LightClient
) -> None:
    bundle = copy.deepcopy(_cached_history(node))
    removed = bundle["events"].pop()
    bundle["record"]["value"]["event_count"] -= 1
    bundle["record"]["value"]["history_head"] = removed["prev_hash"]
    assert refusal(light, bundle).code == ProofCode.STATE_PROOF_INVALID


# -- commit certificates ---------------------------------------------------------------------


def _record(state_root: str = "aa" * 32) -> CommitRecord:
    return CommitRecord(
        chain_id="amchain-test",
        height=7,
        block_hash="bb" * 32,
        state_root=state_root,
        receipts_root="cc" * 32,
    )


def test_a_certificate_needs_a_quorum_of_distinct_trusted_peers() -> None:
    peers = [KeyPair.from_seed(bytes([i]) * 32) for i in range(1, 5)]
    stranger = KeyPair.from_seed(b"\x09" * 32)
    light = LightClient(trusted_peers=[p.public_key for p in peers])  # majority: 3 of 4
    assert light.quorum == 3
    record = _record()
    two = make_commit_certificate([sign_commit_record(record, p) for p in peers[:2]])
    with pytest.raises(ProofError) as caught:
        light.verify_certificate(two)
    assert caught.value.code == ProofCode.NOT_ENOUGH_SIGNATURES
    # the same peer twice, or a stranger, does not make up the numbers
    padded = CommitCertificate(
        record=record,
        signatures=[
            *two.signatures,
            two.signatures[0],
            CommitSignature(**_signed(record, stranger)),
        ],
    )
    with pytest.raises(ProofError) as caught:
        light.verify_certificate(padded)
    assert caught.value.code == ProofCode.NOT_ENOUGH_SIGNATURES
    assert "do not trust" in str(caught.value)
    three = make_commit_certificate([sign_commit_record(record, p) for p in peers[:3]])
    assert len(light.verify_certificate(three)) == 3
    # signatures over another record do not count for this one
    moved = CommitCertificate(record=_record("dd" * 32), signatures=three.signatures)
    with pytest.raises(ProofError) as caught:
        light.verify_certificate(moved)
    assert caught.value.code == ProofCode.BAD_SIGNATURE


def _signed(record: CommitRecord, key: KeyPair) -> dict[str, str]:
    commit = sign_commit_record(record, key)
    return {"signer": commit.signer, "signature": commit.signature}


def test_light_client_configuration_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LightClient(trusted_peers=[])
    with pytest.raises(ValueError, match="32-byte"):
        LightClient(trusted_peers=["abcd"])
    with pytest.raises(ValueError, match="quorum"):
        LightClient(trusted_peers=["ab" * 32], quorum=2)


def test_a_wrong_chain_or_garbage_is_refused(node: RunningNode) -> None:
    light = LightClient(
        trusted_peers=[node.node.node_key.public_key.hex()], quorum=1, chain_id="another-chain"
    )
    assert refusal(light, _cached_history(node)).code == ProofCode.WRONG_CHAIN
    for garbage, code in (
        (b"not json", ProofCode.MALFORMED),
        (b"[]", ProofCode.MALFORMED),
        (b'{"format": "x"}', ProofCode.UNSUPPORTED_FORMAT),
        (b'{"format": "amchain-proof/v1", "kind": "state"}', ProofCode.MALFORMED),
    ):
        with pytest.raises(ProofError) as caught:
            light.verify_bundle(garbage)
        assert caught.value.code == code


def test_light_module_exports_are_deliberate() -> None:
    import amchain.sdk.light as light_module

    assert sorted(light_module.__all__) == [
        "BUNDLE_FORMAT",
        "LightClient",
        "ProofCode",
        "ProofError",
        "VerifiedBundle",
        "check_history_chain",
    ]


def test_bundle_survives_a_round_trip_through_a_file(
    node: RunningNode, light: LightClient, tmp_path: Path
) -> None:
    import json

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_cached_history(node), indent=2))
    assert light.verify_bundle(path.read_bytes()).kind == "vehicle-history"
