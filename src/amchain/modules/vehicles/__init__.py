"""The ``vehicles`` system contract: one hash-chained life history per vehicle (DESIGN.md §1.3).

Messages: ``register_vehicle`` (oem) and ``record_event`` (a typed lifecycle event; roles per
event type in :data:`ROLES_BY_EVENT`). Other modules and clients use only what this package
exports; see ``README.md`` for state layout, events, errors and invariants.
"""

from __future__ import annotations

from amchain.modules.base import MessageSpec, ModuleSpec
from amchain.modules.vehicles.errors import CODESPACE, VehiclesCode, VehiclesError
from amchain.modules.vehicles.handlers import (
    check_record_event,
    check_register_vehicle,
    index_record_event,
    index_register_vehicle,
    record_event,
    register_vehicle,
    roles_record_event,
    roles_register_vehicle,
)
from amchain.modules.vehicles.history import compute_history_entry_hash, verify_history_chain
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
    MAX_ODOMETER_KM,
    ROLES_BY_EVENT,
    AccidentEvent,
    HistoryEntry,
    InspectedEvent,
    InsuranceClaimEvent,
    OdometerEvent,
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
    VehicleRecord,
    event_type,
)
from amchain.modules.vehicles.validation import compute_vin_check_digit, validate_vin

__all__ = [
    "EMPTY_HISTORY_HEAD",
    "EVENT_TYPES",
    "HISTORY_TYPES",
    "MAX_ODOMETER_KM",
    "ROLES_BY_EVENT",
    "SPEC",
    "AccidentEvent",
    "HistoryEntry",
    "InspectedEvent",
    "InsuranceClaimEvent",
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
    "summarize_history",
    "validate_vin",
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
        ),
    },
)
