"""Message handlers of the ``vehicles`` module: one function per message.

Each handler runs in labelled steps: validate, authorise, change state, emit events. A
handler raises :class:`VehiclesError` to refuse; the runtime then drops every change it made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from amchain.codec import to_builtins
from amchain.crypto import EncodingError, InvalidPublicKey, decode_hex, validate_public_key
from amchain.ledger import StateReader, StateWriter
from amchain.modules import consortium, identity
from amchain.modules.base import KeyStatus, TxContext
from amchain.modules.vehicles import keeper
from amchain.modules.vehicles.errors import VehiclesCode, VehiclesError
from amchain.modules.vehicles.history import compute_history_entry_hash
from amchain.modules.vehicles.types import (
    EMPTY_HISTORY_HEAD,
    ROLES_BY_EVENT,
    AccidentEvent,
    HistoryEntry,
    HistoryEventRecorded,
    InspectedEvent,
    InsuranceClaimEvent,
    Lien,
    OdometerEvent,
    OwnershipChanged,
    OwnershipTransferredEvent,
    RecallNoticeEvent,
    RecordEventArgs,
    RecoveredEvent,
    RegisteredEvent,
    RegisterVehicleArgs,
    RepairedEvent,
    ScrappedEvent,
    ServicedEvent,
    SoldEvent,
    StolenEvent,
    VehicleEvent,
    VehicleFlagged,
    VehicleRecord,
    VehicleRegistered,
    event_type,
)
from amchain.modules.vehicles.validation import (
    check_did,
    check_hash,
    check_letters,
    check_model_year,
    check_non_negative,
    check_odometer,
    check_text,
    check_text_list,
    validate_vin,
)

MANUFACTURER_ROLE = "oem"
ORG_DID_PREFIX = "did:amc:org:"  # the shape of consortium.org_did(org_id)
MAX_WORK_ITEMS = 32
MAX_PARTS_REPLACED = 64


# --- register_vehicle ----------------------------------------------------------------------


def check_register_vehicle(args: RegisterVehicleArgs) -> None:
    """Stateless checks of ``register_vehicle`` (also run at admission, before any block).

    Raises:
        VehiclesError: INVALID_VIN, INVALID_FIELD, INVALID_VEHICLE_KEY.
    """
    validate_vin(args.vin)
    check_text("make", args.make)
    check_text("model", args.model)
    check_model_year(args.model_year)
    check_text("plant", args.plant)
    check_text("battery_id", args.battery_id)
    check_did("owner", args.owner)
    _decode_vehicle_key(args.vehicle_key)


def check_record_event(args: RecordEventArgs) -> None:
    """Stateless checks of ``record_event`` (also run at admission, before any block).

    Raises:
        VehiclesError: INVALID_VIN, INVALID_ODOMETER, INVALID_FIELD.
    """
    validate_vin(args.vin)
    check_odometer(_event_odometer(args.event))
    _check_event_values(args.event)


def register_vehicle(ctx: TxContext, args: RegisterVehicleArgs) -> None:
    """Register a new vehicle, create its DID and write history entry #0 (``produced``).

    The manufacturer is the first active consortium organisation among the signers that
    holds the ``oem`` role; it controls the vehicle DID and owns the vehicle unless ``owner``
    names another DID.

    Raises:
        VehiclesError: INVALID_VIN, INVALID_FIELD, INVALID_VEHICLE_KEY, DUPLICATE_VIN,
            UNKNOWN_OWNER, MANUFACTURER_REQUIRED.
        IdentityError: from ``identity.register_vehicle_did`` (propagated unchanged).
    """
    # validate
    check_register_vehicle(args)  # validated the key too; decode it once more, cheaply
    vehicle_key = None if args.vehicle_key is None else bytes.fromhex(args.vehicle_key)
    if keeper.has_vehicle(ctx.state, args.vin):
        raise VehiclesError(
            VehiclesCode.DUPLICATE_VIN,
            f"vehicle {args.vin} is already registered; record events on it instead",
            details={"vin": args.vin},
        )
    if args.owner is not None:
        _require_did_exists(ctx.state, args.owner, "owner")

    # authorise
    manufacturer = _first_org_with_roles(ctx, (MANUFACTURER_ROLE,))
    if manufacturer is None:
        raise VehiclesError(
            VehiclesCode.MANUFACTURER_REQUIRED,
            "register_vehicle must be signed by an active key of an organisation with the oem role",
            details={"vin": args.vin},
        )
    manufacturer_did = consortium.org_did(manufacturer)
    owner = manufacturer_did if args.owner is None else args.owner

    # change state
    did = identity.register_vehicle_did(
        ctx.state,
        vin=args.vin,
        controller=manufacturer_did,
        vehicle_key=vehicle_key,
        height=ctx.height,
    )
    record = VehicleRecord(
        vin=args.vin,
        did=did,
        make=args.make,
        model=args.model,
        model_year=args.model_year,
        manufacturer=manufacturer,
        plant=args.plant,
        battery_id=args.battery_id,
        owner=owner,
        owners=[owner],
        status="active",
        last_odometer_km=0,
        last_odometer_seq=-1,
        accidents=0,
        open_recalls=[],
        event_count=0,
        history_head=EMPTY_HISTORY_HEAD,
        registered_height=ctx.height,
        registered_time_ms=ctx.time_ms,
    )
    produced_fields: dict[str, Any] = {
        "did": did,
        "make": args.make,
        "model": args.model,
        "model_year": args.model_year,
        "manufacturer": manufacturer,
        "owner": owner,
        "plant": args.plant,
        "battery_id": args.battery_id,
        "has_vehicle_key": vehicle_key is not None,
    }
    record = _append_history(
        ctx,
        record,
        type_="produced",
        recorded_by=manufacturer,
        odometer_km=None,
        fields=produced_fields,
    )
    keeper.set_vehicle(ctx.state, record)

    # emit events
    ctx.emit(VehicleRegistered(vin=args.vin, did=did, manufacturer=manufacturer, owner=owner))
    ctx.emit(
        HistoryEventRecorded(
            vin=args.vin, seq=0, type="produced", odometer_km=None, recorded_by=manufacturer
        )
    )


def roles_register_vehicle(_args: RegisterVehicleArgs) -> tuple[str, ...]:
    """Only manufacturers register vehicles."""
    return (MANUFACTURER_ROLE,)


def index_register_vehicle(args: RegisterVehicleArgs) -> list[tuple[str, str]]:
    """Index under the vehicle and the owner DID it names."""
    pairs = [("vehicle", args.vin)]
    if args.owner is not None:
        pairs.append(("did", args.owner))
    return pairs


# --- record_event --------------------------------------------------------------------------


def record_event(ctx: TxContext, args: RecordEventArgs) -> None:
    """Append one typed lifecycle event to a vehicle's hash-chained history.

    Raises:
        VehiclesError: INVALID_VIN, INVALID_FIELD, INVALID_ODOMETER, UNKNOWN_VEHICLE,
            VEHICLE_SCRAPPED, ODOMETER_ROLLBACK (details: vin, attempted_km, last_km,
            last_seq), VEHICLE_STOLEN, ALREADY_STOLEN, NOT_STOLEN, NOT_TRADE_STOCK,
            SAME_OWNER, UNKNOWN_OWNER, UNKNOWN_ACCIDENT, RECALL_NOT_OPEN,
            RECALL_ALREADY_OPEN, ROLE_REQUIRED, NOT_MANUFACTURER, NOT_OWNER_SIGNATURE,
            BUYER_SIGNATURE_MISSING.
    """
    event = args.event
    type_ = event_type(event)
    odometer_km = _event_odometer(event)

    # validate: the event's own values, then against the vehicle as it stands
    check_record_event(args)
    if isinstance(event, AccidentEvent) and event.occurred_at_ms > ctx.time_ms:
        raise VehiclesError(
            VehiclesCode.INVALID_FIELD,
            "occurred_at_ms is after the block time: an accident is reported after it happens",
            details={"field": "occurred_at_ms"},
        )
    record = keeper.get_vehicle(ctx.state, args.vin)
    if record is None:
        raise VehiclesError(
            VehiclesCode.UNKNOWN_VEHICLE,
            f"no vehicle with VIN {args.vin} is registered; its manufacturer registers it first",
            details={"vin": args.vin},
        )
    if record.status == "scrapped":
        raise VehiclesError(
            VehiclesCode.VEHICLE_SCRAPPED,
            f"vehicle {args.vin} was scrapped; its history is closed",
            details={"vin": args.vin, "type": type_},
        )
    _check_odometer_not_rolled_back(record, odometer_km)
    _check_event_against_vehicle(ctx.state, record, event)

    # authorise
    recorded_by = _authorise_event(ctx, record, event)

    # change state
    updated = _apply_event(record, event)
    updated = _append_history(
        ctx,
        updated,
        type_=type_,
        recorded_by=recorded_by,
        odometer_km=odometer_km,
        fields=_event_fields(event),
    )
    keeper.set_vehicle(ctx.state, updated)

    # emit events
    seq = record.event_count
    ctx.emit(
        HistoryEventRecorded(
            vin=args.vin, seq=seq, type=type_, odometer_km=odometer_km, recorded_by=recorded_by
        )
    )
    if updated.owner != record.owner:
        ctx.emit(
            OwnershipChanged(
                vin=args.vin,
                previous_owner=record.owner,
                new_owner=updated.owner,
                owners_count=len(updated.owners),
            )
        )
    flag = _flag_of(event)
    if flag is not None:
        campaign = event.campaign if isinstance(event, RecallNoticeEvent) else None
        if isinstance(event, RepairedEvent):
            campaign = event.recall_campaign
        ctx.emit(VehicleFlagged(vin=args.vin, seq=seq, flag=flag, campaign=campaign))


def roles_record_event(args: RecordEventArgs) -> tuple[str, ...]:
    """Roles that may record this event type (see ``ROLES_BY_EVENT``)."""
    return ROLES_BY_EVENT[event_type(args.event)]


def index_record_event(args: RecordEventArgs) -> list[tuple[str, str]]:
    """Index under the vehicle and any new owner DID the event names."""
    pairs = [("vehicle", args.vin)]
    event = args.event
    if isinstance(event, SoldEvent):
        pairs.append(("did", event.buyer))
    elif isinstance(event, OwnershipTransferredEvent):
        pairs.append(("did", event.new_owner))
    return pairs


# --- steps of record_event -----------------------------------------------------------------


def _event_odometer(event: VehicleEvent) -> int | None:
    value: int | None = getattr(event, "odometer_km", None)
    return value


def _event_fields(event: VehicleEvent) -> dict[str, Any]:
    plain: dict[str, Any] = dict(to_builtins(event))
    plain.pop("type", None)
    return plain


def _check_event_values(event: VehicleEvent) -> None:
    """Refuse values the wire types cannot express: hash shapes, lengths, ranges (at
    admission, so such a transaction is never stored)."""
    match event:
        case SoldEvent():
            check_did("buyer", event.buyer)
            check_hash("contract_hash", event.contract_hash)
        case RegisteredEvent():
            check_letters("region", event.region, 2)
            check_hash("registration_hash", event.registration_hash)
            check_hash("plate_hash", event.plate_hash)
        case InspectedEvent():
            check_hash("report_hash", event.report_hash)
            check_non_negative("next_due_time_ms", event.next_due_time_ms)
        case ServicedEvent():
            check_text_list("work_items", event.work_items, min_items=1, max_items=MAX_WORK_ITEMS)
            check_hash("report_hash", event.report_hash)
        case RepairedEvent():
            check_text_list(
                "parts_replaced", event.parts_replaced, min_items=0, max_items=MAX_PARTS_REPLACED
            )
            check_non_negative("accident_seq", event.accident_seq)
            check_text("recall_campaign", event.recall_campaign)
            check_hash("report_hash", event.report_hash)
        case AccidentEvent():
            check_non_negative("occurred_at_ms", event.occurred_at_ms)
            check_hash("report_hash", event.report_hash)
        case InsuranceClaimEvent():
            check_hash("claim_ref_hash", event.claim_ref_hash)
            check_non_negative("amount_minor", event.amount_minor)
            check_letters("currency", event.currency, 3)
            check_non_negative("accident_seq", event.accident_seq)
        case OdometerEvent():
            pass
        case StolenEvent() | RecoveredEvent():
            check_hash("report_hash", event.report_hash)
        case RecallNoticeEvent():
            check_text("campaign", event.campaign)
            check_hash("description_hash", event.description_hash)
        case OwnershipTransferredEvent():
            check_did("new_owner", event.new_owner)
            check_hash("contract_hash", event.contract_hash)
        case ScrappedEvent():
            check_hash("certificate_hash", event.certificate_hash)


def _check_odometer_not_rolled_back(record: VehicleRecord, odometer_km: int | None) -> None:
    if odometer_km is None or odometer_km >= record.last_odometer_km:
        return
    raise VehiclesError(
        VehiclesCode.ODOMETER_ROLLBACK,
        f"odometer reading {odometer_km} km is below the last recorded reading "
        f"{record.last_odometer_km} km (history entry {record.last_odometer_seq}); "
        "a rollback is refused and this attempt stays on record",
        details={
            "vin": record.vin,
            "attempted_km": odometer_km,
            "last_km": record.last_odometer_km,
            "last_seq": record.last_odometer_seq,
        },
    )


def _check_event_against_vehicle(
    state: StateReader, record: VehicleRecord, event: VehicleEvent
) -> None:
    """Refuse an event the vehicle's current standing does not allow."""
    match event:
        case SoldEvent():
            _refuse_if_stolen(record, "sold")
            if not record.owner.startswith(ORG_DID_PREFIX):
                raise VehiclesError(
                    VehiclesCode.NOT_TRADE_STOCK,
                    f"vehicle {record.vin} is owned by {record.owner}, not an organisation: "
                    "a private sale is an ownership_transferred event signed by both owners",
                    details={"vin": record.vin, "owner": record.owner},
                )
            _refuse_same_owner(record, event.buyer)
            _require_did_exists(state, event.buyer, "buyer")
        case OwnershipTransferredEvent():
            _refuse_if_stolen(record, "ownership_transferred")
            _refuse_same_owner(record, event.new_owner)
            _require_did_exists(state, event.new_owner, "new_owner")
        case RepairedEvent():
            if event.accident_seq is not None:
                _require_accident(state, record, event.accident_seq)
            if event.recall_campaign is not None and (
                event.recall_campaign not in record.open_recalls
            ):
                raise VehiclesError(
                    VehiclesCode.RECALL_NOT_OPEN,
                    f"recall campaign {event.recall_campaign!r} is not open for vehicle "
                    f"{record.vin} (open: {', '.join(record.open_recalls) or 'none'})",
                    details={"vin": record.vin, "campaign": event.recall_campaign},
                )
        case InsuranceClaimEvent():
            if event.accident_seq is not None:
                _require_accident(state, record, event.accident_seq)
        case StolenEvent():
            if record.status == "stolen":
                raise VehiclesError(
                    VehiclesCode.ALREADY_STOLEN,
                    f"vehicle {record.vin} is already reported stolen",
                    details={"vin": record.vin},
                )
        case RecoveredEvent():
            if record.status != "stolen":
                raise VehiclesError(
                    VehiclesCode.NOT_STOLEN,
                    f"vehicle {record.vin} is not reported stolen, so it cannot be recovered",
                    details={"vin": record.vin},
                )
        case RecallNoticeEvent():
            if event.campaign in record.open_recalls:
                raise VehiclesError(
                    VehiclesCode.RECALL_ALREADY_OPEN,
                    f"recall campaign {event.campaign!r} is already open for vehicle {record.vin}",
                    details={"vin": record.vin, "campaign": event.campaign},
                )
        case _:
            pass


def _authorise_event(ctx: TxContext, record: VehicleRecord, event: VehicleEvent) -> str:
    """Return who records the event (org id, or the owner DID), or refuse."""
    if isinstance(event, OwnershipTransferredEvent):
        if not _some_signer_controls(ctx, record.owner):
            raise VehiclesError(
                VehiclesCode.NOT_OWNER_SIGNATURE,
                f"a transfer of {record.vin} must be signed by a key of the current owner "
                f"{record.owner}",
                details={"vin": record.vin, "owner": record.owner},
            )
        _require_lien_holders(ctx, record)
        if not _some_signer_controls(ctx, event.new_owner):
            raise VehiclesError(
                VehiclesCode.BUYER_SIGNATURE_MISSING,
                f"a transfer of {record.vin} must also be signed by a key of the new owner "
                f"{event.new_owner}",
                details={"vin": record.vin, "new_owner": event.new_owner},
            )
        return record.owner
    if isinstance(event, SoldEvent):
        _require_lien_holders(ctx, record)
    if isinstance(event, RecallNoticeEvent):
        if record.manufacturer not in _orgs_with_roles(ctx, (MANUFACTURER_ROLE,)):
            raise VehiclesError(
                VehiclesCode.NOT_MANUFACTURER,
                f"only the manufacturer {record.manufacturer} may open a recall on {record.vin}",
                details={"vin": record.vin, "manufacturer": record.manufacturer},
            )
        return record.manufacturer
    roles = ROLES_BY_EVENT[event_type(event)]
    org = _first_org_with_roles(ctx, roles)
    if org is None:
        raise VehiclesError(
            VehiclesCode.ROLE_REQUIRED,
            f"a {event_type(event)} event must be signed by an active key of an organisation "
            f"with one of the roles: {', '.join(roles)}",
            details={"vin": record.vin, "type": event_type(event), "roles": list(roles)},
        )
    return org


def _apply_event(record: VehicleRecord, event: VehicleEvent) -> VehicleRecord:
    """Return the record as the event leaves it (history fields aside)."""
    match event:
        case SoldEvent(buyer=new_owner) | OwnershipTransferredEvent(new_owner=new_owner):
            return msgspec.structs.replace(
                record, owner=new_owner, owners=[*record.owners, new_owner]
            )
        case AccidentEvent():
            return msgspec.structs.replace(record, accidents=record.accidents + 1)
        case StolenEvent():
            return msgspec.structs.replace(record, status="stolen")
        case RecoveredEvent():
            return msgspec.structs.replace(record, status="active")
        case ScrappedEvent():
            return msgspec.structs.replace(record, status="scrapped")
        case RecallNoticeEvent():
            return msgspec.structs.replace(
                record, open_recalls=sorted([*record.open_recalls, event.campaign])
            )
        case RepairedEvent(recall_campaign=str(campaign)):
            return msgspec.structs.replace(
                record, open_recalls=[c for c in record.open_recalls if c != campaign]
            )
        case _:
            return record


def _flag_of(event: VehicleEvent) -> str | None:
    match event:
        case StolenEvent():
            return "stolen"
        case RecoveredEvent():
            return "recovered"
        case ScrappedEvent():
            return "scrapped"
        case RecallNoticeEvent():
            return "recall_opened"
        case RepairedEvent(recall_campaign=str()):
            return "recall_closed"
        case AccidentEvent(severity="total_loss"):
            return "total_loss"
        case _:
            return None


# --- shared helpers ------------------------------------------------------------------------


def _append_history(
    ctx: TxContext,
    record: VehicleRecord,
    *,
    type_: str,
    recorded_by: str,
    odometer_km: int | None,
    fields: dict[str, Any],
) -> VehicleRecord:
    """Write the next hash-chained history entry; return the record pointing at it."""
    seq = record.event_count
    unsigned = HistoryEntry(
        seq=seq,
        type=type_,
        time_ms=ctx.time_ms,
        height=ctx.height,
        tx_hash=ctx.tx_hash,
        recorded_by=recorded_by,
        odometer_km=odometer_km,
        fields=fields,
        prev_hash=record.history_head,
        entry_hash="",
    )
    entry = msgspec.structs.replace(unsigned, entry_hash=compute_history_entry_hash(unsigned))
    keeper.set_history_entry(ctx.state, record.vin, entry)
    updated = msgspec.structs.replace(record, event_count=seq + 1, history_head=entry.entry_hash)
    if odometer_km is not None:
        updated = msgspec.structs.replace(
            updated, last_odometer_km=odometer_km, last_odometer_seq=seq
        )
    return updated


def _require_lien_holders(ctx: TxContext, record: VehicleRecord) -> None:
    """Refuse a change of owner that a lien holder did not co-sign.

    Raises:
        VehiclesError: LIEN_HOLDER_SIGNATURE_MISSING.
    """
    for lien in record.liens:
        if lien.cosigners:
            signed = sum(1 for did in lien.cosigners if _some_signer_controls(ctx, did))
            if signed < lien.needed:
                raise VehiclesError(
                    VehiclesCode.LIEN_HOLDER_SIGNATURE_MISSING,
                    f"vehicle {record.vin} is held under {lien.reference}: a change of owner "
                    f"needs {lien.needed} of its {len(lien.cosigners)} co-owners' signatures, "
                    f"{signed} signed",
                    details={
                        "vin": record.vin,
                        "reference": lien.reference,
                        "needed": lien.needed,
                        "signed": signed,
                    },
                )
            continue
        if not _some_signer_controls(ctx, lien.holder):
            raise VehiclesError(
                VehiclesCode.LIEN_HOLDER_SIGNATURE_MISSING,
                f"vehicle {record.vin} carries a lien of {lien.holder} ({lien.reference}): "
                "a change of owner needs the lien holder's signature too",
                details={"vin": record.vin, "holder": lien.holder, "reference": lien.reference},
            )


# --- liens, written by other modules (a lender's module) ---------------------------------------


def place_lien(
    state: StateWriter,
    vin: str,
    *,
    holder: str,
    reference: str,
    height: int,
    time_ms: int,
    tx_hash: str,
    cosigners: Sequence[str] = (),
    needed: int = 1,
) -> None:
    """Put a lien of ``holder`` on the vehicle and a ``lien_placed`` entry in its history
    (with ``cosigners``: a change of owner then needs ``needed`` of them).
    The caller (a lender's module) has authorised it; ``tx_hash`` names what wrote it (a
    transaction, or ``end_block/<module>``).

    Raises:
        VehiclesError: UNKNOWN_VEHICLE, VEHICLE_SCRAPPED, LIEN_EXISTS.
    """
    record = _require_live_vehicle(state, vin)
    if any(lien.reference == reference for lien in record.liens):
        raise VehiclesError(
            VehiclesCode.LIEN_EXISTS,
            f"vehicle {vin} already carries the lien {reference}",
            details={"vin": vin, "reference": reference},
        )
    lien = Lien(
        holder=holder,
        reference=reference,
        placed_height=height,
        cosigners=list(cosigners),
        needed=needed,
    )
    updated = msgspec.structs.replace(record, liens=[*record.liens, lien])
    _write_lien_entry(state, updated, "lien_placed", lien, height, time_ms, tx_hash)


def release_lien(
    state: StateWriter, vin: str, *, reference: str, height: int, time_ms: int, tx_hash: str
) -> None:
    """Lift the lien ``reference`` and put a ``lien_released`` entry in the history.

    Raises:
        VehiclesError: UNKNOWN_VEHICLE, UNKNOWN_LIEN.
    """
    record = keeper.get_vehicle(state, vin)
    if record is None:
        raise VehiclesError(
            VehiclesCode.UNKNOWN_VEHICLE, f"no vehicle with VIN {vin}", details={"vin": vin}
        )
    found = next((lien for lien in record.liens if lien.reference == reference), None)
    if found is None:
        raise VehiclesError(
            VehiclesCode.UNKNOWN_LIEN,
            f"vehicle {vin} carries no lien {reference}",
            details={"vin": vin, "reference": reference},
        )
    kept = [lien for lien in record.liens if lien.reference != reference]
    updated = msgspec.structs.replace(record, liens=kept)
    _write_lien_entry(state, updated, "lien_released", found, height, time_ms, tx_hash)


def transfer_ownership(ctx: TxContext, vin: str, new_owner: str, *, recorded_by: str) -> None:
    """Change the vehicle's owner for another module (a co-owning group's sale) that
    authorised it: an ``ownership_transferred`` entry in the history, and the same checks as
    a transfer — the vehicle live and not stolen, the new owner known, every standing lien's
    signatures among the transaction's signers.

    Raises:
        VehiclesError: UNKNOWN_VEHICLE, VEHICLE_SCRAPPED, VEHICLE_STOLEN, SAME_OWNER,
            UNKNOWN_OWNER, LIEN_HOLDER_SIGNATURE_MISSING.
    """
    record = _require_live_vehicle(ctx.state, vin)
    _refuse_if_stolen(record, "ownership_transferred")
    _refuse_same_owner(record, new_owner)
    _require_did_exists(ctx.state, new_owner, "new_owner")
    _require_lien_holders(ctx, record)
    updated = msgspec.structs.replace(record, owner=new_owner, owners=[*record.owners, new_owner])
    updated = _append_history(
        ctx,
        updated,
        type_="ownership_transferred",
        recorded_by=recorded_by,
        odometer_km=None,
        fields={"new_owner": new_owner},
    )
    keeper.set_vehicle(ctx.state, updated)
    ctx.emit(
        HistoryEventRecorded(
            vin=vin,
            seq=record.event_count,
            type="ownership_transferred",
            odometer_km=None,
            recorded_by=recorded_by,
        )
    )
    ctx.emit(
        OwnershipChanged(
            vin=vin,
            previous_owner=record.owner,
            new_owner=new_owner,
            owners_count=len(updated.owners),
        )
    )


def _require_live_vehicle(state: StateReader, vin: str) -> VehicleRecord:
    record = keeper.get_vehicle(state, vin)
    if record is None:
        raise VehiclesError(
            VehiclesCode.UNKNOWN_VEHICLE,
            f"no vehicle with VIN {vin} is registered",
            details={"vin": vin},
        )
    if record.status == "scrapped":
        raise VehiclesError(
            VehiclesCode.VEHICLE_SCRAPPED,
            f"vehicle {vin} was scrapped",
            details={"vin": vin},
        )
    return record


def _write_lien_entry(
    state: StateWriter,
    record: VehicleRecord,
    type_: str,
    lien: Lien,
    height: int,
    time_ms: int,
    tx_hash: str,
) -> None:
    seq = record.event_count
    unsigned = HistoryEntry(
        seq=seq,
        type=type_,
        time_ms=time_ms,
        height=height,
        tx_hash=tx_hash,
        recorded_by=lien.holder,
        odometer_km=None,
        fields={"holder": lien.holder, "reference": lien.reference},
        prev_hash=record.history_head,
        entry_hash="",
    )
    entry = msgspec.structs.replace(unsigned, entry_hash=compute_history_entry_hash(unsigned))
    keeper.set_history_entry(state, record.vin, entry)
    keeper.set_vehicle(
        state, msgspec.structs.replace(record, event_count=seq + 1, history_head=entry.entry_hash)
    )


def _orgs_with_roles(ctx: TxContext, roles: tuple[str, ...]) -> list[str]:
    """Return the active consortium orgs among the signers holding one of ``roles``, in order."""
    orgs: list[str] = []
    for standing in ctx.standings:
        if standing is None or standing.org is None or standing.status != KeyStatus.ACTIVE:
            continue
        if standing.org not in orgs and any(role in standing.roles for role in roles):
            orgs.append(standing.org)
    return orgs


def _first_org_with_roles(ctx: TxContext, roles: tuple[str, ...]) -> str | None:
    orgs = _orgs_with_roles(ctx, roles)
    return orgs[0] if orgs else None


def _some_signer_controls(ctx: TxContext, did: str) -> bool:
    return any(identity.is_controlled_by(ctx.state, did, key) for key in ctx.signers)


def _require_did_exists(state: StateReader, did: str, field: str) -> None:
    if not identity.did_exists(state, did):
        raise VehiclesError(
            VehiclesCode.UNKNOWN_OWNER,
            f"{field} {did} is not a DID on this chain; create it with identity first",
            details={"field": field, "did": did},
        )


def _refuse_same_owner(record: VehicleRecord, new_owner: str) -> None:
    if new_owner == record.owner:
        raise VehiclesError(
            VehiclesCode.SAME_OWNER,
            f"{new_owner} already owns vehicle {record.vin}",
            details={"vin": record.vin, "owner": new_owner},
        )


def _refuse_if_stolen(record: VehicleRecord, type_: str) -> None:
    if record.status == "stolen":
        raise VehiclesError(
            VehiclesCode.VEHICLE_STOLEN,
            f"vehicle {record.vin} is reported stolen: no change of ownership until it is "
            "recovered",
            details={"vin": record.vin, "type": type_},
        )


def _require_accident(state: StateReader, record: VehicleRecord, seq: int) -> None:
    entry = keeper.get_history_entry(state, record.vin, seq) if seq < record.event_count else None
    if entry is None or entry.type != "accident":
        raise VehiclesError(
            VehiclesCode.UNKNOWN_ACCIDENT,
            f"history entry {seq} of vehicle {record.vin} is not an accident",
            details={"vin": record.vin, "accident_seq": seq},
        )


def _decode_vehicle_key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = decode_hex(text, length=32, what="vehicle_key")
        validate_public_key(key)
    except (EncodingError, InvalidPublicKey) as exc:
        raise VehiclesError(
            VehiclesCode.INVALID_VEHICLE_KEY,
            f"vehicle_key must be a hex Ed25519 public key: {exc}",
            details={"field": "vehicle_key"},
        ) from None
    return key
