"""The calls of ``client.credentials``, written once as steps (see :mod:`amchain.sdk._core`):
issue (draft on the node, sign here, anchor), revoke, suspend and resume, verify (here, with
what the node knows fetched first), grants, access logs and car snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from amchain.sdk._core import (
    DEFAULT_WAIT_TIMEOUT_MS,
    ClientState,
    Request,
    Step,
    WaitMode,
    decode_object,
    encode_body,
)
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
)
from amchain.sdk.credentials import verify as verify_offline
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
TIMEOUT = DEFAULT_WAIT_TIMEOUT_MS  # how long a helper's transaction waits for its commit


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


def method_of(state: ClientState, signer: Signer) -> Step[str]:
    """The DID URL of the signer's key (resolving its DID when it must)."""
    del state
    try:
        return verification_method(signer)
    except TxBuildError:
        resolved = yield from resolve_did(signer.did, False)
        return verification_method(signer, resolved.get("didDocument", {}))


def prepare(
    state: ClientState, /, credential_type: str, *, issuer: str, vin: str, **fields: Any
) -> Step[dict[str, Any]]:
    """An unsigned credential drafted by the node (fresh id, free status indexes)."""
    del state
    body = {"type": credential_type, "issuer": issuer, "vin": vin, **fields}
    return (yield from _post("/v1/credentials/prepare", body))


def register(
    state: ClientState, signer: Signer, credential: Mapping[str, Any], *, wait: WaitMode = "commit"
) -> Step[SubmitResult]:
    """Anchor a signed credential (``grant_access`` for an access grant)."""
    message, args = _message_for(credential)
    return (yield from send(state, MODULE, message, args, signer, wait, TIMEOUT))


def issue(
    state: ClientState, /, signer: Signer, credential_type: str, *, vin: str, **fields: Any
) -> Step[tuple[dict[str, Any], SubmitResult]]:
    """Draft, sign and anchor a credential; returns (signed credential, result). Drafts
    again when another credential took the random status index meanwhile.

    Raises:
        ApiError: the node refused the draft or the anchoring transaction.
    """
    method = yield from method_of(state, signer)
    for attempt in range(ISSUE_ATTEMPTS):
        draft = yield from prepare(state, credential_type, issuer=signer.did, vin=vin, **fields)
        signed = sign_credential(draft, signer, method=method)
        try:
            result = yield from register(state, signer, signed)
        except ApiError as exc:
            if exc.codespace != MODULE or exc.code != SLOT_TAKEN or attempt + 1 == ISSUE_ATTEMPTS:
                raise
            continue
        return signed, result
    raise AssertionError("unreachable")


def grant_access(
    state: ClientState,
    owner: Signer,
    *,
    vin: str,
    grantee: str,
    scopes: Sequence[str],
    hours: float | None = None,
    valid_from_ms: int | None = None,
    valid_until_ms: int | None = None,
    max_uses: int | None = None,
) -> Step[tuple[dict[str, Any], SubmitResult]]:
    """The vehicle's owner grants ``grantee`` the ``scopes`` for a window."""
    fields = grant_fields(grantee, scopes, valid_from_ms, valid_until_ms, hours, max_uses)
    return (yield from issue(state, owner, ACCESS_GRANT, vin=vin, **fields))


def set_status(
    state: ClientState,
    signer: Signer,
    status_list: str,
    index: int,
    value: bool,
    *,
    wait: WaitMode = "commit",
) -> Step[SubmitResult]:
    """Set bit ``index`` of ``status_list`` (a list of the signer's DID)."""
    args = {"status_list": status_list, "index": index, "value": value}
    return (yield from send(state, MODULE, "set_status", args, signer, wait, TIMEOUT))


def get(state: ClientState, credential_id: str) -> Step[dict[str, Any]]:
    """An anchored credential: its record and the signed document."""
    del state
    return (yield from _get(f"/v1/credentials/{quote(credential_id, safe=':')}"))


def _change_status(
    state: ClientState,
    signer: Signer,
    credential: Mapping[str, Any] | str,
    purpose: str,
    value: bool,
) -> Step[SubmitResult]:
    """Set the ``purpose`` bit of a credential given as a document or as an anchored id."""
    if isinstance(credential, str):
        found = yield from get(state, credential)
        record = found.get("record") or found.get("grant") or found.get("credential") or {}
        target = _status_target(record, purpose)
    else:
        target = _status_target(credential, purpose)
    return (yield from set_status(state, signer, *target, value))


def revoke(
    state: ClientState, signer: Signer, credential: Mapping[str, Any] | str
) -> Step[SubmitResult]:
    """Revoke for good (a signed credential, or the id of an anchored one)."""
    return (yield from _change_status(state, signer, credential, "revocation", True))


def suspend(
    state: ClientState, signer: Signer, credential: Mapping[str, Any] | str
) -> Step[SubmitResult]:
    """Suspend until resumed (a signed credential, or the id of an anchored one)."""
    return (yield from _change_status(state, signer, credential, "suspension", True))


def resume(
    state: ClientState, signer: Signer, credential: Mapping[str, Any] | str
) -> Step[SubmitResult]:
    """Lift a suspension (a signed credential, or the id of an anchored one)."""
    return (yield from _change_status(state, signer, credential, "suspension", False))


def status(state: ClientState, status_list: str, index: int) -> Step[bool]:
    """A status bit.

    Raises:
        ApiError: 404 for a list (or an index) the node does not know.
    """
    del state
    data = yield from _get("/v1/credentials/status", {"list": status_list, "index": index})
    return bool(data["value"])


def read_status(state: ClientState, status_list: str, index: int) -> Step[bool | None]:
    """A status bit, or None where the node knows no such list or index."""
    try:
        return (yield from status(state, status_list, index))
    except ApiError as exc:
        if exc.status in (400, 404):
            return None
        raise


def resolve_document(state: ClientState, did: str) -> Step[dict[str, Any] | None]:
    """A DID document, or None for a DID the node does not know."""
    del state
    try:
        document = (yield from resolve_did(did, False)).get("didDocument")
    except ApiError as exc:
        if exc.status in (400, 404):
            return None
        raise
    return document if isinstance(document, dict) else None


def verify(state: ClientState, credential: Mapping[str, Any]) -> Step[VerificationReport]:
    """Verify here, with the ``did:amc`` documents and status bits it names fetched from the
    node first."""
    dids: list[str] = []
    issuer = credential_issuer(credential)
    proof = credential.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    for did in (issuer, method.split("#", 1)[0] if isinstance(method, str) else None):
        if isinstance(did, str) and did.startswith("did:amc:") and did not in dids:
            dids.append(did)
    documents: dict[str, dict[str, Any] | None] = {}
    for did in dids:
        documents[did] = yield from resolve_document(state, did)
    bits: dict[tuple[str, int], bool | None] = {}
    try:
        targets = list(status_refs(credential).values())
    except VcError:
        targets = []  # the verification reports the malformed entry
    for url, index in targets:
        bits[(url, index)] = yield from read_status(state, url, index)
    return verify_offline(
        credential,
        resolve=lambda did: documents.get(did),
        read_status=lambda url, index: bits.get((url, index)),
    )


def verify_on_node(state: ClientState, credential: Mapping[str, Any]) -> Step[dict[str, Any]]:
    """Ask the node to verify (``POST /v1/credentials/verify``)."""
    del state
    return (yield from _post("/v1/credentials/verify", dict(credential)))


def grants(state: ClientState, vin: str) -> Step[dict[str, Any]]:
    """A vehicle's access grants with their standing."""
    del state
    return (yield from _get(f"/v1/vehicles/{quote(vin, safe='')}/grants"))


def access_log(state: ClientState, vin: str) -> Step[dict[str, Any]]:
    """A vehicle's hash-chained access log."""
    del state
    return (yield from _get(f"/v1/vehicles/{quote(vin, safe='')}/access-log"))


def snapshot(state: ClientState, vin: str) -> Step[dict[str, Any]]:
    """What the car caches: state entries (and their proofs) at one certified height."""
    del state
    return (yield from _get(f"/v1/vehicles/{quote(vin, safe='')}/agent-snapshot"))
