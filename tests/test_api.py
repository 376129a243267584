"""The REST API against a real node over HTTP: every class of bad input is a 4xx with a
stable code, and nothing is stored; good input is committed and readable."""

from __future__ import annotations

import json

import httpx
import pytest

from amchain.codec import DecodeErrorCode, encode_canonical
from amchain.crypto import KeyPair
from amchain.ledger import TxCode
from amchain.modules.consortium import ConsortiumCode
from amchain.modules.vehicles import VehiclesCode, compute_vin_check_digit
from tests.support import RunningNode, start_node

VIN = "1HGCM82633A004352"
SMALL_ORDER_KEY = bytes.fromhex("0100000000000000000000000000000000000000000000000000000000000000")


def valid_vin(body: str) -> str:
    """Insert the ISO 3779 check digit at position 9 of a 16-character VIN body."""
    assert len(body) == 16
    vin = body[:8] + "0" + body[8:]
    return vin[:8] + compute_vin_check_digit(vin) + vin[9:]


def assert_problem(response: httpx.Response, status: int, codespace: str, code: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["codespace"], body["code"]) == (codespace, int(code)), body
    assert body["detail"]
    return body


def assert_not_stored(node: RunningNode, tx_hash: str) -> None:
    assert node.get(f"/v1/txs/{tx_hash}").status_code == 404


@pytest.fixture(scope="module", params=["threads", "processes"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Every API behaviour holds with admission in threads and in worker processes."""
    processes = 2 if request.param == "processes" else 0
    with start_node(tmp_path_factory.mktemp("node"), admission_processes=processes) as running:
        yield running


@pytest.fixture(scope="module")
def vehicle(node: RunningNode) -> str:
    response = node.post(
        node.tx(
            [node.key("oem")],
            "vehicles",
            "register_vehicle",
            {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003},
        )
    )
    assert response.status_code == 200, response.text
    return VIN


def odometer_tx(node: RunningNode, km: int, vin: str = VIN, signer: str = "registry", **kw):
    return node.tx(
        [node.key(signer)],
        "vehicles",
        "record_event",
        {"vin": vin, "event": {"type": "odometer", "odometer_km": km}},
        **kw,
    )


# -- the node answers ------------------------------------------------------------------------


def test_status_openapi_and_docs_are_served(node: RunningNode) -> None:
    status = node.get("/v1/status").json()
    assert status["chain_id"] == node.chain_id and status["height"] >= 0
    spec = node.get("/openapi.json").json()
    for path in (
        "/v1/status",
        "/v1/txs",
        "/v1/txs/{tx_hash}",
        "/v1/blocks/{height}",
        "/v1/blocks/latest",
        "/v1/dids/{did}",
        "/v1/vehicles/{vin}",
        "/v1/vehicles/{vin}/history",
        "/v1/events",
    ):
        assert path in spec["paths"], path
    assert node.get("/docs").status_code == 200


# -- bad bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"body": ', 400, DecodeErrorCode.MALFORMED_JSON),
        (b'{"body": {}, "body": {}}', 400, DecodeErrorCode.DUPLICATE_KEY),
        (b'{"body": NaN}', 400, DecodeErrorCode.NON_FINITE_NUMBER),
        (b'{"a":' * 40 + b"1" + b"}" * 40, 400, DecodeErrorCode.TOO_DEEP),
        (b'{"body": 1.5}', 400, DecodeErrorCode.FLOAT_NOT_ALLOWED),
    ],
)
def test_malformed_bodies_are_refused_before_parsing_completes(node, body, status, code) -> None:
    height = node.get("/v1/status").json()["height"]
    assert_problem(node.post_raw(body), status, "codec", code)
    assert node.get("/v1/status").json()["height"] == height


def test_body_too_large_is_413(node: RunningNode) -> None:
    big = b'{"txs": ["' + b"a" * (9 * 1024 * 1024) + b'"]}'
    assert_problem(node.post_raw(big), 413, "codec", DecodeErrorCode.TOO_LARGE)


def wire(node: RunningNode) -> dict:
    return odometer_tx(node, 1).to_wire()


@pytest.mark.parametrize(
    ("mutate", "status", "codespace", "code"),
    [
        (lambda w: w["body"].update(colour="red"), 422, "codec", DecodeErrorCode.UNKNOWN_FIELD),
        (lambda w: w["body"].pop("nonce"), 422, "codec", DecodeErrorCode.MISSING_FIELD),
        (lambda w: w["body"].update(nonce="7"), 422, "codec", DecodeErrorCode.WRONG_TYPE),
        (
            lambda w: w["body"].update(nonce=2**60),
            400,
            "codec",
            DecodeErrorCode.INTEGER_OUT_OF_RANGE,
        ),
        (lambda w: w.update(signatures=["zz" * 64]), 400, "tx", TxCode.BAD_SIGNATURE_ENCODING),
        (lambda w: w.update(signatures=["ab" * 63]), 400, "tx", TxCode.BAD_SIGNATURE_ENCODING),
        (lambda w: w["body"].update(signers=["ab" * 31]), 400, "tx", TxCode.BAD_KEY_ENCODING),
        (
            lambda w: w["body"]["args"]["event"].update(mood="happy"),
            422,
            "codec",
            DecodeErrorCode.UNKNOWN_FIELD,
        ),
        (
            lambda w: w["body"]["args"]["event"].pop("odometer_km"),
            422,
            "codec",
            DecodeErrorCode.MISSING_FIELD,
        ),
        (
            lambda w: w["body"]["args"]["event"].update(odometer_km="12000"),
            422,
            "codec",
            DecodeErrorCode.WRONG_TYPE,
        ),
    ],
)
def test_schema_and_encoding_errors_are_refused(
    node, vehicle, mutate, status, codespace, code
) -> None:
    payload = wire(node)
    mutate(payload)
    body = json.dumps(payload).encode()
    problem = assert_problem(node.post_raw(body), status, codespace, code)
    assert "detail" in problem


def test_signature_by_another_key_is_refused_and_not_stored(node, vehicle) -> None:
    tx = odometer_tx(node, 1)
    payload = tx.to_wire()
    payload["signatures"] = [KeyPair.generate().sign(b"x" * 46).hex()]
    assert_problem(node.post(payload), 400, "tx", TxCode.BAD_SIGNATURE)
    assert_not_stored(node, tx.hash_hex)


def test_small_order_signer_key_is_refused(node, vehicle) -> None:
    payload = odometer_tx(node, 1).to_wire()
    payload["body"]["signers"] = [SMALL_ORDER_KEY.hex()]
    assert_problem(node.post(payload), 400, "tx", TxCode.WEAK_KEY)


def test_wrong_chain_expired_and_too_far_expiry_are_refused(node, vehicle) -> None:
    for tx, code in [
        (odometer_tx(node, 1, chain_id="amchain-other"), TxCode.WRONG_CHAIN),
        (odometer_tx(node, 1, expires_in_ms=-1000), TxCode.EXPIRED),
        (odometer_tx(node, 1, expires_in_ms=3 * 86_400_000), TxCode.EXPIRY_TOO_FAR),
    ]:
        assert_problem(node.post(tx), 400, "tx", code)
        assert_not_stored(node, tx.hash_hex)


def test_replayed_transaction_is_refused_and_applied_once(node, vehicle) -> None:
    tx = odometer_tx(node, 100)
    assert node.post(tx).status_code == 200
    assert_problem(node.post(tx), 409, "tx", TxCode.REPLAYED)
    # Re-signing the same body does not make it new.
    assert_problem(node.post(tx.to_wire()), 409, "tx", TxCode.REPLAYED)


def test_a_batch_refuses_only_its_already_committed_transactions_as_replayed(node, vehicle) -> None:
    committed = odometer_tx(node, 150)
    assert node.post(committed).status_code == 200
    fresh = [odometer_tx(node, 160), odometer_tx(node, 170)]
    response = httpx.post(
        f"{node.url}/v1/txs",
        json={"txs": [fresh[0].to_wire(), committed.to_wire(), fresh[1].to_wire()]},
        params={"wait": "commit"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["committed", "refused", "committed"]
    assert (results[1]["error"]["codespace"], results[1]["error"]["code"]) == (
        "tx",
        int(TxCode.REPLAYED),
    )


def test_many_transactions_from_one_signer_can_be_in_flight_at_once(node, vehicle) -> None:
    txs = [odometer_tx(node, 200 + i) for i in range(20)]
    response = httpx.post(
        f"{node.url}/v1/txs",
        json={"txs": [t.to_wire() for t in txs]},
        params={"wait": "commit"},
        timeout=30,
    )
    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["committed"] * 20


def test_a_batch_is_executed_in_the_order_it_was_sent(node) -> None:
    # Large enough to be admitted by several threads; any reordering would make a reading
    # look like a rollback.
    vin = valid_vin("1HGCM8263A104399")
    register = node.tx(
        [node.key("oem")],
        "vehicles",
        "register_vehicle",
        {"vin": vin, "make": "Honda", "model": "Accord", "model_year": 2003},
    )
    readings = [odometer_tx(node, 1000 + 10 * i, vin=vin) for i in range(300)]
    response = httpx.post(
        f"{node.url}/v1/txs",
        json={"txs": [t.to_wire() for t in [register, *readings]]},
        params={"wait": "commit"},
        timeout=60,
    )
    assert response.status_code == 202
    results = response.json()["results"]
    assert all(r["status"] == "committed" and r["receipt"]["ok"] for r in results), [
        r.get("receipt", r) for r in results if not r.get("receipt", {}).get("ok")
    ][:3]
    history = node.get(f"/v1/vehicles/{vin}/history").json()
    assert [e["odometer_km"] for e in history["events"][1:]] == [1000 + 10 * i for i in range(300)]


def test_unknown_signer_is_refused(node, vehicle) -> None:
    stranger = KeyPair.generate()
    tx = node.tx(
        [stranger],
        "vehicles",
        "record_event",
        {"vin": VIN, "event": {"type": "odometer", "odometer_km": 1}},
    )
    assert_problem(node.post(tx), 403, "tx", TxCode.UNKNOWN_SIGNER)
    assert_not_stored(node, tx.hash_hex)


def test_revoked_key_can_no_longer_sign(node, vehicle) -> None:
    admin, member = node.key("registry"), KeyPair.generate()
    added = node.post(
        node.tx(
            [admin, member],
            "consortium",
            "add_key",
            {"org": "registry", "public_key": member.public_key.hex(), "kind": "member"},
        )
    )
    assert added.status_code == 200, added.text
    revoked = node.post(
        node.tx(
            [admin],
            "consortium",
            "revoke_key",
            {"org": "registry", "public_key": member.public_key.hex()},
        )
    )
    assert revoked.status_code == 200, revoked.text
    tx = node.tx(
        [member],
        "vehicles",
        "record_event",
        {"vin": VIN, "event": {"type": "odometer", "odometer_km": 1}},
    )
    assert_problem(node.post(tx), 403, "tx", TxCode.REVOKED_KEY)


def test_registering_a_small_order_key_is_refused(node) -> None:
    tx = node.tx(
        [node.key("registry")],
        "consortium",
        "add_key",
        {"org": "registry", "public_key": SMALL_ORDER_KEY.hex(), "kind": "device"},
    )
    assert_problem(node.post(tx), 422, "consortium", ConsortiumCode.INVALID_KEY)


def test_role_not_allowed_is_refused(node, vehicle) -> None:
    tx = node.tx(
        [node.key("dealer")],
        "vehicles",
        "register_vehicle",
        {"vin": valid_vin("1HGCM8263A004351"), "make": "X", "model": "Y", "model_year": 2020},
    )
    assert_problem(node.post(tx), 403, "tx", TxCode.ROLE_NOT_ALLOWED)
    accident = node.tx(
        [node.key("registry")],
        "vehicles",
        "record_event",
        {"vin": VIN, "event": {"type": "accident", "occurred_at_ms": 1, "severity": "minor"}},
    )
    assert_problem(node.post(accident), 403, "tx", TxCode.ROLE_NOT_ALLOWED)


@pytest.mark.parametrize(
    "vin",
    [
        "1HGCM82633A00435",
        "1HGCM82633A0043521",
        "1HGCM82633I004352",
        "1HGCM82643A004352",
        "1hgcm82633a004352",
    ],
)
def test_invalid_vin_is_refused_at_admission(node, vin: str) -> None:
    tx = node.tx(
        [node.key("oem")],
        "vehicles",
        "register_vehicle",
        {"vin": vin, "make": "Honda", "model": "Accord", "model_year": 2003},
    )
    assert_problem(node.post(tx), 422, "vehicles", VehiclesCode.INVALID_VIN)
    assert_not_stored(node, tx.hash_hex)


def test_duplicate_vin_is_refused_and_changes_nothing(node, vehicle) -> None:
    before = node.get(f"/v1/vehicles/{VIN}").json()
    tx = node.tx(
        [node.key("oem")],
        "vehicles",
        "register_vehicle",
        {"vin": VIN, "make": "Other", "model": "Car", "model_year": 2020},
    )
    body = assert_problem(node.post(tx), 422, "vehicles", VehiclesCode.DUPLICATE_VIN)
    assert body["recorded_on_chain"] is True
    assert node.get(f"/v1/vehicles/{VIN}").json() == before


def test_odometer_rollback_is_refused_kept_on_chain_and_flagged(node, vehicle) -> None:
    assert node.post(odometer_tx(node, 12_000)).status_code == 200
    assert node.post(odometer_tx(node, 25_000)).status_code == 200
    before = node.get(f"/v1/vehicles/{VIN}").json()
    body = assert_problem(
        node.post(odometer_tx(node, 20_000)), 422, "vehicles", VehiclesCode.ODOMETER_ROLLBACK
    )
    assert body["details"]["attempted_km"] == 20_000 and body["details"]["last_km"] == 25_000
    assert node.get(f"/v1/vehicles/{VIN}").json() == before
    stored = node.get(f"/v1/txs/{body['hash']}").json()
    assert stored["receipt"]["ok"] is False and stored["height"] == body["height"]
    history = node.get(f"/v1/vehicles/{VIN}/history").json()
    attempts = history["flags"]["refused_odometer_rollbacks"]
    assert [a["attempted_km"] for a in attempts][-1] == 20_000
    assert attempts[-1]["tried_by"][0]["org"] == "registry"
    assert "rollback" in history["summary"]


def test_event_for_unknown_vehicle_is_refused(node) -> None:
    body = assert_problem(
        node.post(odometer_tx(node, 5, vin=valid_vin("1HGCM8263A099999"))),
        422,
        "vehicles",
        VehiclesCode.UNKNOWN_VEHICLE,
    )
    assert body["recorded_on_chain"] is True


def create_person(node: RunningNode) -> tuple[KeyPair, str]:
    key = KeyPair.generate()
    response = node.post(
        node.tx(
            [node.key("dealer"), key],
            "identity",
            "create_did",
            {"public_key": key.public_key.hex()},
        )
    )
    assert response.status_code == 200, response.text
    did = next(
        e["attributes"]["did"]
        for e in response.json()["receipt"]["events"]
        if e["type"].startswith("identity.")
    )
    return key, did


def test_transfer_needs_the_buyers_signature(node, vehicle) -> None:
    _, buyer_did = create_person(node)
    tx = node.tx(
        [node.key("oem")],
        "vehicles",
        "record_event",
        {"vin": VIN, "event": {"type": "ownership_transferred", "new_owner": buyer_did}},
    )
    assert_problem(node.post(tx), 422, "vehicles", VehiclesCode.BUYER_SIGNATURE_MISSING)


def test_transfer_with_both_signatures_changes_owner(node, vehicle) -> None:
    buyer, buyer_did = create_person(node)
    tx = node.tx(
        [node.key("oem"), buyer],
        "vehicles",
        "record_event",
        {"vin": VIN, "event": {"type": "ownership_transferred", "new_owner": buyer_did}},
    )
    assert node.post(tx).status_code == 200
    record = node.get(f"/v1/vehicles/{VIN}").json()
    assert record["owner"] == buyer_did and record["owners_count"] == 2
    resolved = node.get(f"/v1/dids/{buyer_did}").json()
    assert resolved["didDocument"]["verificationMethod"][0]["type"] == "Multikey"


def test_event_after_scrapping_is_refused(node) -> None:
    vin = valid_vin("WVWZZZ1KZ6W61234")
    assert (
        node.post(
            node.tx(
                [node.key("oem")],
                "vehicles",
                "register_vehicle",
                {"vin": vin, "make": "VW", "model": "Golf", "model_year": 2006},
            )
        ).status_code
        == 200
    )
    scrap = node.tx(
        [node.key("registry")],
        "vehicles",
        "record_event",
        {"vin": vin, "event": {"type": "scrapped", "certificate_hash": "ab" * 32}},
    )
    assert node.post(scrap).status_code == 200
    assert_problem(
        node.post(odometer_tx(node, 10, vin=vin)), 422, "vehicles", VehiclesCode.VEHICLE_SCRAPPED
    )


def test_unknown_routes_and_resources_are_problem_documents(node) -> None:
    assert_problem(node.get("/v1/vehicles/1HGCM82633A000000"), 404, "api", 404)
    assert_problem(node.get("/v1/txs/nothex"), 400, "api", 2)
    assert_problem(node.get("/v1/blocks/999999"), 404, "api", 404)
    assert_problem(node.get("/v1/dids/did:amc:nobody"), 404, "api", 404)
    assert node.get("/v1/nowhere").status_code == 404


def test_history_lists_events_in_order_with_hash_chain(node, vehicle) -> None:
    history = node.get(f"/v1/vehicles/{VIN}/history").json()
    seqs = [e["seq"] for e in history["events"]]
    assert seqs == list(range(len(seqs))) and history["event_count"] == len(seqs)
    assert history["events"][-1]["entry_hash"] == history["history_head"]
    for prev, entry in zip(history["events"], history["events"][1:], strict=False):
        assert entry["prev_hash"] == prev["entry_hash"]


def test_event_stream_resumes_from_a_height(node, vehicle) -> None:
    with httpx.stream(
        "GET", f"{node.url}/v1/events", params={"from_height": 1}, timeout=30
    ) as stream:
        heights = []
        for line in stream.iter_lines():
            if line.startswith("data: "):
                payload = json.loads(line[6:])
                heights.append(payload["height"])
                if payload["height"] == 1:
                    assert any(e["type"] == "vehicles.registered" for e in payload["events"])
                if len(heights) == 3:
                    break
    assert heights == [1, 2, 3]


def test_canonical_body_with_unicode_escapes_is_accepted(node, vehicle) -> None:
    tx = odometer_tx(node, 30_000)
    assert node.post_raw(encode_canonical(tx.to_wire())).status_code == 200


def test_a_batch_executes_in_the_order_it_was_sent(node: RunningNode) -> None:
    vin = "WVWZZZ1JZXW000001"
    register = node.tx(
        [node.key("oem")],
        "vehicles",
        "register_vehicle",
        {"vin": vin, "make": "VW", "model": "Golf", "model_year": 1999},
    )
    assert node.post(register).status_code == 200
    # 300 increasing readings in one batch: admission runs them on several workers, but they
    # must reach the block in the order sent, or later readings would look like rollbacks.
    readings = [odometer_tx(node, 10 * (i + 1), vin=vin).to_wire() for i in range(300)]
    response = httpx.post(
        f"{node.url}/v1/txs", json={"txs": readings}, params={"wait": "commit"}, timeout=60
    )
    assert response.status_code == 202, response.text
    results = response.json()["results"]
    assert all(r["status"] == "committed" and r["receipt"]["ok"] for r in results)
    assert node.get(f"/v1/vehicles/{vin}").json()["last_odometer_km"] == 3_000
