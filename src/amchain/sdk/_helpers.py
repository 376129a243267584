"""Typed helpers per module: ``client.vehicles``, ``client.identity``, ``client.consortium``.

Each helper builds the message's arguments, signs with the given signers, submits with
``wait="commit"`` by default and raises :class:`~amchain.sdk.ApiError` on refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from amchain.crypto import KeyPair
from amchain.ledger import Transaction
from amchain.modules.vehicles.types import EVENT_TYPES
from amchain.sdk._base import WaitMode
from amchain.sdk._builder import build_tx
from amchain.sdk._errors import TxBuildError
from amchain.sdk._models import SubmitResult
from amchain.sdk._signer import Signer, did_for_key

if TYPE_CHECKING:
    from amchain.sdk._async_client import AsyncClient
    from amchain.sdk._client import Client

SignerLike = Signer | KeyPair
Signers = SignerLike | Sequence[SignerLike]


def _signer_list(signers: Signers) -> list[SignerLike]:
    if isinstance(signers, Signer | KeyPair):
        return [signers]
    return list(signers)


def _did_of(signer: SignerLike) -> str:
    return signer.did if isinstance(signer, Signer) else did_for_key(signer.public_key)


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def register_vehicle_args(
    *,
    vin: str,
    make: str,
    model: str,
    model_year: int,
    owner: str | None,
    vehicle_key: bytes | str | None,
    plant: str | None,
    battery_id: str | None,
) -> dict[str, Any]:
    key = vehicle_key.hex() if isinstance(vehicle_key, bytes) else vehicle_key
    return _drop_none(
        vin=vin,
        make=make,
        model=model,
        model_year=model_year,
        owner=owner,
        vehicle_key=key,
        plant=plant,
        battery_id=battery_id,
    )


def record_event_args(vin: str, event: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(event, dict) or "type" not in event:
        raise TxBuildError('an event is a dict with a "type" field, e.g. {"type": "odometer", ...}')
    if event["type"] not in EVENT_TYPES:
        raise TxBuildError(f"unknown event type {event['type']!r}; valid: {', '.join(EVENT_TYPES)}")
    return {"vin": vin, "event": event}


def transfer_event(
    new_owner: str, odometer_km: int | None, contract_hash: str | None
) -> dict[str, Any]:
    return {
        "type": "ownership_transferred",
        **_drop_none(new_owner=new_owner, odometer_km=odometer_km, contract_hash=contract_hash),
    }


class _Helper:
    module = ""

    def __init__(self, client: Client | AsyncClient) -> None:
        self._client = client

    def _tx(
        self, chain_id: str, signers: Signers, message: str, args: dict[str, Any]
    ) -> Transaction:
        return build_tx(
            chain_id=chain_id,
            signers=_signer_list(signers),
            module=self.module,
            message=message,
            args=args,
        )


# --- sync ---------------------------------------------------------------------------------


class _SyncHelper(_Helper):
    _client: Client

    def _send(
        self, signers: Signers, message: str, args: dict[str, Any], wait: WaitMode
    ) -> SubmitResult:
        tx = self._tx(self._client.chain_id(), signers, message, args)
        result = self._client.submit(tx, wait=wait)
        assert isinstance(result, SubmitResult)
        return result


class Vehicles(_SyncHelper):
    """``vehicles`` module: register vehicles, record lifecycle events, read histories."""

    module = "vehicles"

    def register(
        self,
        signer: SignerLike,
        *,
        vin: str,
        make: str,
        model: str,
        model_year: int,
        owner: str | None = None,
        vehicle_key: bytes | str | None = None,
        plant: str | None = None,
        battery_id: str | None = None,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        args = register_vehicle_args(
            vin=vin,
            make=make,
            model=model,
            model_year=model_year,
            owner=owner,
            vehicle_key=vehicle_key,
            plant=plant,
            battery_id=battery_id,
        )
        return self._send(signer, "register_vehicle", args, wait)

    def record_event(
        self, signers: Signers, vin: str, event: dict[str, Any], *, wait: WaitMode = "commit"
    ) -> SubmitResult:
        return self._send(signers, "record_event", record_event_args(vin, event), wait)

    def transfer(
        self,
        seller: SignerLike,
        buyer: SignerLike,
        *,
        vin: str,
        new_owner: str | None = None,
        odometer_km: int | None = None,
        contract_hash: str | None = None,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        """Private ownership transfer: the current owner and the new owner both sign."""
        event = transfer_event(new_owner or _did_of(buyer), odometer_km, contract_hash)
        return self.record_event([seller, buyer], vin, event, wait=wait)

    def get(self, vin: str) -> dict[str, Any]:
        return self._client.get_vehicle(vin)

    def history(self, vin: str) -> dict[str, Any]:
        return self._client.get_history(vin)


class Identity(_SyncHelper):
    """``identity`` module: create and resolve DIDs."""

    module = "identity"

    def create_did(
        self,
        sponsor: SignerLike,
        new_key: SignerLike,
        *,
        services: list[dict[str, str]] | None = None,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        """Create the DID of ``new_key`` (sponsored by a consortium member; both sign)."""
        args: dict[str, Any] = {"public_key": new_key.public_key.hex()}
        if services:
            args["services"] = services
        return self._send([sponsor, new_key], "create_did", args, wait)

    def resolve(self, did: str) -> dict[str, Any]:
        return self._client.resolve_did(did)


class Consortium(_SyncHelper):
    """``consortium`` module: keys of organisations."""

    module = "consortium"

    def add_key(
        self,
        admin: SignerLike,
        new_key: SignerLike,
        *,
        org: str,
        kind: str = "member",
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        """Register ``new_key`` for ``org`` (an admin key signs, the new key co-signs)."""
        args = {"org": org, "public_key": new_key.public_key.hex(), "kind": kind}
        return self._send([admin, new_key], "add_key", args, wait)

    def revoke_key(
        self, admin: SignerLike, *, org: str, public_key: bytes | str, wait: WaitMode = "commit"
    ) -> SubmitResult:
        key = public_key.hex() if isinstance(public_key, bytes) else public_key
        return self._send(admin, "revoke_key", {"org": org, "public_key": key}, wait)


# --- async --------------------------------------------------------------------------------


class _AsyncHelper(_Helper):
    _client: AsyncClient

    async def _send(
        self, signers: Signers, message: str, args: dict[str, Any], wait: WaitMode
    ) -> SubmitResult:
        tx = self._tx(await self._client.chain_id(), signers, message, args)
        result = await self._client.submit(tx, wait=wait)
        assert isinstance(result, SubmitResult)
        return result


class AsyncVehicles(_AsyncHelper):
    """Async twin of :class:`Vehicles`."""

    module = "vehicles"

    async def register(
        self,
        signer: SignerLike,
        *,
        vin: str,
        make: str,
        model: str,
        model_year: int,
        owner: str | None = None,
        vehicle_key: bytes | str | None = None,
        plant: str | None = None,
        battery_id: str | None = None,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        args = register_vehicle_args(
            vin=vin,
            make=make,
            model=model,
            model_year=model_year,
            owner=owner,
            vehicle_key=vehicle_key,
            plant=plant,
            battery_id=battery_id,
        )
        return await self._send(signer, "register_vehicle", args, wait)

    async def record_event(
        self, signers: Signers, vin: str, event: dict[str, Any], *, wait: WaitMode = "commit"
    ) -> SubmitResult:
        return await self._send(signers, "record_event", record_event_args(vin, event), wait)

    async def transfer(
        self,
        seller: SignerLike,
        buyer: SignerLike,
        *,
        vin: str,
        new_owner: str | None = None,
        odometer_km: int | None = None,
        contract_hash: str | None = None,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        event = transfer_event(new_owner or _did_of(buyer), odometer_km, contract_hash)
        return await self.record_event([seller, buyer], vin, event, wait=wait)

    async def get(self, vin: str) -> dict[str, Any]:
        return await self._client.get_vehicle(vin)

    async def history(self, vin: str) -> dict[str, Any]:
        return await self._client.get_history(vin)


class AsyncIdentity(_AsyncHelper):
    """Async twin of :class:`Identity`."""

    module = "identity"

    async def create_did(
        self,
        sponsor: SignerLike,
        new_key: SignerLike,
        *,
        services: list[dict[str, str]] | None = None,
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        args: dict[str, Any] = {"public_key": new_key.public_key.hex()}
        if services:
            args["services"] = services
        return await self._send([sponsor, new_key], "create_did", args, wait)

    async def resolve(self, did: str) -> dict[str, Any]:
        return await self._client.resolve_did(did)


class AsyncConsortium(_AsyncHelper):
    """Async twin of :class:`Consortium`."""

    module = "consortium"

    async def add_key(
        self,
        admin: SignerLike,
        new_key: SignerLike,
        *,
        org: str,
        kind: str = "member",
        wait: WaitMode = "commit",
    ) -> SubmitResult:
        args = {"org": org, "public_key": new_key.public_key.hex(), "kind": kind}
        return await self._send([admin, new_key], "add_key", args, wait)

    async def revoke_key(
        self, admin: SignerLike, *, org: str, public_key: bytes | str, wait: WaitMode = "commit"
    ) -> SubmitResult:
        key = public_key.hex() if isinstance(public_key, bytes) else public_key
        return await self._send(admin, "revoke_key", {"org": org, "public_key": key}, wait)
