"""The calls of ``client.credentials``, written once as steps (see :mod:`amchain.sdk._core`):
issue (draft on the node, sign here, anchor), revoke, suspend and resume, verify (here, with
what the node knows fetched first), grants, access logs and car snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from amchain.sdk._core import ClientState, Request, Step, WaitMode, decode_object, encode_body
from amchain.sdk._core import get_object as _get
from amchain.sdk._errors import ApiError, TxBuildError
from amchain.sdk._models import SubmitResult
from amchain.sdk._signer import Signer
from amchain.sdk._steps import resolve_did, send
from amchain.sdk.credentials import (
    now_ms,
    sign_credential,
    status_refs,
    verification_method,
    verify,
)
from amchain.vc import (
    ACCESS_GRANT,
    VcError,
    VerificationReport,
    credential_issuer,
    format_datetime,
)

__all__ = ["grant_fields"]

MODULE = "credentials"
SLOT_TAKEN = 9  # credentials/SLOT_TAKEN: draft again with another random index
ISSUE_ATTEMPTS = 5
HOUR_MS = 3_600_000


def grant_fields(
    grantee: str,
    scopes: Sequence[str],
    valid_from_ms: int | None,
    valid_until_ms: int | None,
    hours: float | None,
    max_uses: int | None,
) -> dict[str, Any]:
    """The draft fields of an access grant.

    Raises:
        TxBuildError: neither ``valid_until_ms`` nor ``hours``.
    """
    start = now_ms() if valid_from_ms is None else valid_from_ms
    start -= start % 1000
    if valid_until_ms is None:
        if hours is None:
            raise TxBuildError("give the grant's end: valid_until_ms or hours")
        valid_until_ms = start + int(hours * HOUR_MS)
    fields: dict[str, Any] = {
        "grantee": grantee,
        "scopes": list(scopes),
        "valid_from": format_datetime(start),
        "valid_until": format_datetime(valid_until_ms - valid_until_ms % 1000),
    }
    if max_uses is not None:
        fields["max_uses"] = max_uses
    return fields


def _status_target(record: Mapping[str, Any], purpose: str) -> tuple[str, int]:
    """(list url, index) of a credential given as a signed document or as its chain record."""
    if "credentialStatus" in record:
        refs = status_refs(record)
        if purpose not in refs:
            raise TxBuildError(f"the credential has no {purpose} status entry")
        return refs[purpose]
    for ref in record.get("status", []):
        if ref.get("purpose") == purpose:
            return str(ref["status_list"]), int(ref["index"])
    raise TxBuildError(f"the credential has no {purpose} status entry")


def _message_for(credential: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    types = credential.get("type") or []
    if ACCESS_GRANT in types:
        return "grant_access", {"grant": dict(credential)}
    return "register_credential", {"credential": dict(credential)}


def _post(path: str, body: Any) -> Step[dict[str, Any]]:
    response = yield Request("POST", path, {}, encode_body(body))
    return decode_object(response)


def method_of(signer: Signer) -> Step[str]:
    """The DID URL of the signer's key (resolving its DID when it must)."""
    try:
        return verification_method(signer)
    except TxBuildError:
        resolved = yield from resolve_did(signer.did, False)
        return verification_method(signer, resolved.get("didDocument", {}))


def prepare(
    credential_type: str, issuer: str, vin: str, fields: Mapping[str, Any]
) -> Step[dict[str, Any]]:
    """An unsigned credential drafted by the node (fresh id, free status indexes)."""
    body = {"type": credential_type, "issuer": issuer, "vin": vin, **fields}
    return (yield from _post("/v1/credentials/prepare", body))


def register(
    state: ClientState,
    signer: Signer,
    credential: Mapping[str, Any],
    wait: WaitMode,
    timeout_ms: int,
) -> Step[SubmitResult]:
    """Anchor a signed credential (``grant_access`` for an access grant)."""
    message, args = _message_for(credential)
    return (yield from send(state, MODULE, message, args, signer, wait, timeout_ms))


def issue(
    state: ClientState,
    signer: Signer,
    credential_type: str,
    vin: str,
    fields: Mapping[str, Any],
    timeout_ms: int,
) -> Step[tuple[dict[str, Any], SubmitResult]]:
    """Draft, sign and anchor; drafts again when another credential took the random index.

    Raises:
        ApiError: the node refused the draft or the anchoring transaction.
    """
    method = yield from method_of(signer)
    for attempt in range(ISSUE_ATTEMPTS):
        draft = yield from prepare(credential_type, signer.did, vin, fields)
        signed = sign_credential(draft, signer, method=method)
        try:
            result = yield from register(state, signer, signed, "commit", timeout_ms)
        except ApiError as exc:
            if exc.codespace != MODULE or exc.code != SLOT_TAKEN or attempt + 1 == ISSUE_ATTEMPTS:
                raise
            continue
        return signed, result
    raise AssertionError("unreachable")


def set_status(
    state: ClientState,
    signer: Signer,
    status_list: str,
    index: int,
    value: bool,
    wait: WaitMode,
    timeout_ms: int,
) -> Step[SubmitResult]:
    args = {"status_list": status_list, "index": index, "value": value}
    return (yield from send(state, MODULE, "set_status", args, signer, wait, timeout_ms))


def get(credential_id: str) -> Step[dict[str, Any]]:
    return (yield from _get(f"/v1/credentials/{quote(credential_id, safe=':')}"))


def change_status(
    state: ClientState,
    signer: Signer,
    credential: Mapping[str, Any] | str,
    purpose: str,
    value: bool,
    timeout_ms: int,
) -> Step[SubmitResult]:
    """Set the ``purpose`` bit of a credential given as a document or as an anchored id."""
    if isinstance(credential, str):
        found = yield from get(credential)
        record = found.get("record") or found.get("grant") or found.get("credential") or {}
        target = _status_target(record, purpose)
    else:
        target = _status_target(credential, purpose)
    return (yield from set_status(state, signer, *target, value, "commit", timeout_ms))


def status(status_list: str, index: int) -> Step[bool]:
    data = yield from _get("/v1/credentials/status", {"list": status_list, "index": index})
    return bool(data["value"])


def read_status(status_list: str, index: int) -> Step[bool | None]:
    """The bit, or None where the node knows no such list or index."""
    try:
        return (yield from status(status_list, index))
    except ApiError as exc:
        if exc.status in (400, 404):
            return None
        raise


def resolve_document(did: str) -> Step[dict[str, Any] | None]:
    """The DID document, or None for a DID the node does not know."""
    try:
        document = (yield from resolve_did(did, False)).get("didDocument")
    except ApiError as exc:
        if exc.status in (400, 404):
            return None
        raise
    return document if isinstance(document, dict) else None


def verify_here(credential: Mapping[str, Any]) -> Step[VerificationReport]:
    """Verify here, with the DID documents and status bits it names fetched from the node."""
    dids: list[str] = []
    issuer = credential_issuer(credential)
    proof = credential.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    for did in (issuer, method.split("#", 1)[0] if isinstance(method, str) else None):
        if isinstance(did, str) and did.startswith("did:amc:") and did not in dids:
            dids.append(did)
    documents: dict[str, dict[str, Any] | None] = {}
    for did in dids:
        documents[did] = yield from resolve_document(did)
    bits: dict[tuple[str, int], bool | None] = {}
    try:
        targets = list(status_refs(credential).values())
    except VcError:
        targets = []  # the verification reports the malformed entry
    for url, index in targets:
        bits[(url, index)] = yield from read_status(url, index)
    return verify(
        credential,
        resolve=lambda did: documents.get(did),
        read_status=lambda url, index: bits.get((url, index)),
    )


def verify_on_node(credential: Mapping[str, Any]) -> Step[dict[str, Any]]:
    """Ask the node to verify (``POST /v1/credentials/verify``)."""
    return (yield from _post("/v1/credentials/verify", dict(credential)))


def of_vehicle(vin: str, what: str) -> Step[dict[str, Any]]:
    """``grants``, ``access-log`` or ``agent-snapshot`` of a vehicle."""
    return (yield from _get(f"/v1/vehicles/{quote(vin, safe='')}/{what}"))
