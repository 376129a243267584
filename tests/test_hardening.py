"""The attacks of issue 29, against a real node over HTTP: nothing unauthorised is stored,
no input gives a 5xx, one hash per intent, requests and connections are bounded."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from amchain.api.server import GuardedHttpProtocol
from amchain.crypto import KeyPair
from amchain.ledger import TxCode
from amchain.modules.vehicles.validation import compute_vin_check_digit
from tests.support import RunningNode, start_node

VIN = "1HGCM82633A004352"


def _vin(serial: int) -> str:
    draft = f"1HGCM826X3A{serial:06d}"
    return draft[:8] + compute_vin_check_digit(draft) + draft[9:]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with start_node(tmp_path_factory.mktemp("hardened")) as running:
        oem = running.key("oem")
        registered = running.post(
            running.tx(
                [oem],
                "vehicles",
                "register_vehicle",
                {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2026},
            )
        )
        assert registered.status_code == 200, registered.text
        yield running


def _stored_txs(node: RunningNode) -> int:
    with sqlite3.connect(node.data_dir / "chain.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM txs").fetchone()[0])


def _insurer_event(node: RunningNode, event: dict[str, object]) -> dict[str, object]:
    return node.tx([node.key("insurer")], "vehicles", "record_event", {"vin": VIN, "event": event})


# --- 1. admission refuses what must not be stored ---------------------------------------------


def test_a_key_nobody_registered_cannot_get_even_a_failed_receipt_stored(node: RunningNode) -> None:
    stranger = KeyPair.from_seed(b"\x07" * 32)
    before = _stored_txs(node)
    answer = node.post(
        node.tx(
            [stranger],
            "identity",
            "add_key",
            {
                "did": "did:amc:org:oem",
                "public_key": stranger.public_key.hex(),
                "purposes": ["authentication"],
            },
        )
    )
    assert answer.status_code == 403
    assert (answer.json()["codespace"], answer.json()["code"]) == ("tx", TxCode.UNKNOWN_SIGNER)
    assert _stored_txs(node) == before


@pytest.mark.parametrize(
    "event",
    [
        {"type": "stolen", "report_hash": "ab" * 30_000},
        {
            "type": "insurance_claim",
            "claim_ref_hash": "ab" * 32,
            "amount_minor": -(10**15),
            "currency": "EUR",
            "status": "opened",
        },
        {
            "type": "insurance_claim",
            "claim_ref_hash": "ab" * 32,
            "amount_minor": 100,
            "currency": "E" * 60_000,
            "status": "opened",
        },
    ],
    ids=["60-KB-hash", "negative-amount", "60-KB-currency"],
)
def test_a_field_out_of_shape_is_refused_at_admission_and_not_stored(
    node: RunningNode, event: dict[str, object]
) -> None:
    before = _stored_txs(node)
    answer = node.post(_insurer_event(node, event))
    assert answer.status_code == 422, answer.text
    assert "recorded_on_chain" not in answer.json()
    assert _stored_txs(node) == before


def test_text_not_in_unicode_nfc_is_refused(node: RunningNode) -> None:
    decomposed = unicodedata.normalize("NFD", "Citroën")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    answer = node.post(
        node.tx(
            [node.key("oem")],
            "vehicles",
            "register_vehicle",
            {"vin": _vin(4), "make": decomposed, "model": "C4", "model_year": 2026},
        )
    )
    assert answer.status_code == 400
    assert (answer.json()["codespace"], answer.json()["code"]) == ("codec", 12)


def test_one_intent_has_one_hash_upper_case_or_spaced_hex_is_refused(node: RunningNode) -> None:
    wire = _insurer_event(node, {"type": "odometer", "odometer_km": 10}).to_wire()
    upper = json.loads(json.dumps(wire))
    upper["body"]["signers"][0] = upper["body"]["signers"][0].upper()
    spaced = json.loads(json.dumps(wire))
    spaced["signatures"][0] = " ".join(
        spaced["signatures"][0][i : i + 2] for i in range(0, 128, 2)
    )[:128]
    for variant, code in (
        (upper, TxCode.BAD_KEY_ENCODING),
        (spaced, TxCode.BAD_SIGNATURE_ENCODING),
    ):
        answer = node.post(variant, wait=False)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == code
    assert node.get("/v1/txs/" + "00 " * 21 + "0").status_code == 400


def test_a_signer_over_its_quota_is_told_to_retry(tmp_path: Path) -> None:
    with start_node(tmp_path, max_pending_per_signer=2, max_block_wait_ms=3_000) as slow:
        oem = slow.key("oem")
        answers = [
            slow.post(
                slow.tx(
                    [oem],
                    "vehicles",
                    "register_vehicle",
                    {"vin": vin, "make": "Honda", "model": "Jazz", "model_year": 2026},
                ),
                wait=False,
            )
            for vin in (_vin(1), _vin(2), _vin(3))
        ]
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert answers[2].json()["code"] == TxCode.QUOTA_EXCEEDED
        assert answers[2].headers["retry-after"] == "1"
        # another signer still has its room
        other = slow.post(
            slow.tx(
                [slow.key("dealer")],
                "identity",
                "create_did",
                {"public_key": KeyPair.from_seed(b"\x09" * 32).public_key.hex()},
            ),
            wait=False,
        )
        assert other.status_code != 429


# --- 2. bounded requests ----------------------------------------------------------------------


def test_a_batch_of_two_million_elements_is_refused_whole_with_a_short_answer(
    node: RunningNode,
) -> None:
    answer = node.post_raw(b'{"txs":[' + b",".join([b"0"] * 2_000_000) + b"]}", wait=False)
    assert answer.status_code == 422
    assert len(answer.content) < 1_000
    too_many = node.post_raw(b'{"txs":[' + b",".join([b"{}"] * 40_000) + b"]}", wait=False)
    assert too_many.status_code == 413
    assert len(too_many.content) < 1_000


def test_http_rules_host_head_options_and_allow(node: RunningNode) -> None:
    assert httpx.head(f"{node.url}/v1/status").status_code == 200
    assert httpx.head(f"{node.url}/v1/status").content == b""
    options = httpx.options(f"{node.url}/v1/txs")
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    wrong = httpx.delete(f"{node.url}/v1/status")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD, OPTIONS"
    rebound = httpx.get(f"{node.url}/v1/status", headers={"host": "attacker.example"})
    assert rebound.status_code == 400 and rebound.json()["code"] == 5
    preflight = httpx.options(
        f"{node.url}/v1/txs",
        headers={"origin": "https://attacker.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_a_connection_that_never_sends_its_request_is_closed(
    node: RunningNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GuardedHttpProtocol, "header_timeout_s", 0.5)
    monkeypatch.setattr(GuardedHttpProtocol, "body_timeout_s", 0.5)
    host, port = node.url.removeprefix("http://").split(":")
    idle = socket.create_connection((host, int(port)))
    slow_body = socket.create_connection((host, int(port)))
    slow_body.sendall(b"POST /v1/txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
    for connection in (idle, slow_body):
        connection.settimeout(10)
        received = b""
        while chunk := connection.recv(4096):  # the server closes: recv returns b""
            received += chunk
        assert b"200 OK" not in received
        connection.close()


def test_event_streams_per_client_are_limited(node: RunningNode) -> None:
    with httpx.Client(timeout=10) as client:
        streams = [client.stream("GET", f"{node.url}/v1/events") for _ in range(9)]
        answers = []
        try:
            for stream in streams:
                answers.append(stream.__enter__())
            statuses = [answer.status_code for answer in answers]
        finally:
            for stream in streams[: len(answers)]:
                stream.__exit__(None, None, None)
    assert statuses == [200] * 8 + [429]


# --- 3. no 5xx --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/blocks/9223372036854775808",
        "/v1/txs?height=18446744073709551616",
        "/v1/blocks?before=18446744073709551616",
        "/v1/events?from_height=99999999999999999999",
        "/v1/tokens/denominations/AMCT?height=99999999999999999999",
        "/v1/tokens/denominations/AMCT?height=%C2%B2",
    ],
)
def test_integers_beyond_range_in_paths_and_queries_are_a_4xx(node: RunningNode, path: str) -> None:
    assert httpx.get(f"{node.url}{path}", timeout=10).status_code == 400


def test_a_lone_surrogate_is_a_4xx_not_a_crash(node: RunningNode) -> None:
    wire = json.dumps(_insurer_event(node, {"type": "stolen", "report_hash": "ab" * 32}).to_wire())
    body = wire.replace('"stolen"', '"\\ud800"').encode()
    answer = node.post_raw(body, wait=False)
    assert answer.status_code == 400
    assert (answer.json()["codespace"], answer.json()["code"]) == ("codec", 12)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "InsuranceCoverage", "issuer": "did:amc:org:insurer", "vin": VIN,
         "policy_hash": "a" * 64, "valid_until": "2027-01-01T00:00:00Z", "coverage": 5},
        {"type": "VehicleAccessGrant", "issuer": "did:amc:org:insurer", "vin": VIN,
         "grantee": "did:amc:x:y", "valid_until": "2027-01-01T00:00:00Z", "scopes": 5},
    ],
)  # fmt: skip
def test_wrong_types_in_a_credential_draft_are_a_4xx(
    node: RunningNode, body: dict[str, object]
) -> None:
    answer = httpx.post(f"{node.url}/v1/credentials/prepare", json=body, timeout=10)
    assert answer.status_code == 422


# --- 7. operations ----------------------------------------------------------------------------


def test_metrics_parse_and_count_admissions_and_refusals(node: RunningNode) -> None:
    node.post_raw(b"{", wait=False)  # a body refused whole is not a transaction refusal
    node.post(_insurer_event(node, {"type": "stolen", "report_hash": "x"}), wait=False)
    text = httpx.get(f"{node.url}/metrics", timeout=10).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("amchain_head_height", ())] >= 1
    assert samples[("amchain_txs_admitted_total", ())] >= 1
    assert samples[("amchain_txs_refused_total", (("code", "5"), ("codespace", "vehicles")))] >= 1
    assert samples[("amchain_block_commit_seconds_count", ())] >= 1
    assert ("amchain_mempool_txs", ()) in samples


def test_health_and_readiness(node: RunningNode) -> None:
    assert httpx.get(f"{node.url}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{node.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_a_slow_client_does_not_hold_the_node(node: RunningNode) -> None:
    # The node keeps answering while a client trickles a body (it is cut off later).
    host, port = node.url.removeprefix("http://").split(":")
    trickle = socket.create_connection((host, int(port)))
    trickle.sendall(b"POST /v1/txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")
    try:
        for _ in range(3):
            trickle.sendall(b" ")
            assert httpx.get(f"{node.url}/v1/status", timeout=5).status_code == 200
            time.sleep(0.05)
    finally:
        trickle.close()


@pytest.mark.parametrize(("commas", "code"), [(1, 1), (4_000, 1), (6_000, 7)])
def test_invalid_utf8_in_a_batch_key_is_refused_not_a_crash(commas: int, code: int) -> None:
    # Found by bench/fuzz_admission.py: msgspec raised UnicodeDecodeError for a key holding
    # invalid UTF-8, past the split that admission processes use.
    from amchain.codec import DecodeError, DecodeErrorCode
    from amchain.node.intake import split_submission

    body = b'{"txs":[{}' + b",{}" * commas + b'],"ch\xff\xff":1}'
    with pytest.raises(DecodeError) as refused:
        split_submission(body, max_bytes=8 << 20, max_depth=14, max_txs=5_000)
    assert refused.value.code == DecodeErrorCode(code)  # malformed, or first too long
