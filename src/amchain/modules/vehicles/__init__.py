"""The ``vehicles`` system contract: one hash-chained life history per vehicle (DESIGN.md §1.3).

Messages: ``register_vehicle`` (oem) and ``record_event`` (a typed lifecycle event; roles per
event type in :data:`ROLES_BY_EVENT`). Other modules and clients use only what this package
exports; see ``README.md`` for state layout, events, errors and invariants.
"""

from __future__ import annotations

from amchain.modules.base import CliCommand, MessageSpec, ModuleSpec, QuerySpec
from amchain.modules.vehicles import queries
from amchain.modules.vehicles.errors import CODESPACE, VehiclesCode, VehiclesError
from amchain.modules.vehicles.handlers import (
    check_record_event,
    check_register_vehicle,
    index_record_event,
    index_register_vehicle,
    place_lien,
    record_event,
    register_vehicle,
    release_lien,
    roles_record_event,
    roles_register_vehicle,
    transfer_ownership,
)
from amchain.modules.vehicles.history import compute_history_entry_hash, verify_history_chain
from amchain.modules.vehicles.keys import history_state_prefix, vehicle_record_state_key
from amchain.modules.vehicles.queries import (
    get_history,
    get_vehicle,
    summarize_history,
    vehicle_to_json,
)
from amchain.modules.vehicles.types import (
    EMPTY_HISTORY_HEAD,
    EVENT_TYPES,
    HISTORY_TYPES,
    LIEN_TYPES,
    MAX_ODOMETER_KM,
    ROLES_BY_EVENT,
    AccidentEvent,
    HistoryEntry,
    HistoryEventRecorded,
    HistoryReport,
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
    VehicleParams,
    VehicleRecord,
    VehicleRegistered,
    VehicleView,
    event_type,
)
from amchain.modules.vehicles.validation import compute_vin_check_digit, validate_vin

__all__ = [
    "EMPTY_HISTORY_HEAD",
    "EVENT_TYPES",
    "HISTORY_TYPES",
    "LIEN_TYPES",
    "MAX_ODOMETER_KM",
    "ROLES_BY_EVENT",
    "SPEC",
    "AccidentEvent",
    "HistoryEntry",
    "HistoryReport",
    "InspectedEvent",
    "InsuranceClaimEvent",
    "Lien",
    "OdometerEvent",
    "OwnershipTransferredEvent",
    "RecallNoticeEvent",
    "RecordEventArgs",
    "RecoveredEvent",
    "RegisterVehicleArgs",
    "RegisteredEvent",
    "RepairedEvent",
    "ScrappedEvent",
    "ServicedEvent",
    "SoldEvent",
    "StolenEvent",
    "VehicleEvent",
    "VehicleRecord",
    "VehiclesCode",
    "VehiclesError",
    "compute_history_entry_hash",
    "compute_vin_check_digit",
    "event_type",
    "get_history",
    "get_vehicle",
    "history_state_prefix",
    "place_lien",
    "release_lien",
    "summarize_history",
    "transfer_ownership",
    "validate_vin",
    "vehicle_record_state_key",
    "vehicle_to_json",
    "verify_history_chain",
]

SPEC = ModuleSpec(
    name="vehicles",
    codespace=CODESPACE,
    messages={
        "register_vehicle": MessageSpec(
            name="register_vehicle",
            args_type=RegisterVehicleArgs,
            handler=register_vehicle,
            summary="Register a vehicle leaving the line: create its DID and its history",
            roles=roles_register_vehicle,
            index=index_register_vehicle,
            check=check_register_vehicle,
            signers="an OEM key",
            example={
                "vin": "1HGCM82633A004352",
                "make": "Honda",
                "model": "Accord",
                "model_year": 2003,
            },
            cli=CliCommand(
                "vehicle register",
                positional=("vin",),
                options={"--year": "model_year"},
                summary="Register a vehicle leaving the line (an OEM key signs).",
            ),
        ),
        "record_event": MessageSpec(
            name="record_event",
            args_type=RecordEventArgs,
            handler=record_event,
            summary="Append a lifecycle event (sale, service, accident, theft, …) to a "
            "vehicle's history",
            roles=roles_record_event,
            index=index_record_event,
            check=check_record_event,
            signers="a key of a role the event type needs (an ownership transfer: the "
            "owner and the new owner)",
            example={
                "vin": "1HGCM82633A004352",
                "event": {"type": "odometer", "odometer_km": 12500, "source": "registry"},
            },
            cli=CliCommand(
                "vehicle event",
                positional=("vin", "event.type"),
                options={"--odometer-km": "event.odometer_km"},
                field_prefix="event.",
                summary="Record a typed lifecycle event on a vehicle's history.",
            ),
        ),
    },
    queries={
        "vehicle": QuerySpec(
            name="vehicle",
            params_type=VehicleParams,
            result_type=VehicleView,
            handler=queries.query_vehicle,
            summary="A vehicle's current record",
            path="/vehicles/{vin}",
            not_found="no vehicle with VIN {vin} is registered",
            cli=CliCommand("vehicle show", positional=("vin",), summary="Show a vehicle's record."),
        ),
        "history": QuerySpec(
            name="history",
            params_type=VehicleParams,
            result_type=HistoryReport,
            handler=queries.query_history,
            summary="A vehicle's life history, in order, with flags",
            description="Flags include refused odometer rollbacks (who tried, when, what "
            "value). With `proof=true` the answer is also a proof bundle that `amchain "
            "verify` checks as saved; summary and flags are for display, not proven.",
            path="/vehicles/{vin}/history",
            not_found="no vehicle with VIN {vin} is registered",
            proof="on_request",
            historical=True,
        ),
    },
    events=(VehicleRegistered, HistoryEventRecorded, OwnershipChanged, VehicleFlagged),
    title="Vehicles",
    description="One hash-chained life history per vehicle, from production to scrapping.",
)
