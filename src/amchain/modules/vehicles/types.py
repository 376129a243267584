"""Wire arguments, typed lifecycle events and state records of the ``vehicles`` module.

Wire structs refuse unknown fields and are frozen; state records are frozen. Shapes are
checked by the strict decoder (``amchain.codec.convert``); value rules (lengths, ranges,
hash formats, ISO 3779) are checked by the handlers with ``vehicles`` error codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import msgspec

from amchain.modules.base import EventAttributes, fields
from amchain.modules.base.fields import DidText, IdText, KeyText, ListOf, NameText

__all__ = [
    "EMPTY_HISTORY_HEAD",
    "EVENT_TYPES",
    "HISTORY_TYPES",
    "LIEN_TYPES",
    "MAX_ODOMETER_KM",
    "ROLES_BY_EVENT",
    "AccidentEvent",
    "AccidentSummary",
    "HistoryEntry",
    "HistoryEventRecorded",
    "HistoryFlags",
    "HistoryReport",
    "InspectedEvent",
    "InsuranceClaimEvent",
    "Lien",
    "OdometerEvent",
    "OwnershipChanged",
    "OwnershipTransferredEvent",
    "RecallNoticeEvent",
    "RecordEventArgs",
    "RecoveredEvent",
    "RefusedRollback",
    "RegisterVehicleArgs",
    "RegisteredEvent",
    "RepairedEvent",
    "ScrappedEvent",
    "ServicedEvent",
    "Signatory",
    "SoldEvent",
    "StolenEvent",
    "VehicleEvent",
    "VehicleFlagged",
    "VehicleParams",
    "VehicleRecord",
    "VehicleRegistered",
    "VehicleStatus",
    "VehicleView",
    "event_type",
]

MAX_ODOMETER_KM = 2_000_000
EMPTY_HISTORY_HEAD = "00" * 32

VehicleStatus = Literal["active", "stolen", "scrapped"]


# --- wire: register_vehicle -------------------------------------------------------------


Vin = Annotated[IdText, msgspec.Meta(description="17-character VIN (ISO 3779, check digit)")]
HashText = Annotated[fields.HashText, msgspec.Meta(description="SHA-256, 64 lower-case hex digits")]


class RegisterVehicleArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Arguments of ``register_vehicle``: a new vehicle leaves the line."""

    vin: Vin
    make: Annotated[NameText, msgspec.Meta(description="manufacturer's brand, e.g. Honda")]
    model: Annotated[NameText, msgspec.Meta(description="model name")]
    model_year: Annotated[int, msgspec.Meta(description="model year, e.g. 2026")]
    owner: Annotated[
        DidText | None,
        msgspec.Meta(description="owner DID (default: the registering manufacturer's DID)"),
    ] = None
    """Owner DID; defaults to the registering (manufacturer) organisation's DID."""
    vehicle_key: Annotated[
        KeyText | None,
        msgspec.Meta(description="hex Ed25519 public key of the on-board unit (OBU)"),
    ] = None
    """Hex Ed25519 public key of the on-board unit, bound to the vehicle DID."""
    plant: Annotated[NameText | None, msgspec.Meta(description="assembly plant")] = None
    battery_id: Annotated[
        NameText | None, msgspec.Meta(description="identifier of the traction battery")
    ] = None


# --- wire: record_event (tagged union on "type") -----------------------------------------


class _Event(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, tag_field="type"
):
    """Base of the typed lifecycle events; the ``type`` field selects the struct."""


class SoldEvent(_Event, tag="sold", frozen=True):
    """Retail sale out of trade stock (the current owner is an organisation)."""

    buyer: DidText
    odometer_km: int | None = None
    contract_hash: HashText | None = None


class RegisteredEvent(_Event, tag="registered", frozen=True):
    """Registration with a vehicle registry; the plate is stored only as a hash."""

    region: Annotated[str, msgspec.Meta(max_length=8)]
    registration_hash: HashText
    plate_hash: HashText | None = None
    odometer_km: int | None = None


class InspectedEvent(_Event, tag="inspected", frozen=True):
    """Periodic technical inspection."""

    passed: bool
    odometer_km: int
    report_hash: HashText | None = None
    next_due_time_ms: int | None = None


class ServicedEvent(_Event, tag="serviced", frozen=True):
    """Maintenance; ``work_items`` are short operation codes."""

    odometer_km: int
    work_items: Annotated[list[NameText], ListOf]
    report_hash: HashText | None = None


class RepairedEvent(_Event, tag="repaired", frozen=True):
    """Repair; may close an accident (by its history seq) or an open recall campaign."""

    odometer_km: int
    parts_replaced: Annotated[list[NameText], ListOf] = msgspec.field(default_factory=list)
    accident_seq: int | None = None
    recall_campaign: NameText | None = None
    report_hash: HashText | None = None


class AccidentEvent(_Event, tag="accident", frozen=True):
    """An accident reported by an insurer."""

    occurred_at_ms: int
    severity: Literal["minor", "moderate", "severe", "total_loss"]
    airbags_deployed: bool = False
    report_hash: HashText | None = None
    odometer_km: int | None = None


class InsuranceClaimEvent(_Event, tag="insurance_claim", frozen=True):
    """An insurance claim's state; the claim reference is a hash."""

    claim_ref_hash: HashText
    amount_minor: int
    currency: Annotated[str, msgspec.Meta(max_length=8)]
    status: Literal["opened", "paid", "rejected"]
    accident_seq: int | None = None


class OdometerEvent(_Event, tag="odometer", frozen=True):
    """A bare odometer reading."""

    odometer_km: int
    source: Literal["inspection", "telematics", "registry", "manual"] = "registry"


class StolenEvent(_Event, tag="stolen", frozen=True):
    """Reported stolen."""

    report_hash: HashText


class RecoveredEvent(_Event, tag="recovered", frozen=True):
    """Recovered after theft."""

    report_hash: HashText
    odometer_km: int | None = None


class RecallNoticeEvent(_Event, tag="recall_notice", frozen=True):
    """The manufacturer opens a recall campaign for this vehicle."""

    campaign: NameText
    description_hash: HashText
    severity: Literal["low", "medium", "high"]


class OwnershipTransferredEvent(_Event, tag="ownership_transferred", frozen=True):
    """Private transfer, signed by the current owner and the new owner."""

    new_owner: DidText
    odometer_km: int | None = None
    contract_hash: HashText | None = None


class ScrappedEvent(_Event, tag="scrapped", frozen=True):
    """End of life; no event is accepted afterwards."""

    certificate_hash: HashText
    odometer_km: int | None = None


VehicleEvent = (
    SoldEvent
    | RegisteredEvent
    | InspectedEvent
    | ServicedEvent
    | RepairedEvent
    | AccidentEvent
    | InsuranceClaimEvent
    | OdometerEvent
    | StolenEvent
    | RecoveredEvent
    | RecallNoticeEvent
    | OwnershipTransferredEvent
    | ScrappedEvent
)


def event_type(event: VehicleEvent) -> str:
    """Return the ``type`` tag of a typed event (``"sold"``, ``"accident"``, …)."""
    return str(event.__struct_config__.tag)


class RecordEventArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Arguments of ``record_event``: one typed lifecycle event for one vehicle."""

    vin: Vin
    event: Annotated[
        VehicleEvent,
        msgspec.Meta(
            description="the event, selected by its type: sold, registered, inspected, "
            "serviced, repaired, accident, insurance_claim, odometer, stolen, recovered, "
            "recall_notice, ownership_transferred, scrapped"
        ),
    ]


EVENT_TYPES: tuple[str, ...] = (
    "sold",
    "registered",
    "inspected",
    "serviced",
    "repaired",
    "accident",
    "insurance_claim",
    "odometer",
    "stolen",
    "recovered",
    "recall_notice",
    "ownership_transferred",
    "scrapped",
)

LIEN_TYPES: tuple[str, ...] = ("lien_placed", "lien_released")
"""History entries another module writes through :func:`place_lien` / :func:`release_lien`
(a lender's security interest); no ``record_event`` message makes them."""

HISTORY_TYPES: tuple[str, ...] = ("produced", *EVENT_TYPES, *LIEN_TYPES)
"""Every ``HistoryEntry.type``: ``produced`` (entry #0, written by register_vehicle), the
recorded events, and liens placed and released.."""

ROLES_BY_EVENT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "sold": ("dealer", "oem"),
        "registered": ("registry",),
        "inspected": ("service_center", "dealer"),
        "serviced": ("service_center", "dealer"),
        "repaired": ("service_center", "dealer"),
        "accident": ("insurer",),
        "insurance_claim": ("insurer",),
        "odometer": ("registry", "regulator"),
        "stolen": ("registry", "regulator"),
        "recovered": ("registry", "regulator"),
        "recall_notice": ("oem",),
        "ownership_transferred": (),
        "scrapped": ("registry", "regulator"),
    }
)
"""Consortium roles of which a signer must hold one, per event type (empty: the handler
authorises by signatures of the owners' DIDs)."""


# --- state --------------------------------------------------------------------------------


class Lien(msgspec.Struct, frozen=True, kw_only=True):
    """A claim on the vehicle: while it stands, a sale or a private transfer needs the
    signature of ``holder`` — or, when ``cosigners`` are named, of ``needed`` of them (a
    co-owning group's k of n)."""

    holder: str
    """The lien holder's DID (a financier's organisation DID)."""
    reference: str
    """What it secures, e.g. ``finance/loan/<id>``."""
    placed_height: int
    cosigners: list[str] = []
    needed: int = 1


class VehicleRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``vehicles/v/<VIN>``: the vehicle as it stands now."""

    vin: str
    did: str
    make: str
    model: str
    model_year: int
    manufacturer: str
    """Consortium organisation id of the manufacturer."""
    owner: str
    """Current owner DID."""
    owners: list[str]
    """Every owner DID in order, the first included."""
    status: VehicleStatus
    last_odometer_km: int
    """0 while no reading was recorded."""
    last_odometer_seq: int
    """History seq of the last reading, -1 while none."""
    accidents: int
    open_recalls: list[str]
    """Open recall campaigns, sorted."""
    event_count: int
    """Number of history entries (``produced`` included)."""
    history_head: str
    """``entry_hash`` of the last history entry."""
    registered_height: int
    registered_time_ms: int
    plant: str | None = None
    battery_id: str | None = None
    liens: list[Lien] = []
    """Liens standing on the vehicle, in the order they were placed."""


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """``vehicles/h/<VIN>/<seq:010d>``: one hash-chained entry of a vehicle's history."""

    seq: int
    type: str
    time_ms: int
    height: int
    tx_hash: str
    recorded_by: str
    """Org id of the acting organisation, or the owner DID for owner-signed events."""
    odometer_km: int | None
    fields: dict[str, Any]
    """The typed event's fields as plain JSON, without ``type``."""
    prev_hash: str
    entry_hash: str


# --- events -------------------------------------------------------------------------------


class VehicleRegistered(EventAttributes, frozen=True, kw_only=True):
    """A vehicle was registered by its manufacturer."""

    event_type = "vehicles.registered"
    vin: str
    did: str
    manufacturer: str
    owner: str


class HistoryEventRecorded(EventAttributes, frozen=True, kw_only=True):
    """An entry was appended to a vehicle's history (``produced`` at registration)."""

    event_type = "vehicles.event_recorded"
    vin: str
    seq: int
    type: str
    odometer_km: int | None
    recorded_by: str


class OwnershipChanged(EventAttributes, frozen=True, kw_only=True):
    """A vehicle has a new owner."""

    event_type = "vehicles.ownership_changed"
    vin: str
    previous_owner: str
    new_owner: str
    owners_count: int


class VehicleFlagged(EventAttributes, frozen=True, kw_only=True):
    """A vehicle's standing changed: stolen, recovered, scrapped, a recall opened or closed."""

    event_type = "vehicles.flagged"
    vin: str
    seq: int
    flag: str
    campaign: str | None


# --- queries ------------------------------------------------------------------------------


class VehicleParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which vehicle."""

    vin: Annotated[str, msgspec.Meta(description="the vehicle's VIN (any case)")]


class VehicleView(VehicleRecord, frozen=True, kw_only=True):
    """The vehicle record with the number of owners it had."""

    owners_count: int


class Signatory(msgspec.Struct, frozen=True, kw_only=True):
    """Who signed a transaction, as far as the chain knows the key."""

    public_key: str
    org: str | None = None
    did: str | None = None
    roles: list[str] = []


class RefusedRollback(msgspec.Struct, frozen=True, kw_only=True):
    """An odometer reading refused because it was lower than the last one (kept on chain
    as the failed receipt of the transaction that tried)."""

    tx_hash: str
    height: int
    time_ms: int | None
    attempted_km: int | None
    last_km: int | None
    message: str
    tried_by: list[Signatory]


class AccidentSummary(msgspec.Struct, frozen=True):
    count: int
    seqs: list[int]


class HistoryFlags(msgspec.Struct, frozen=True, kw_only=True):
    """A history report's headline facts."""

    vin: str
    did: str
    make: str
    model: str
    model_year: int
    manufacturer: str
    owner: str
    owners_count: int
    owners: list[str]
    accidents: AccidentSummary
    stolen: bool
    scrapped: bool
    open_recalls: list[str]
    odometer_consistent: bool
    """Readings never go down and the last one is the record's."""
    last_odometer_km: int
    event_count: int
    complete: bool
    """The entries form the hash chain the record commits to."""
    refused_odometer_rollbacks: list[RefusedRollback] = []
    liens: list[Lien] = []


class HistoryReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A vehicle's life history in order, with flags and a summary line.

    With a proof the report is also a proof bundle (``format``, ``kind``, ``chain_id``,
    ``height``, ``certificate``, ``record``, with ``vin`` and ``events``) that a light client
    checks as it is: the record is proven, the events are the hash chain it commits to.
    Summary and flags are for display and not proven.
    """

    vin: str
    did: str
    make: str
    model: str
    model_year: int
    summary: str
    flags: HistoryFlags
    history_head: str
    event_count: int
    events: list[msgspec.Raw]
    """The history entries as stored (:class:`HistoryEntry`)."""
    as_of_height: int
    format: str | None = None
    kind: str | None = None
    chain_id: str | None = None
    height: int | None = None
    certificate: dict[str, Any] | None = None
    record: dict[str, Any] | None = None
