"""Unit tests of the Python SDK (``amchain.sdk``) against ``httpx.MockTransport``, plus one
in-process run against the real API app."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import amchain.sdk as sdk
from amchain.crypto import KeyPair
from amchain.ledger import (
    MAX_TX_TTL_MS,
    Transaction,
    decode_transaction,
    verify_transaction_signatures,
)
from amchain.runtime import INSTALLED_MODULES
from amchain.sdk import (
    AmchainError,
    ApiError,
    AsyncClient,
    BlockEvent,
    Client,
    NodeStatus,
    Signer,
    SubmitResult,
    TransportError,
    TxBuildError,
    build_tx,
)
from amchain.sdk import _async_client as async_client_module
from amchain.sdk import _client as client_module

BASE = "http://node.test:8640"
CHAIN = "amchain-test"
PROBLEM = "application/problem+json"

STATUS = {
    "chain_id": CHAIN, "height": 7, "latest_block_hash": "ab" * 32, "latest_block_time_ms": 1,
    "state_root": "cd" * 32, "pending_txs": 0, "node_key": "ef" * 32, "ordering": "solo",
    "version": "0.1.0", "modules": ["consortium", "identity", "vehicles"],
}  # fmt: skip


def test_public_api_is_locked() -> None:
    assert sdk.__all__ == [
        "DEFAULT_BASE_URL",
        "AmchainError",
        "ApiError",
        "AsyncClient",
        "BlockEvent",
        "Client",
        "FieldInfo",
        "MessageInfo",
        "ModuleCatalog",
        "ModuleInfo",
        "NodeStatus",
        "QueryInfo",
        "Signer",
        "SubmitResult",
        "TransportError",
        "TxBuildError",
        "TxInfo",
        "build_tx",
        "describe_fields",
        "did_for_key",
        "resolve_schema",
        "schema_variants",
        "without_null",
    ]
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None
    assert issubclass(ApiError, AmchainError) and issubclass(TransportError, AmchainError)
    assert issubclass(TxBuildError, AmchainError) and issubclass(TxBuildError, ValueError)
    assert "TransportError" in (sdk.__doc__ or "")


# --- building and signing ---------------------------------------------------------------------


def test_build_tx_signs_for_every_signer_in_order() -> None:
    a, b = Signer.generate(), KeyPair.generate()
    before = time.time_ns() // 1_000_000
    tx = build_tx(
        chain_id=CHAIN,
        signers=[a, b],
        module="vehicles",
        message="record_event",
        args={"vin": "X", "event": {"type": "odometer", "odometer_km": 5}},
    )
    after = time.time_ns() // 1_000_000
    assert isinstance(tx, Transaction)
    assert tx.body.signers == [a.public_key.hex(), b.public_key.hex()]
    assert tx.body.chain_id == CHAIN and tx.body.module == "vehicles"
    assert 0 <= tx.body.nonce < 2**53
    assert before + 600_000 <= tx.body.expires_at_ms <= after + 600_000
    verify_transaction_signatures(tx)
    # the wire form decodes back to the same transaction on a node
    again = decode_transaction(json.loads(json.dumps(tx.to_wire())))
    assert again.hash == tx.hash
    verify_transaction_signatures(again)


def test_build_tx_nonce_expiry_and_errors() -> None:
    key = KeyPair.generate()
    tx = build_tx(
        chain_id=CHAIN,
        signers=key,
        module="identity",
        message="create_did",
        args={"public_key": "00"},
        nonce=42,
        expires_in_ms=1_000,
    )
    assert tx.body.nonce == 42
    nonces = {
        build_tx(chain_id=CHAIN, signers=[key], module="m", message="x", args={}).body.nonce
        for _ in range(20)
    }
    assert len(nonces) == 20  # random
    with pytest.raises(TxBuildError, match="at least one signer"):
        build_tx(chain_id=CHAIN, signers=[], module="m", message="x", args={})
    with pytest.raises(TxBuildError, match="twice"):
        build_tx(chain_id=CHAIN, signers=[key, Signer(key)], module="m", message="x", args={})
    with pytest.raises(TxBuildError, match="expires_in_ms"):
        build_tx(
            chain_id=CHAIN,
            signers=[key],
            module="m",
            message="x",
            args={},
            expires_in_ms=MAX_TX_TTL_MS + 1,
        )
    with pytest.raises(TxBuildError, match="nonce"):
        build_tx(chain_id=CHAIN, signers=[key], module="m", message="x", args={}, nonce=2**53)
    with pytest.raises(TxBuildError, match="invalid transaction"):
        build_tx(chain_id=CHAIN, signers=[key], module="Bad-Module", message="x", args={})
    with pytest.raises(TxBuildError):  # floats never reach a node
        build_tx(chain_id=CHAIN, signers=[key], module="m", message="x", args={"v": 1.5})


def test_signer_did_matches_identity_module() -> None:
    from amchain.modules.identity import did_for_key as module_did_for_key

    key = KeyPair.generate()
    assert Signer(key).did == module_did_for_key(key.public_key) == sdk.did_for_key(key.public_key)
    assert Signer.for_org(key, "oem").did == "did:amc:org:oem"
    assert Signer.from_seed(key.seed.hex()).public_key == key.public_key
    assert key.seed.hex() not in repr(Signer(key))


# --- a mock node ------------------------------------------------------------------------------


class MockNode:
    """Records requests; answers with ``respond(request)``."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.respond = respond or (lambda r: httpx.Response(404))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/status":
            return httpx.Response(200, json=STATUS)
        return self.respond(request)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self.handle(request)

    def client(self) -> Client:
        return Client(BASE, transport=httpx.MockTransport(self.handle))

    def async_client(self) -> AsyncClient:
        return AsyncClient(BASE, transport=httpx.MockTransport(self.ahandle))

    def posted(self) -> list[tuple[httpx.Request, Any]]:
        return [(r, json.loads(r.content)) for r in self.requests if r.method == "POST"]


def committed(body: dict[str, Any], height: int = 8) -> httpx.Response:
    result = {
        "index": 0,
        "hash": "11" * 32,
        "status": "committed",
        "height": height,
        "receipt": {
            "tx_hash": "11" * 32,
            "ok": True,
            "codespace": "",
            "code": 0,
            "message": "",
            "details": {},
            "events": [{"type": "vehicles.registered", "attributes": {"vin": "V"}}],
        },
    }
    if "txs" in body:
        results = [dict(result, index=i) for i in range(len(body["txs"]))]
        return httpx.Response(
            202, json={"accepted": len(results), "refused": 0, "results": results}
        )
    return httpx.Response(200, json=result)


def problem(status: int, codespace: str, code: int, detail: str, **extra: Any) -> httpx.Response:
    body = {
        "type": f"https://amchain.dev/problems/{codespace}/{code}",
        "title": "Refused",
        "status": status,
        "detail": detail,
        "codespace": codespace,
        "code": code,
        **extra,
    }
    return httpx.Response(status, json=body, headers={"content-type": PROBLEM})


def a_tx(signer: Signer | None = None) -> Transaction:
    return build_tx(
        chain_id=CHAIN,
        signers=[signer or Signer.generate()],
        module="vehicles",
        message="register_vehicle",
        args={"vin": "V"},
    )


def test_status_and_chain_id_is_cached() -> None:
    node = MockNode()
    with node.client() as client:
        status = client.status()
        assert isinstance(status, NodeStatus) and status.height == 7 and status.raw == STATUS
        assert client.chain_id() == CHAIN and client.chain_id() == CHAIN
    assert [r.url.path for r in node.requests] == ["/v1/status"]


def test_submit_single_posts_the_wire_form_and_waits_for_commit() -> None:
    node = MockNode(lambda r: committed(json.loads(r.content)))
    tx = a_tx()
    with node.client() as client:
        result = client.submit(tx)
    ((request, body),) = node.posted()
    assert request.url.path == "/v1/txs"
    assert dict(request.url.params) == {"wait": "commit", "timeout_ms": "10000"}
    assert body == tx.to_wire()
    assert isinstance(result, SubmitResult)
    assert result.committed and result.ok and result.height == 8 and result.hash == "11" * 32
    assert result.events[0]["type"] == "vehicles.registered"


def test_a_submission_answered_503_is_sent_again_after_retry_after() -> None:
    from amchain.sdk import _steps

    tx = a_tx()
    step = _steps.submit(tx, "commit", 10_000)
    first = next(step)
    unavailable = problem(503, "node", 2, "etcd is electing a leader")
    unavailable.headers["Retry-After"] = "1"
    again = step.send(unavailable)
    assert again.delay_s == 1.0 and again.body == first.body and first.delay_s == 0
    with pytest.raises(StopIteration) as done:
        step.send(committed(json.loads(first.body or b"{}")))
    assert done.value.value.committed
    # a node that stays unavailable: the retries stop after the budget, with its answer
    step = _steps.submit(tx, "commit", 10_000)
    next(step)
    delays = []
    with pytest.raises(ApiError) as refused:
        while True:
            delays.append(step.send(unavailable).delay_s)
    assert refused.value.status == 503 and refused.value.code == 2
    assert sum(delays) == pytest.approx(15.0)


def test_both_clients_wait_and_retry_a_503_answer() -> None:
    answers = iter([problem(503, "node", 1, "mempool full")])
    node = MockNode(lambda r: next(answers, None) or committed(json.loads(r.content)))
    with node.client() as client:
        assert client.submit(a_tx()).committed
    assert len(node.posted()) == 2
    answers = iter([problem(503, "node", 1, "mempool full")])
    node = MockNode(lambda r: next(answers, None) or committed(json.loads(r.content)))

    async def run() -> None:
        async with node.async_client() as client:
            assert (await client.submit(a_tx())).committed

    asyncio.run(run())
    assert len(node.posted()) == 2


def test_submit_without_wait_returns_pending() -> None:
    node = MockNode(
        lambda r: httpx.Response(202, json={"index": 0, "hash": "22" * 32, "status": "pending"})
    )
    with node.client() as client:
        result = client.submit(a_tx(), wait=None)
    assert result.status == "pending" and result.height is None and result.ok
    assert "wait" not in node.requests[-1].url.params


def test_submit_batch_body_shape_and_per_tx_results() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            202,
            json={
                "accepted": 1,
                "refused": 1,
                "results": [
                    {
                        "index": 0,
                        "hash": "33" * 32,
                        "status": "committed",
                        "height": 3,
                        "receipt": {"tx_hash": "33" * 32, "ok": True, "events": []},
                    },
                    {
                        "index": 1,
                        "hash": "44" * 32,
                        "status": "refused",
                        "error": {
                            "status": 409,
                            "codespace": "tx",
                            "code": 9,
                            "title": "Replayed",
                            "detail": "already known",
                        },
                    },
                ],
            },
        )

    node = MockNode(respond)
    txs = [a_tx(), a_tx()]
    with node.client() as client:
        results = client.submit(txs, wait="commit", timeout_ms=2_000)
    ((request, body),) = node.posted()
    assert body == {"txs": [t.to_wire() for t in txs]}
    assert request.url.params["timeout_ms"] == "2000"
    assert [r.status for r in results] == ["committed", "refused"]
    assert results[0].ok and not results[1].ok
    assert isinstance(results[1].error, ApiError)
    assert (results[1].error.codespace, results[1].error.code, results[1].error.status) == (
        "tx",
        9,
        409,
    )
    with pytest.raises(ApiError):
        results[1].raise_for_error()


def test_batch_all_refused_is_still_per_tx_results() -> None:
    node = MockNode(
        lambda r: httpx.Response(
            400,
            json={
                "accepted": 0,
                "refused": 1,
                "results": [
                    {
                        "index": 0,
                        "hash": "55" * 32,
                        "status": "refused",
                        "error": {"status": 400, "codespace": "tx", "code": 5, "detail": "expired"},
                    }
                ],
            },
        )
    )
    with node.client() as client:
        (result,) = client.submit([a_tx()])
    assert result.error is not None and result.error.code == 5


def test_problem_json_maps_to_api_error() -> None:
    node = MockNode(lambda r: problem(403, "tx", 12, "signer is not allowed", extra_field=1))
    with node.client() as client, pytest.raises(ApiError) as info:
        client.submit(a_tx())
    err = info.value
    assert (err.status, err.codespace, err.code) == (403, "tx", 12)
    assert err.detail == "signer is not allowed"
    assert err.problem["extra_field"] == 1 and err.problem["type"].endswith("/tx/12")
    assert not err.recorded_on_chain and err.details == {}
    assert str(err) == "tx/12: signer is not allowed"


def test_committed_but_refused_keeps_details() -> None:
    details = {"vin": "V", "attempted_km": 20_000, "last_km": 25_000, "last_seq": 2}
    node = MockNode(
        lambda r: problem(
            422,
            "vehicles",
            7,
            "odometer rollback",
            hash="66" * 32,
            height=12,
            recorded_on_chain=True,
            details=details,
        )
    )
    with node.client() as client, pytest.raises(ApiError) as info:
        client.vehicles.record_event(
            Signer.generate(), "V", {"type": "odometer", "odometer_km": 20_000}
        )
    err = info.value
    assert (err.status, err.codespace, err.code) == (422, "vehicles", 7)
    assert err.recorded_on_chain and err.details == details
    assert err.tx_hash == "66" * 32 and err.height == 12


def test_non_problem_error_answers_are_api_errors_too() -> None:
    node = MockNode(lambda r: httpx.Response(500, text="Internal Server Error"))
    with node.client() as client, pytest.raises(ApiError) as info:
        client.get_vehicle("V")
    assert (info.value.status, info.value.codespace, info.value.code) == (500, "http", 500)


def test_not_found_reads_raise_api_error() -> None:
    node = MockNode(lambda r: problem(404, "api", 404, "no vehicle with VIN V"))
    with node.client() as client, pytest.raises(ApiError) as info:
        client.get_history("V")
    assert info.value.status == 404 and node.requests[-1].url.path == "/v1/vehicles/V/history"


def test_transport_errors_name_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    client = Client("http://127.0.0.1:8640", transport=httpx.MockTransport(refuse))
    with client, pytest.raises(TransportError) as info:
        client.status()
    message = str(info.value)
    assert "cannot reach node at http://127.0.0.1:8640" in message
    assert "amchain up" in message and info.value.url == "http://127.0.0.1:8640"
    assert isinstance(info.value.__cause__, httpx.ConnectError)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = Client(BASE, transport=httpx.MockTransport(slow))
    with client, pytest.raises(TransportError, match=r"node\.test:8640 did not answer in time"):
        client.get_block()


def test_real_connection_failure_is_a_transport_error() -> None:
    with Client("http://127.0.0.1:1", timeout=2.0) as client, pytest.raises(TransportError):
        client.status()


def test_reads_use_the_right_paths() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/v1/txs/"):
            return httpx.Response(
                200,
                json={
                    "status": "committed",
                    "hash": "77" * 32,
                    "height": 4,
                    "index": 0,
                    "transaction": {"body": {}, "signatures": []},
                    "receipt": {
                        "tx_hash": "77" * 32,
                        "ok": False,
                        "codespace": "vehicles",
                        "code": 16,
                        "message": "buyer must sign",
                        "details": {"vin": "V"},
                    },
                },
            )
        return httpx.Response(200, json={"path": path, "raw_path": request.url.raw_path.decode()})

    node = MockNode(respond)
    with node.client() as client:
        assert client.get_block()["path"] == "/v1/blocks/latest"
        assert client.get_block(5)["path"] == "/v1/blocks/5"
        assert client.resolve_did("did:amc:org:oem")["path"] == "/v1/dids/did:amc:org:oem"
        assert client.get_vehicle("1HGCM82633A004352")["path"] == "/v1/vehicles/1HGCM82633A004352"
        info = client.get_tx("77" * 32, wait_commit=True)
    assert node.requests[-1].url.params["wait"] == "commit"
    assert info.status == "committed" and info.height == 4 and not info.ok
    assert info.error is not None and (info.error.codespace, info.error.code) == ("vehicles", 16)
    assert info.error.recorded_on_chain and info.error.details == {"vin": "V"}


def test_vehicle_helpers_build_the_right_transactions() -> None:
    node = MockNode(lambda r: committed(json.loads(r.content)))
    oem, seller, buyer = Signer.generate(), Signer.generate(), Signer.generate()
    with node.client() as client:
        client.vehicles.register(
            oem,
            vin="1HGCM82633A004352",
            make="Honda",
            model="Accord",
            model_year=2003,
            vehicle_key=b"\x01" * 32,
        )
        client.vehicles.transfer(seller, buyer, vin="1HGCM82633A004352", odometer_km=30_000)
        client.identity.create_did(oem, buyer)
        client.consortium.add_key(oem, seller, org="oem")
        client.consortium.revoke_key(oem, org="oem", public_key=seller.public_key)
    bodies = [b["body"] for _, b in node.posted()]
    register, transfer, create, add, revoke = bodies
    assert register["module"] == "vehicles" and register["message"] == "register_vehicle"
    assert register["args"] == {
        "vin": "1HGCM82633A004352",
        "make": "Honda",
        "model": "Accord",
        "model_year": 2003,
        "vehicle_key": "01" * 32,
    }
    assert register["chain_id"] == CHAIN and register["signers"] == [oem.public_key_hex]
    assert transfer["signers"] == [seller.public_key_hex, buyer.public_key_hex]
    assert transfer["args"] == {
        "vin": "1HGCM82633A004352",
        "event": {"type": "ownership_transferred", "new_owner": buyer.did, "odometer_km": 30_000},
    }
    assert (create["module"], create["message"]) == ("identity", "create_did")
    assert create["signers"] == [oem.public_key_hex, buyer.public_key_hex]
    assert create["args"] == {"public_key": buyer.public_key_hex}
    assert (add["module"], add["message"], add["args"]["kind"]) == (
        "consortium",
        "add_key",
        "member",
    )
    assert add["signers"] == [oem.public_key_hex, seller.public_key_hex]
    assert revoke["args"] == {"org": "oem", "public_key": seller.public_key_hex}


def test_record_event_refuses_unknown_event_types_locally() -> None:
    node = MockNode()
    with node.client() as client, pytest.raises(TxBuildError, match="valid: sold"):
        client.vehicles.record_event(Signer.generate(), "V", {"type": "teleported"})
    assert not node.posted()


SSE = (
    ": amchain event stream\n\n"
    'id: 3\nevent: block\ndata: {"height":3,"hash":"aa","time_ms":5,"tx_count":1,'
    '"events":[{"tx_hash":"bb","type":"vehicles.registered","attributes":{"vin":"V"}}],'
    '"failed":[]}\n\n'
    ": keep-alive\n\n"
    'id: 4\nevent: block\ndata: {"height":4,"hash":"cc","time_ms":6,"tx_count":1,"events":[],'
    '"failed":[{"tx_hash":"dd","codespace":"vehicles","code":7}]}\n\n'
)


def test_events_parse_server_sent_block_events() -> None:
    node = MockNode(
        lambda r: httpx.Response(200, text=SSE, headers={"content-type": "text/event-stream"})
    )
    with node.client() as client:
        events = list(client.events(from_height=3))
    assert node.requests[-1].url.params["from_height"] == "3"
    assert [e.height for e in events] == [3, 4]
    assert isinstance(events[0], BlockEvent)
    assert events[0].events[0]["type"] == "vehicles.registered"
    assert events[1].failed == [{"tx_hash": "dd", "codespace": "vehicles", "code": 7}]


# --- async ------------------------------------------------------------------------------------


def test_async_client_has_the_same_behaviour() -> None:
    async def scenario() -> None:
        node = MockNode(
            lambda r: (
                committed(json.loads(r.content))
                if r.method == "POST"
                else problem(404, "api", 404, "no such DID")
            )
        )
        async with node.async_client() as client:
            assert (await client.status()).chain_id == CHAIN
            assert await client.chain_id() == CHAIN
            oem = Signer.generate()
            result = await client.vehicles.register(
                oem, vin="V", make="M", model="N", model_year=2020
            )
            assert result.committed and result.height == 8
            batch = await client.submit([a_tx(), a_tx()], wait=None)
            assert isinstance(batch, list)
            with pytest.raises(ApiError) as info:
                await client.identity.resolve("did:amc:nobody")
            assert info.value.status == 404 and info.value.codespace == "api"
            sse = MockNode(lambda r: httpx.Response(200, text=SSE))
            async with sse.async_client() as streaming:
                heights = [e.height async for e in streaming.events()]
            assert heights == [3, 4]
        register_body = node.posted()[0][1]["body"]
        assert register_body["signers"] == [oem.public_key_hex]
        assert node.posted()[1][1].keys() == {"txs"}

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with AsyncClient(BASE, transport=httpx.MockTransport(refuse)) as client:
            with pytest.raises(
                TransportError, match=r"cannot reach node at http://node\.test:8640"
            ):
                await client.status()

    asyncio.run(scenario())


# --- against the real API, in process ---------------------------------------------------------


def test_async_client_against_the_real_api(tmp_path: Path) -> None:
    from amchain.api import create_app
    from amchain.node import Keystore, Node, NodeConfig

    node = Node.open(NodeConfig(data_dir=tmp_path / "chain"))
    keystore = Keystore(tmp_path / "chain")
    oem = Signer.for_org(keystore.get("oem").key, "oem")
    registry = Signer.for_org(keystore.get("registry").key, "registry")
    dealer = Signer.for_org(keystore.get("dealer").key, "dealer")
    vin = "1HGCM82633A004352"

    async def scenario() -> None:
        await node.start()
        try:
            transport = httpx.ASGITransport(app=create_app(node))
            async with AsyncClient("http://localhost", transport=transport) as client:
                alice = Signer.generate()
                await client.identity.create_did(dealer, alice)
                assert (await client.identity.resolve(alice.did))["didDocument"]["id"] == alice.did
                done = await client.vehicles.register(
                    oem, vin=vin, make="Honda", model="Accord", model_year=2003
                )
                assert done.committed and done.height is not None
                await client.vehicles.record_event(
                    registry, vin, {"type": "odometer", "odometer_km": 25_000}
                )
                with pytest.raises(ApiError) as info:
                    await client.vehicles.record_event(
                        registry, vin, {"type": "odometer", "odometer_km": 20_000}
                    )
                assert (info.value.codespace, info.value.code) == ("vehicles", 7)
                assert info.value.recorded_on_chain and info.value.details["last_km"] == 25_000
                with pytest.raises(ApiError) as info:  # the buyer has not signed
                    await client.vehicles.record_event(
                        oem, vin, {"type": "ownership_transferred", "new_owner": alice.did}
                    )
                assert (info.value.codespace, info.value.code) == ("vehicles", 16)
                moved = await client.vehicles.transfer(oem, alice, vin=vin)
                assert moved.committed
                history = await client.get_history(vin)
                assert history["flags"]["owners_count"] == 2
                assert len(history["flags"]["refused_odometer_rollbacks"]) == 1
                tx = await client.get_tx(moved.hash)
                assert tx.ok and tx.height == moved.height
        finally:
            await node.stop()

    asyncio.run(scenario())


# --- one core, two shells ---------------------------------------------------------------------


def _public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [
        (sdk.Client, sdk.AsyncClient),
        (client_module.Vehicles, async_client_module.AsyncVehicles),
        (client_module.Identity, async_client_module.AsyncIdentity),
        (client_module.Consortium, async_client_module.AsyncConsortium),
        (client_module.Credentials, async_client_module.AsyncCredentials),
    ],
)
def test_every_sync_method_has_an_async_twin_with_the_same_signature(
    sync_cls: type, async_cls: type
) -> None:
    sync_methods = _public_methods(sync_cls)
    async_methods = _public_methods(async_cls)
    renamed = {"close": "aclose"}
    assert {renamed.get(n, n) for n in sync_methods} == set(async_methods)
    for name, method in sync_methods.items():
        twin = async_methods[renamed.get(name, name)]
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), name
        sync_sig, async_sig = inspect.signature(method), inspect.signature(twin)
        assert list(sync_sig.parameters) == list(async_sig.parameters), name
        for param, twin_param in zip(
            sync_sig.parameters.values(), async_sig.parameters.values(), strict=True
        ):
            assert (param.kind, param.default) == (twin_param.kind, twin_param.default), name


def test_the_sdk_modules_do_not_import_each_other_in_a_cycle() -> None:
    import grimp

    graph = grimp.build_graph("amchain")
    sdk_modules = {m for m in graph.modules if m.startswith("amchain.sdk")}
    for module in sdk_modules:
        for imported in graph.find_modules_directly_imported_by(module) & sdk_modules:
            assert not graph.chain_exists(imported=module, importer=imported), (module, imported)


def test_generic_tx_and_query_against_the_real_api(tmp_path: Path) -> None:
    from amchain.api import create_app
    from amchain.node import Keystore, Node, NodeConfig

    node = Node.open(NodeConfig(data_dir=tmp_path / "chain"))
    keystore = Keystore(tmp_path / "chain")
    oem = Signer.for_org(keystore.get("oem").key, "oem")
    registry = Signer.for_org(keystore.get("registry").key, "registry")
    vin = "1HGCM82633A004352"

    async def scenario() -> None:
        await node.start()
        try:
            app = create_app(node)
            transport = httpx.ASGITransport(app=app)
            async with AsyncClient("http://localhost", transport=transport) as client:
                catalog = await client.modules()
                assert list(catalog.modules) == list(INSTALLED_MODULES)
                args = {"vin": vin, "make": "Honda", "model": "Accord", "model_year": 2003}
                with pytest.raises(TxBuildError, match="model_year"):
                    await client.tx(
                        "vehicles", "register_vehicle", {**args, "model_year": "2003"}, signers=oem
                    )
                with pytest.raises(TxBuildError, match="colour"):
                    await client.tx(
                        "vehicles", "register_vehicle", {**args, "colour": "red"}, signers=oem
                    )
                with pytest.raises(TxBuildError, match="no message 'register'"):
                    await client.tx("vehicles", "register", args, signers=oem)
                assert node.head.height == 0  # nothing reached the chain
                done = await client.tx("vehicles", "register_vehicle", args, signers=oem)
                assert done.committed
                event = {"type": "odometer", "odometer_km": 500}
                await client.tx(
                    "vehicles", "record_event", {"vin": vin, "event": event}, signers=[registry]
                )
                history = await client.query("vehicles", "history", vin=vin)
                assert history["event_count"] == 2
                proven = await client.query("vehicles", "history", vin=vin, proof=True)
                assert proven["kind"] == "vehicle-history" and proven["certificate"]
                orgs = await client.query("consortium", "organisations")
                assert "oem" in {o["id"] for o in orgs["organisations"]}
                with pytest.raises(TxBuildError, match="takes vin"):
                    await client.query("vehicles", "history", vim=vin)
                with pytest.raises(ApiError) as info:
                    await client.query("vehicles", "vehicle", vin="1HGCM82633A000000")
                assert info.value.status == 404
            with Client("http://localhost", transport=_SyncASGI(app)) as sync_client:
                assert sync_client.query("vehicles", "vehicle", vin=vin)["owners_count"] == 1
        finally:
            await node.stop()

    asyncio.run(scenario())


class _SyncASGI(httpx.BaseTransport):
    """Requests of a sync client answered by an ASGI app (on a loop of its own)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            response = await transport.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()
