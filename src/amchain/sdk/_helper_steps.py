"""The typed helpers of the ``vehicles``, ``identity`` and ``consortium`` modules, as steps
(:mod:`._binding` makes each a method of both clients' helper classes).

Each builds the message's arguments, signs with the given signers, submits with
``wait="commit"`` by default and raises :class:`~amchain.sdk.ApiError` on refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from amchain.modules.vehicles.types import EVENT_TYPES
from amchain.sdk._core import DEFAULT_WAIT_TIMEOUT_MS, ClientState, Step, WaitMode, get_object
from amchain.sdk._errors import TxBuildError
from amchain.sdk._models import SubmitResult
from amchain.sdk._signer import Signer, did_for_key
from amchain.sdk._steps import SignerLike, Signers, resolve_did, send

__all__ = [
    "add_key",
    "create_did",
    "record_event",
    "register_vehicle",
    "resolve",
    "revoke_key",
    "transfer",
    "vehicle",
    "vehicle_history",
]

TIMEOUT = DEFAULT_WAIT_TIMEOUT_MS  # how long a helper's transaction waits for its commit


def _drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _did_of(signer: SignerLike) -> str:
    return signer.did if isinstance(signer, Signer) else did_for_key(signer.public_key)


# --- vehicles -------------------------------------------------------------------------------


def register_vehicle(
    state: ClientState,
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
) -> Step[SubmitResult]:
    """Register a vehicle leaving the line (an OEM key signs)."""
    key = vehicle_key.hex() if isinstance(vehicle_key, bytes) else vehicle_key
    args = _drop_none(
        vin=vin,
        make=make,
        model=model,
        model_year=model_year,
        owner=owner,
        vehicle_key=key,
        plant=plant,
        battery_id=battery_id,
    )
    return (yield from send(state, "vehicles", "register_vehicle", args, signer, wait, TIMEOUT))


def record_event(
    state: ClientState,
    signers: Signers,
    vin: str,
    event: Mapping[str, Any],
    *,
    wait: WaitMode = "commit",
) -> Step[SubmitResult]:
    """Append a typed lifecycle event (``{"type": "odometer", ...}``) to a vehicle's history.

    Raises:
        TxBuildError: not a typed event.
    """
    if not isinstance(event, Mapping) or "type" not in event:
        raise TxBuildError('an event is a dict with a "type" field, e.g. {"type": "odometer", ...}')
    if event["type"] not in EVENT_TYPES:
        raise TxBuildError(f"unknown event type {event['type']!r}; valid: {', '.join(EVENT_TYPES)}")
    args = {"vin": vin, "event": dict(event)}
    return (yield from send(state, "vehicles", "record_event", args, signers, wait, TIMEOUT))


def transfer(
    state: ClientState,
    seller: SignerLike,
    buyer: SignerLike,
    *,
    vin: str,
    new_owner: str | None = None,
    odometer_km: int | None = None,
    contract_hash: str | None = None,
    wait: WaitMode = "commit",
) -> Step[SubmitResult]:
    """Private ownership transfer: the current owner and the new owner both sign."""
    event = {
        "type": "ownership_transferred",
        **_drop_none(
            new_owner=new_owner or _did_of(buyer),
            odometer_km=odometer_km,
            contract_hash=contract_hash,
        ),
    }
    return (yield from record_event(state, [seller, buyer], vin, event, wait=wait))


def vehicle(state: ClientState, vin: str) -> Step[dict[str, Any]]:
    """A vehicle's current record."""
    del state
    return (yield from get_object(f"/v1/vehicles/{quote(vin, safe='')}"))


def vehicle_history(state: ClientState, vin: str) -> Step[dict[str, Any]]:
    """A vehicle's history, in order, with flags."""
    del state
    return (yield from get_object(f"/v1/vehicles/{quote(vin, safe='')}/history"))


# --- identity, consortium ----------------------------------------------------------------------


def create_did(
    state: ClientState,
    sponsor: SignerLike,
    new_key: SignerLike,
    *,
    services: list[dict[str, str]] | None = None,
    wait: WaitMode = "commit",
) -> Step[SubmitResult]:
    """Create the DID of ``new_key`` (sponsored by a consortium member; both sign)."""
    args: dict[str, Any] = {"public_key": new_key.public_key.hex()}
    if services:
        args["services"] = services
    signers = [sponsor, new_key]
    return (yield from send(state, "identity", "create_did", args, signers, wait, TIMEOUT))


def resolve(state: ClientState, did: str) -> Step[dict[str, Any]]:
    """The DID resolution result."""
    del state
    return (yield from resolve_did(did, False))


def add_key(
    state: ClientState,
    admin: SignerLike,
    new_key: SignerLike,
    *,
    org: str,
    kind: str = "member",
    wait: WaitMode = "commit",
) -> Step[SubmitResult]:
    """Register ``new_key`` for ``org`` (an admin key signs, the new key co-signs)."""
    args = {"org": org, "public_key": new_key.public_key.hex(), "kind": kind}
    signers = [admin, new_key]
    return (yield from send(state, "consortium", "add_key", args, signers, wait, TIMEOUT))


def revoke_key(
    state: ClientState,
    admin: SignerLike,
    *,
    org: str,
    public_key: bytes | str,
    wait: WaitMode = "commit",
) -> Step[SubmitResult]:
    """Revoke a key of ``org`` (an admin key signs)."""
    key = public_key.hex() if isinstance(public_key, bytes) else public_key
    args = {"org": org, "public_key": key}
    return (yield from send(state, "consortium", "revoke_key", args, admin, wait, TIMEOUT))
