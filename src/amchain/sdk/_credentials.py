"""``client.credentials``: issue, anchor, revoke, verify; grants, access logs, car snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from amchain.sdk._base import WaitMode, decode_object
from amchain.sdk._builder import build_tx
from amchain.sdk._errors import ApiError, TxBuildError
from amchain.sdk._models import SubmitResult
from amchain.sdk._signer import Signer
from amchain.sdk.credentials import (
    now_ms,
    sign_credential,
    status_refs,
    verification_method,
    verify,
)
from amchain.vc import ACCESS_GRANT, VerificationReport, format_datetime

if TYPE_CHECKING:
    from amchain.sdk._async_client import AsyncClient
    from amchain.sdk._client import Client

__all__ = ["AsyncCredentials", "Credentials"]

MODULE = "credentials"
SLOT_TAKEN = 9  # credentials/SLOT_TAKEN: draft again with another random index
ISSUE_ATTEMPTS = 5
HOUR_MS = 3_600_000


def _grant_fields(
    grantee: str,
    scopes: Sequence[str],
    valid_from_ms: int | None,
    valid_until_ms: int | None,
    hours: float | None,
    max_uses: int | None,
) -> dict[str, Any]:
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


class Credentials:
    """Verifiable credentials through a :class:`~amchain.sdk.Client`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    # -- plumbing ------------------------------------------------------------------------
    def _post(self, path: str, body: Any) -> dict[str, Any]:
        return decode_object(self._client._request("POST", path, json=body))

    def _send(
        self, signer: Signer, message: str, args: dict[str, Any], wait: WaitMode
    ) -> SubmitResult:
        tx = build_tx(
            chain_id=self._client.chain_id(),
            signers=signer,
            module=MODULE,
            message=message,
            args=args,
        )
        result = self._client.submit(tx, wait=wait)
        assert isinstance(result, SubmitResult)
        return result

    def method_of(self, signer: Signer) -> str:
        """The DID URL of the signer's key (resolving its DID when it must)."""
        try:
            return verification_method(signer)
        except TxBuildError:
            document = self._client.resolve_did(signer.did).get("didDocument", {})
            return verification_method(signer, document)

    # -- issue ---------------------------------------------------------------------------
    def prepare(
        self, credential_type: str, *, issuer: str, vin: str, **fields: Any
    ) -> dict[str, Any]:
        """An unsigned credential drafted by the node (fresh id, free status indexes)."""
        body = {"type": credential_type, "issuer": issuer, "vin": vin, **fields}
        return self._post("/v1/credentials/prepare", body)

    def register(
        self, signer: Signer, credential: Mapping[str, Any], *, wait: WaitMode = "commit"
    ) -> SubmitResult:
        """Anchor a signed credential (``grant_access`` for an access grant)."""
        message, args = _message_for(credential)
        return self._send(signer, message, args, wait)

    def issue(
        self, signer: Signer, credential_type: str, *, vin: str, **fields: Any
    ) -> tuple[dict[str, Any], SubmitResult]:
        """Draft, sign and anchor a credential; returns (signed credential, result).

        Raises:
            ApiError: the node refused the draft or the anchoring transaction.
        """
        method = self.method_of(signer)
        for attempt in range(ISSUE_ATTEMPTS):
            draft = self.prepare(credential_type, issuer=signer.did, vin=vin, **fields)
            signed = sign_credential(draft, signer, method=method)
            try:
                return signed, self.register(signer, signed)
            except ApiError as exc:
                if (
                    exc.codespace != MODULE
                    or exc.code != SLOT_TAKEN
                    or attempt + 1 == ISSUE_ATTEMPTS
                ):
                    raise
        raise AssertionError("unreachable")

    def grant_access(
        self,
        owner: Signer,
        *,
        vin: str,
        grantee: str,
        scopes: Sequence[str],
        hours: float | None = None,
        valid_from_ms: int | None = None,
        valid_until_ms: int | None = None,
        max_uses: int | None = None,
    ) -> tuple[dict[str, Any], SubmitResult]:
        """The vehicle's owner grants ``grantee`` the ``scopes`` for a window."""
        fields = _grant_fields(grantee, scopes, valid_from_ms, valid_until_ms, hours, max_uses)
        return self.issue(owner, ACCESS_GRANT, vin=vin, **fields)

    # -- status --------------------------------------------------------------------------
    def set_status(
        self,
        signer: Signer,
        status_list: str,
        index: int,
        value: bool,
        *,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        args = {"status_list": status_list, "index": index, "value": value}
        return self._send(signer, "set_status", args, wait)

    def _target(self, credential: Mapping[str, Any] | str, purpose: str) -> tuple[str, int]:
        if isinstance(credential, str):
            found = self.get(credential)
            record = found.get("record") or found.get("grant") or found.get("credential") or {}
            return _status_target(record, purpose)
        return _status_target(credential, purpose)

    def revoke(self, signer: Signer, credential: Mapping[str, Any] | str) -> SubmitResult:
        """Revoke for good (a signed credential, or the id of an anchored one)."""
        return self.set_status(signer, *self._target(credential, "revocation"), True)

    def suspend(self, signer: Signer, credential: Mapping[str, Any] | str) -> SubmitResult:
        return self.set_status(signer, *self._target(credential, "suspension"), True)

    def resume(self, signer: Signer, credential: Mapping[str, Any] | str) -> SubmitResult:
        return self.set_status(signer, *self._target(credential, "suspension"), False)

    def status(self, status_list: str, index: int) -> bool:
        data = self._client._get(
            "/v1/credentials/status", params={"list": status_list, "index": index}
        )
        return bool(data["value"])

    # -- verify --------------------------------------------------------------------------
    def resolve_document(self, did: str) -> dict[str, Any] | None:
        try:
            document = self._client.resolve_did(did).get("didDocument")
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return document if isinstance(document, dict) else None

    def read_status(self, status_list: str, index: int) -> bool | None:
        try:
            return self.status(status_list, index)
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise

    def verify(self, credential: Mapping[str, Any]) -> VerificationReport:
        """Verify here, resolving ``did:amc`` DIDs and status bits through the node."""
        return verify(credential, resolve=self.resolve_document, read_status=self.read_status)

    def verify_on_node(self, credential: Mapping[str, Any]) -> dict[str, Any]:
        """Ask the node to verify (``POST /v1/credentials/verify``)."""
        return self._post("/v1/credentials/verify", dict(credential))

    # -- reads ---------------------------------------------------------------------------
    def get(self, credential_id: str) -> dict[str, Any]:
        return self._client._get(f"/v1/credentials/{quote(credential_id, safe=':')}")

    def grants(self, vin: str) -> dict[str, Any]:
        return self._client._get(f"/v1/vehicles/{quote(vin, safe='')}/grants")

    def access_log(self, vin: str) -> dict[str, Any]:
        return self._client._get(f"/v1/vehicles/{quote(vin, safe='')}/access-log")

    def snapshot(self, vin: str) -> dict[str, Any]:
        """What the car caches: state entries (and their proofs) at one certified height."""
        return self._client._get(f"/v1/vehicles/{quote(vin, safe='')}/agent-snapshot")


class AsyncCredentials:
    """Async twin of :class:`Credentials`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _post(self, path: str, body: Any) -> dict[str, Any]:
        return decode_object(await self._client._request("POST", path, json=body))

    async def _send(
        self, signer: Signer, message: str, args: dict[str, Any], wait: WaitMode
    ) -> SubmitResult:
        tx = build_tx(
            chain_id=await self._client.chain_id(),
            signers=signer,
            module=MODULE,
            message=message,
            args=args,
        )
        result = await self._client.submit(tx, wait=wait)
        assert isinstance(result, SubmitResult)
        return result

    async def method_of(self, signer: Signer) -> str:
        try:
            return verification_method(signer)
        except TxBuildError:
            resolved = await self._client.resolve_did(signer.did)
            return verification_method(signer, resolved.get("didDocument", {}))

    async def prepare(
        self, credential_type: str, *, issuer: str, vin: str, **fields: Any
    ) -> dict[str, Any]:
        body = {"type": credential_type, "issuer": issuer, "vin": vin, **fields}
        return await self._post("/v1/credentials/prepare", body)

    async def register(
        self, signer: Signer, credential: Mapping[str, Any], *, wait: WaitMode = "commit"
    ) -> SubmitResult:
        message, args = _message_for(credential)
        return await self._send(signer, message, args, wait)

    async def issue(
        self, signer: Signer, credential_type: str, *, vin: str, **fields: Any
    ) -> tuple[dict[str, Any], SubmitResult]:
        method = await self.method_of(signer)
        for attempt in range(ISSUE_ATTEMPTS):
            draft = await self.prepare(credential_type, issuer=signer.did, vin=vin, **fields)
            signed = sign_credential(draft, signer, method=method)
            try:
                return signed, await self.register(signer, signed)
            except ApiError as exc:
                if (
                    exc.codespace != MODULE
                    or exc.code != SLOT_TAKEN
                    or attempt + 1 == ISSUE_ATTEMPTS
                ):
                    raise
        raise AssertionError("unreachable")

    async def grant_access(
        self,
        owner: Signer,
        *,
        vin: str,
        grantee: str,
        scopes: Sequence[str],
        hours: float | None = None,
        valid_from_ms: int | None = None,
        valid_until_ms: int | None = None,
        max_uses: int | None = None,
    ) -> tuple[dict[str, Any], SubmitResult]:
        fields = _grant_fields(grantee, scopes, valid_from_ms, valid_until_ms, hours, max_uses)
        return await self.issue(owner, ACCESS_GRANT, vin=vin, **fields)

    async def set_status(
        self,
        signer: Signer,
        status_list: str,
        index: int,
        value: bool,
        *,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        args = {"status_list": status_list, "index": index, "value": value}
        return await self._send(signer, "set_status", args, wait)

    async def revoke(self, signer: Signer, credential: Mapping[str, Any]) -> SubmitResult:
        return await self.set_status(signer, *_status_target(credential, "revocation"), True)

    async def suspend(self, signer: Signer, credential: Mapping[str, Any]) -> SubmitResult:
        return await self.set_status(signer, *_status_target(credential, "suspension"), True)

    async def resume(self, signer: Signer, credential: Mapping[str, Any]) -> SubmitResult:
        return await self.set_status(signer, *_status_target(credential, "suspension"), False)

    async def grants(self, vin: str) -> dict[str, Any]:
        return await self._client._get(f"/v1/vehicles/{quote(vin, safe='')}/grants")

    async def access_log(self, vin: str) -> dict[str, Any]:
        return await self._client._get(f"/v1/vehicles/{quote(vin, safe='')}/access-log")

    async def snapshot(self, vin: str) -> dict[str, Any]:
        return await self._client._get(f"/v1/vehicles/{quote(vin, safe='')}/agent-snapshot")
