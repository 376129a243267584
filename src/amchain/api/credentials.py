"""REST endpoints of verifiable credentials, status lists, access grants and the car snapshot.

- ``POST /v1/credentials/prepare`` — an unsigned credential drafted from chain state (fresh
  id, free random status indexes); the issuer signs it locally and anchors it with a
  ``credentials.register_credential`` (or ``grant_access``) transaction.
- ``POST /v1/credentials/verify`` — verify a credential against this chain (DIDs, status).
- ``GET /v1/credentials/status`` and ``/status-lists/{url}`` — one status bit, or the whole
  ``BitstringStatusListCredential``.
- ``GET /v1/credentials/{id}`` — an anchored credential: its record and the signed document
  from the anchoring transaction.
- ``GET /v1/vehicles/{vin}/grants``, ``/access-log``, ``/agent-snapshot`` — what an owner and
  the car read.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import msgspec
from fastapi import APIRouter, Body, Query

from amchain.api.problems import ApiProblem
from amchain.api.proofs import (
    ProofUnavailable,
    certificate_at,
    prove_entry,
    resolve_height,
    state_bundle,
)
from amchain.codec import to_builtins
from amchain.ledger import StateReader
from amchain.modules import credentials, identity, vehicles
from amchain.modules.credentials.types import chunk_key, slot_key
from amchain.node import Node
from amchain.vc import (
    ACCESS_GRANT,
    ACCESS_SCOPES,
    BIRTH_CERTIFICATE,
    CHUNK_BITS,
    INSURANCE_COVERAGE,
    SCHEMAS,
    VEHICLE_REGISTRATION,
    access_grant,
    birth_certificate,
    chunk_position,
    format_datetime,
    insurance_coverage,
    list_url,
    status_entry,
    vehicle_registration,
    verify_credential,
)

AGENT_SNAPSHOT_FORMAT = "amchain-agent-snapshot/v1"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _not_found(what: str, detail: str) -> ApiProblem:
    return ApiProblem(404, "api", 404, f"{what} not found", detail)


def _bad(detail: str) -> ApiProblem:
    return ApiProblem(400, "api", 1, "Bad request parameter", detail)


def document_loader(state: StateReader) -> Any:
    """A DID document loader over this node's state (``did:amc``)."""

    def load(did: str) -> Any:
        try:
            resolved = identity.resolve_did(state, did)
        except identity.IdentityError:
            return None
        return None if resolved is None else resolved["didDocument"]

    return load


def status_reader(state: StateReader) -> Any:
    def read(url: str, index: int) -> bool | None:
        return credentials.read_status(state, url, index)

    return read


def free_index(state: StateReader, issuer: str) -> int:
    """A random index free in both of the issuer's default lists (herd privacy)."""
    size = 131_072
    for _ in range(64):
        index = secrets.randbelow(size)
        if all(
            credentials.read_status(state, list_url(issuer, name), index) is not True
            and not _slot_taken(state, issuer, name, index)
            for name in ("revocation", "suspension")
        ):
            return index
    raise ApiProblem(503, "api", 503, "No free status index", "retry in a moment")


def _slot_taken(state: StateReader, issuer: str, name: str, index: int) -> bool:
    return state.get(slot_key(issuer, name, index)) is not None


def default_status(issuer: str, index: int) -> list[dict[str, Any]]:
    return [
        status_entry(list_url(issuer, "revocation"), index, "revocation"),
        status_entry(list_url(issuer, "suspension"), index, "suspension"),
    ]


def credentials_router(node: Node) -> APIRouter:
    """The credentials endpoints of ``node``."""
    router = APIRouter()

    def vehicle_or_404(state: StateReader, vin: str) -> vehicles.VehicleRecord:
        record = vehicles.get_vehicle(state, vin.upper())
        if record is None:
            raise _not_found("Vehicle", f"no vehicle with VIN {vin} is registered")
        return record

    # -- issue (prepare) and verify ------------------------------------------------------
    @router.post(
        "/v1/credentials/prepare",
        tags=["credentials"],
        summary="Draft an unsigned credential from chain state, for the issuer to sign",
    )
    def prepare(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        state = node.store.state()
        kind = body.get("type")
        issuer = body.get("issuer")
        vin = str(body.get("vin", "")).upper()
        if not isinstance(issuer, str) or not issuer.startswith("did:"):
            raise _bad("issuer must be the issuing DID")
        record = vehicle_or_404(state, vin)
        now = _now_ms()
        common: dict[str, Any] = {
            "credential_id": f"urn:uuid:{uuid.uuid4()}",
            "status": default_status(issuer, free_index(state, issuer)),
        }
        valid_from = str(body.get("valid_from") or format_datetime(now - now % 1000))
        try:
            if kind == BIRTH_CERTIFICATE:
                return birth_certificate(
                    issuer=issuer,
                    vin=record.vin,
                    make=record.make,
                    model=record.model,
                    model_year=record.model_year,
                    plant=record.plant,
                    battery_id=record.battery_id,
                    valid_from=valid_from,
                    **common,
                )
            if kind == VEHICLE_REGISTRATION:
                return vehicle_registration(
                    issuer=issuer,
                    vin=record.vin,
                    region=str(body["region"]),
                    registration_hash=str(body["registration_hash"]),
                    plate_hash=body.get("plate_hash"),
                    valid_from=valid_from,
                    valid_until=body.get("valid_until"),
                    **common,
                )
            if kind == INSURANCE_COVERAGE:
                return insurance_coverage(
                    issuer=issuer,
                    vin=record.vin,
                    policy_hash=str(body["policy_hash"]),
                    coverage=list(body.get("coverage") or ["liability"]),
                    valid_from=valid_from,
                    valid_until=str(body["valid_until"]),
                    **common,
                )
            if kind == ACCESS_GRANT:
                scopes = list(body.get("scopes") or [])
                if not scopes or any(s not in ACCESS_SCOPES for s in scopes):
                    raise _bad(f"scopes must be some of {', '.join(ACCESS_SCOPES)}")
                return access_grant(
                    owner=issuer,
                    vin=record.vin,
                    owner_epoch=len(record.owners),
                    grantee=str(body["grantee"]),
                    scopes=scopes,
                    valid_from=valid_from,
                    valid_until=str(body["valid_until"]),
                    max_uses=body.get("max_uses"),
                    **common,
                )
        except KeyError as exc:
            raise _bad(f"{kind} needs {exc.args[0]}") from None
        raise _bad(
            f"type must be one of {BIRTH_CERTIFICATE}, {VEHICLE_REGISTRATION}, "
            f"{INSURANCE_COVERAGE}, {ACCESS_GRANT}"
        )

    @router.post(
        "/v1/credentials/verify",
        tags=["credentials"],
        summary="Verify a credential against this chain: proof, issuer, window, schema, status",
    )
    def verify(credential: dict[str, Any] = Body(...)) -> dict[str, Any]:
        state = node.store.state()
        report = verify_credential(
            credential,
            load=document_loader(state),
            read_status=status_reader(state),
            now_ms=_now_ms(),
        )
        result = report.to_json()
        result["as_of_height"] = node.head.height
        return result

    # -- status --------------------------------------------------------------------------
    @router.get(
        "/v1/credentials/status",
        tags=["credentials"],
        summary="One status bit, with the chunk that holds it",
    )
    def status(
        status_list: str = Query(..., alias="list", description="status list URL"),
        index: int = Query(..., ge=0),
        proof: bool = Query(False, description="add a proof bundle of the chunk"),
    ) -> dict[str, Any]:
        state = node.store.state()
        header = credentials.get_status_list(state, status_list)
        if header is None:
            raise _not_found("Status list", f"there is no status list {status_list}")
        if index >= header.size:
            raise _bad(f"index must be below {header.size}")
        value = credentials.read_status(state, status_list, index)
        chunk, offset = chunk_position(index)
        key = chunk_key(header.issuer, header.name, chunk)
        raw = state.get(key)
        body: dict[str, Any] = {
            "status_list": status_list,
            "index": index,
            "purpose": header.purpose,
            "value": bool(value),
            "chunk": {
                "key": key,
                "index": chunk,
                "offset": offset,
                "bits": CHUNK_BITS,
                "value": None if raw is None else msgspec.json.decode(raw),
            },
            "as_of_height": node.head.height,
        }
        if proof:
            try:
                body["proof"] = state_bundle(node, key, None)
            except ProofUnavailable as exc:
                raise ApiProblem(404, "proof", exc.code, exc.title, exc.detail) from None
        return body

    @router.get(
        "/v1/credentials/status-lists/{url:path}",
        tags=["credentials"],
        summary="A status list as a BitstringStatusListCredential",
    )
    def status_list(url: str) -> dict[str, Any]:
        state = node.store.state()
        document = credentials.status_list_document(state, url, node.head.time_ms)
        if document is None:
            raise _not_found("Status list", f"there is no status list {url}")
        return document

    @router.get(
        "/v1/credentials/schemas",
        tags=["credentials"],
        summary="JSON Schemas of the platform's credential types",
    )
    def schemas() -> dict[str, Any]:
        return {"schemas": dict(SCHEMAS)}

    @router.get(
        "/v1/credentials/{credential_id}",
        tags=["credentials"],
        summary="An anchored credential: record and signed document",
    )
    def get_credential(credential_id: str) -> dict[str, Any]:
        state = node.store.state()
        record = credentials.get_credential(state, credential_id)
        document: dict[str, Any] | None = None
        result: dict[str, Any]
        if record is not None:
            result = {"record": to_builtins(record)}
            stored = node.store.get_tx(bytes.fromhex(record.tx_hash))
        else:
            grants = node.store.indexed_txs("credential", credential_id, limit=10)
            stored = next((t for t in grants if t.receipt.ok), None)
            if stored is None:
                raise _not_found("Credential", f"{credential_id} is not anchored on this chain")
            result = {"record": None}
        if stored is not None:
            args = msgspec.json.decode(stored.tx)["body"]["args"]
            document = args.get("credential") or args.get("grant")
            if document is not None and result["record"] is None:
                vin = document.get("credentialSubject", {}).get("vin", "")
                grant = credentials.get_grant(state, vin, credential_id)
                result["grant"] = (
                    None if grant is None else credentials.grant_to_json(state, grant, _now_ms())
                )
        result["credential"] = document
        return result

    # -- vehicles: grants, access log, the car's snapshot -------------------------------------
    @router.get(
        "/v1/vehicles/{vin}/grants",
        tags=["credentials"],
        summary="A vehicle's access grants with their standing",
    )
    def grants(vin: str) -> dict[str, Any]:
        state = node.store.state()
        record = vehicle_or_404(state, vin)
        now = _now_ms()
        return {
            "vin": record.vin,
            "owner": record.owner,
            "owner_epoch": len(record.owners),
            "grants": [
                credentials.grant_to_json(state, g, now)
                for g in credentials.list_grants(state, record.vin)
            ],
        }

    @router.get(
        "/v1/vehicles/{vin}/access-log",
        tags=["credentials"],
        summary="The vehicle's logged access decisions, hash-chained",
    )
    def access_log(
        vin: str, start_seq: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=10_000)
    ) -> dict[str, Any]:
        state = node.store.state()
        record = vehicle_or_404(state, vin)
        head = credentials.get_access_log_head(state, record.vin)
        return {
            "vin": record.vin,
            "count": 0 if head is None else head.count,
            "head": None if head is None else head.head,
            "entries": [
                to_builtins(e)
                for e in credentials.get_access_log(
                    state, record.vin, start_seq=start_seq, limit=limit
                )
            ],
        }

    @router.get(
        "/v1/vehicles/{vin}/agent-snapshot",
        tags=["credentials"],
        summary="The proven state entries a vehicle's agent needs to decide offline",
    )
    def agent_snapshot(vin: str) -> dict[str, Any]:
        try:
            height, root = resolve_height(node, None)
        except ProofUnavailable as exc:
            raise ApiProblem(404, "proof", exc.code, exc.title, exc.detail) from None
        state = node.store.state()
        record = vehicle_or_404(state, vin)
        header = node.store.get_header(height)
        assert header is not None
        # The key selection reads the latest state; every value and proof is read from the
        # state tree's version at ``height``, so the entries are consistent with each other.
        keys = credentials.snapshot_keys(state, record.vin, header.time_ms)
        entries = [prove_entry(node, root, key)[1] for key in keys]
        return {
            "format": AGENT_SNAPSHOT_FORMAT,
            "vin": record.vin,
            "chain_id": node.chain_id,
            "height": height,
            "header": to_builtins(header),
            "certificate": to_builtins(certificate_at(node, height)),
            "entries": [to_builtins(e) for e in entries],
        }

    return router
