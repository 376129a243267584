"""Handlers of the ``identity`` module, and the vehicle-DID interface for ``vehicles``.

Each handler validates, authorises, changes state and emits events, in that order. A handler
may write and then raise: the runtime drops every change of a failed transaction.
"""

from __future__ import annotations

import re

import msgspec

from amchain.crypto import EncodingError, InvalidPublicKey, decode_hex, validate_public_key
from amchain.ledger import StateReader, StateWriter
from amchain.modules import consortium
from amchain.modules.base import KeyStatus, TxContext
from amchain.modules.identity import keeper
from amchain.modules.identity.errors import IdentityCode, IdentityError
from amchain.modules.identity.queries import (
    did_for_key,
    find_key,
    is_active_auth_key,
    parse_did,
    vehicle_did,
)
from amchain.modules.identity.types import (
    PURPOSES,
    AddKeyArgs,
    AddServiceArgs,
    CreateDidArgs,
    DeactivateArgs,
    DidCreated,
    DidDeactivated,
    DidKey,
    DidRecord,
    KeyAdded,
    KeyIndexEntry,
    KeyRevoked,
    KeyRotated,
    Purpose,
    RevokeKeyArgs,
    RotateKeyArgs,
    Service,
    ServiceAdded,
)

__all__ = [
    "add_key",
    "add_service",
    "create_did",
    "deactivate",
    "register_vehicle_did",
    "revoke_key",
    "rotate_key",
]

MAX_ACTIVE_KEYS = 16
MAX_SERVICES = 16
MAX_SERVICE_TYPE_CHARS = 64
MAX_ENDPOINT_CHARS = 512
FRAGMENT_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
URL_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
VIN_PATTERN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")  # ISO 3779: no I, O or Q
FIRST_KEY_PURPOSES: tuple[str, ...] = (
    Purpose.AUTHENTICATION.value,
    Purpose.ASSERTION_METHOD.value,
    Purpose.CAPABILITY_INVOCATION.value,
)
VEHICLE_KEY_ID = "vehicle-key"
VEHICLE_KEY_PURPOSES: tuple[str, ...] = (
    Purpose.AUTHENTICATION.value,
    Purpose.ASSERTION_METHOD.value,
)


# --- shared checks ----------------------------------------------------------------------------


def parse_public_key(text: str, *, what: str = "public_key") -> bytes:
    """Decode a lowercase-hex Ed25519 public key and check it may be registered.

    Raises:
        IdentityError: INVALID_KEY_ENCODING (not 64 lowercase hex digits),
            INVALID_KEY (small-order or non-canonical point).
    """
    if text != text.lower():
        raise IdentityError(
            IdentityCode.INVALID_KEY_ENCODING,
            f"{what} must be lowercase hex",
            details={"field": what},
        )
    try:
        key = decode_hex(text, length=32, what=what)
    except EncodingError as exc:
        raise IdentityError(
            IdentityCode.INVALID_KEY_ENCODING, str(exc), details={"field": what}
        ) from None
    try:
        validate_public_key(key)
    except InvalidPublicKey as exc:
        raise IdentityError(
            IdentityCode.INVALID_KEY, f"{what}: {exc}", details={"field": what}
        ) from None
    return key


def require_key_unused(state: StateReader, key: bytes) -> None:
    """Refuse a key any DID ever held, or that the consortium registered.

    Raises:
        IdentityError: KEY_IN_USE.
    """
    entry = keeper.read_key_index(state, key.hex())
    if entry is not None:
        raise IdentityError(
            IdentityCode.KEY_IN_USE,
            f"this key already belongs to {entry.did} (keys are never reused); use a new key",
            details={"public_key": key.hex(), "did": entry.did},
        )
    if consortium.resolve_key(state, key) is not None:
        raise IdentityError(
            IdentityCode.KEY_IN_USE,
            "this key is registered as a consortium organisation key; use a new key",
            details={"public_key": key.hex()},
        )


def require_cosigned(ctx: TxContext, key: bytes) -> None:
    """Require the key being introduced to sign too (proof of possession).

    Raises:
        IdentityError: NEW_KEY_NOT_SIGNED.
    """
    if key not in ctx.signers:
        raise IdentityError(
            IdentityCode.NEW_KEY_NOT_SIGNED,
            "the new key must co-sign the transaction (proof of possession)",
            details={"public_key": key.hex()},
        )


def require_managed_did(state: StateReader, did: str) -> DidRecord:
    """Return the stored, active record of ``did``.

    Raises:
        IdentityError: INVALID_DID, ORG_DID_NOT_MANAGED, VEHICLE_DID_NOT_REGISTERED,
            UNKNOWN_DID, DID_DEACTIVATED.
    """
    kind, _ = parse_did(did)
    if kind == "org":
        raise IdentityError(
            IdentityCode.ORG_DID_NOT_MANAGED,
            "organisation DIDs follow the consortium's keys; use consortium.add_key or "
            "consortium.revoke_key instead",
            details={"did": did},
        )
    record = keeper.read_did(state, did)
    if record is None:
        if kind == "vin":
            raise IdentityError(
                IdentityCode.VEHICLE_DID_NOT_REGISTERED,
                "this vehicle DID does not exist yet; it is created when the vehicle is "
                "registered (vehicles module)",
                details={"did": did},
            )
        raise IdentityError(
            IdentityCode.UNKNOWN_DID, f"there is no DID {did} on this chain", details={"did": did}
        )
    if record.deactivated:
        raise IdentityError(
            IdentityCode.DID_DEACTIVATED,
            f"{did} was deactivated at height {record.updated_height} and accepts no change",
            details={"did": did},
        )
    return record


def require_controller(ctx: TxContext, record: DidRecord) -> None:
    """Require a signer that is an active authentication key of the DID.

    Raises:
        IdentityError: NOT_CONTROLLER.
    """
    for signer in ctx.signers:
        if is_active_auth_key(record, signer.hex()):
            return
    raise IdentityError(
        IdentityCode.NOT_CONTROLLER,
        f"the transaction must be signed by an active authentication key of {record.did}",
        details={"did": record.did},
    )


def parse_key_id(did: str, key_id: str) -> str:
    """Return the fragment of ``key_id`` given as ``key-2``, ``#key-2`` or ``<did>#key-2``.

    Raises:
        IdentityError: INVALID_KEY_ID.
    """
    fragment = key_id
    if key_id.startswith(did + "#"):
        fragment = key_id[len(did) + 1 :]
    elif key_id.startswith("#"):
        fragment = key_id[1:]
    if FRAGMENT_PATTERN.fullmatch(fragment) is None:
        raise IdentityError(
            IdentityCode.INVALID_KEY_ID,
            "key_id must be a fragment such as 'key-2' (or '#key-2' or '<did>#key-2')",
            details={"did": did, "key_id": key_id},
        )
    return fragment


def require_active_key(record: DidRecord, fragment: str) -> DidKey:
    """Return the active key ``fragment`` of ``record``.

    Raises:
        IdentityError: UNKNOWN_KEY_ID, KEY_ALREADY_REVOKED.
    """
    key = find_key(record, fragment)
    if key is None:
        raise IdentityError(
            IdentityCode.UNKNOWN_KEY_ID,
            f"{record.did} has no key #{fragment}",
            details={"did": record.did, "key_id": fragment},
        )
    if key.status != KeyStatus.ACTIVE:
        raise IdentityError(
            IdentityCode.KEY_ALREADY_REVOKED,
            f"key #{fragment} of {record.did} was already revoked at height {key.revoked_height}",
            details={"did": record.did, "key_id": fragment},
        )
    return key


def validate_purposes(purposes: list[str]) -> None:
    """Check a list of verification relationships.

    Raises:
        IdentityError: NO_PURPOSES, INVALID_PURPOSE, DUPLICATE_PURPOSE.
    """
    if not purposes:
        raise IdentityError(
            IdentityCode.NO_PURPOSES,
            f"give at least one purpose of {', '.join(PURPOSES)}",
        )
    seen: list[str] = []
    for purpose in purposes:
        if purpose not in PURPOSES:
            raise IdentityError(
                IdentityCode.INVALID_PURPOSE,
                f"unknown purpose {purpose!r}; purposes are {', '.join(PURPOSES)}",
                details={"purpose": purpose},
            )
        if purpose in seen:
            raise IdentityError(
                IdentityCode.DUPLICATE_PURPOSE,
                f"purpose {purpose!r} is listed twice",
                details={"purpose": purpose},
            )
        seen.append(purpose)


def validate_service(service: Service) -> None:
    """Check a service entry.

    Raises:
        IdentityError: INVALID_SERVICE.
    """
    problem = ""
    if FRAGMENT_PATTERN.fullmatch(service.id) is None:
        problem = "service id must be a fragment of 1 to 64 characters of [A-Za-z0-9._-]"
    elif not service.type or len(service.type) > MAX_SERVICE_TYPE_CHARS:
        problem = f"service type must have 1 to {MAX_SERVICE_TYPE_CHARS} characters"
    elif len(service.service_endpoint) > MAX_ENDPOINT_CHARS:
        problem = f"service_endpoint must be at most {MAX_ENDPOINT_CHARS} characters"
    elif URL_PATTERN.fullmatch(service.service_endpoint) is None:
        problem = "service_endpoint must be a URL (scheme:..., no spaces)"
    if problem:
        raise IdentityError(
            IdentityCode.INVALID_SERVICE, problem, details={"service_id": service.id}
        )


def _count_active(record: DidRecord) -> int:
    return sum(1 for key in record.keys if key.status == KeyStatus.ACTIVE)


def _require_key_room(record: DidRecord) -> None:
    if _count_active(record) >= MAX_ACTIVE_KEYS:
        raise IdentityError(
            IdentityCode.TOO_MANY_KEYS,
            f"{record.did} already has {MAX_ACTIVE_KEYS} active keys; revoke one first",
            details={"did": record.did},
        )


def _revoked(key: DidKey, height: int) -> DidKey:
    return msgspec.structs.replace(key, status=KeyStatus.REVOKED.value, revoked_height=height)


# --- messages ---------------------------------------------------------------------------------


def check_create_did(args: CreateDidArgs) -> None:
    """Stateless checks of ``create_did`` (also run at admission, before any block).

    Raises:
        IdentityError: INVALID_KEY_ENCODING, INVALID_KEY, TOO_MANY_SERVICES,
            INVALID_SERVICE, DUPLICATE_SERVICE.
    """
    parse_public_key(args.public_key)
    _validate_services("the new DID", args.services)


def check_add_key(args: AddKeyArgs) -> None:
    """Stateless checks of ``add_key`` (also run at admission).

    Raises:
        IdentityError: INVALID_KEY_ENCODING, INVALID_KEY, NO_PURPOSES, INVALID_PURPOSE,
            DUPLICATE_PURPOSE.
    """
    parse_public_key(args.public_key)
    validate_purposes(args.purposes)


def check_rotate_key(args: RotateKeyArgs) -> None:
    """Stateless checks of ``rotate_key`` (also run at admission).

    Raises:
        IdentityError: INVALID_KEY_ENCODING, INVALID_KEY.
    """
    parse_public_key(args.new_public_key, what="new_public_key")


def check_add_service(args: AddServiceArgs) -> None:
    """Stateless checks of ``add_service`` (also run at admission).

    Raises:
        IdentityError: INVALID_SERVICE.
    """
    validate_service(args.service)


def create_did(ctx: TxContext, args: CreateDidArgs) -> None:
    """Create the DID of a person or device from its first key, sponsored by a consortium
    member.

    Raises:
        IdentityError: INVALID_KEY_ENCODING, INVALID_KEY, INVALID_SERVICE, DUPLICATE_SERVICE,
            TOO_MANY_SERVICES, NO_SPONSOR, NEW_KEY_NOT_SIGNED, DID_EXISTS, KEY_IN_USE.
    """
    # validate
    key = parse_public_key(args.public_key)
    did = did_for_key(key)
    _validate_services(did, args.services)

    # authorise: a consortium member sponsors, the new key proves possession
    sponsors = ctx.signer_orgs()
    if not sponsors:
        raise IdentityError(
            IdentityCode.NO_SPONSOR,
            "a DID is created with an active consortium key co-signing as sponsor",
            details={"did": did},
        )
    require_cosigned(ctx, key)
    if keeper.read_did(ctx.state, did) is not None:
        raise IdentityError(IdentityCode.DID_EXISTS, f"{did} already exists", details={"did": did})
    require_key_unused(ctx.state, key)

    # change state
    record = DidRecord(
        did=did,
        controller=None,
        keys=[
            DidKey(
                id="key-1",
                public_key=key.hex(),
                purposes=list(FIRST_KEY_PURPOSES),
                status=KeyStatus.ACTIVE.value,
                added_height=ctx.height,
            )
        ],
        services=list(args.services),
        next_key=2,
        created_height=ctx.height,
        updated_height=ctx.height,
    )
    keeper.write_did(ctx.state, record)
    keeper.write_key_index(ctx.state, key.hex(), KeyIndexEntry(did=did, key_id="key-1"))

    # emit events
    ctx.emit(DidCreated(did=did, key_id=f"{did}#key-1", sponsor=sponsors[0]))


def _validate_services(did: str, services: list[Service]) -> None:
    if len(services) > MAX_SERVICES:
        raise IdentityError(
            IdentityCode.TOO_MANY_SERVICES,
            f"a DID has at most {MAX_SERVICES} services",
            details={"did": did},
        )
    seen: list[str] = []
    for service in services:
        validate_service(service)
        if service.id in seen:
            raise IdentityError(
                IdentityCode.DUPLICATE_SERVICE,
                f"service id {service.id!r} is given twice",
                details={"did": did, "service_id": service.id},
            )
        seen.append(service.id)


def add_key(ctx: TxContext, args: AddKeyArgs) -> None:
    """Add a key to a DID for the given purposes; its id is ``#key-N``.

    Raises:
        IdentityError: INVALID_DID, ORG_DID_NOT_MANAGED, VEHICLE_DID_NOT_REGISTERED,
            UNKNOWN_DID, DID_DEACTIVATED, INVALID_KEY_ENCODING, INVALID_KEY, NO_PURPOSES,
            INVALID_PURPOSE, DUPLICATE_PURPOSE, NOT_CONTROLLER, NEW_KEY_NOT_SIGNED,
            KEY_IN_USE, TOO_MANY_KEYS.
    """
    # validate
    record = require_managed_did(ctx.state, args.did)
    key = parse_public_key(args.public_key)
    validate_purposes(args.purposes)

    # authorise
    require_controller(ctx, record)
    require_cosigned(ctx, key)
    require_key_unused(ctx.state, key)
    _require_key_room(record)

    # change state
    fragment = f"key-{record.next_key}"
    new_key = DidKey(
        id=fragment,
        public_key=key.hex(),
        purposes=[p for p in PURPOSES if p in args.purposes],
        status=KeyStatus.ACTIVE.value,
        added_height=ctx.height,
    )
    keeper.write_did(
        ctx.state,
        msgspec.structs.replace(
            record,
            keys=[*record.keys, new_key],
            next_key=record.next_key + 1,
            updated_height=ctx.height,
        ),
    )
    keeper.write_key_index(ctx.state, key.hex(), KeyIndexEntry(did=record.did, key_id=fragment))

    # emit events
    ctx.emit(
        KeyAdded(did=record.did, key_id=f"{record.did}#{fragment}", purposes=list(new_key.purposes))
    )


def rotate_key(ctx: TxContext, args: RotateKeyArgs) -> None:
    """Revoke a key and add a new one with the same purposes, in one step.

    Raises:
        IdentityError: INVALID_DID, ORG_DID_NOT_MANAGED, VEHICLE_DID_NOT_REGISTERED,
            UNKNOWN_DID, DID_DEACTIVATED, INVALID_KEY_ID, INVALID_KEY_ENCODING, INVALID_KEY,
            NOT_CONTROLLER, UNKNOWN_KEY_ID, KEY_ALREADY_REVOKED, NEW_KEY_NOT_SIGNED,
            KEY_IN_USE.
    """
    # validate
    record = require_managed_did(ctx.state, args.did)
    fragment = parse_key_id(record.did, args.key_id)
    key = parse_public_key(args.new_public_key, what="new_public_key")

    # authorise
    require_controller(ctx, record)
    old = require_active_key(record, fragment)
    require_cosigned(ctx, key)
    require_key_unused(ctx.state, key)

    # change state
    new_fragment = f"key-{record.next_key}"
    new_key = DidKey(
        id=new_fragment,
        public_key=key.hex(),
        purposes=list(old.purposes),
        status=KeyStatus.ACTIVE.value,
        added_height=ctx.height,
    )
    keys = [_revoked(k, ctx.height) if k.id == fragment else k for k in record.keys]
    keeper.write_did(
        ctx.state,
        msgspec.structs.replace(
            record,
            keys=[*keys, new_key],
            next_key=record.next_key + 1,
            updated_height=ctx.height,
        ),
    )
    keeper.write_key_index(ctx.state, key.hex(), KeyIndexEntry(did=record.did, key_id=new_fragment))

    # emit events
    ctx.emit(
        KeyRotated(
            did=record.did,
            revoked_key_id=f"{record.did}#{fragment}",
            key_id=f"{record.did}#{new_fragment}",
        )
    )


def revoke_key(ctx: TxContext, args: RevokeKeyArgs) -> None:
    """Revoke a key of a DID (it stays recorded, and can never be added again).

    Raises:
        IdentityError: INVALID_DID, ORG_DID_NOT_MANAGED, VEHICLE_DID_NOT_REGISTERED,
            UNKNOWN_DID, DID_DEACTIVATED, INVALID_KEY_ID, NOT_CONTROLLER, UNKNOWN_KEY_ID,
            KEY_ALREADY_REVOKED, LAST_AUTH_KEY.
    """
    # validate
    record = require_managed_did(ctx.state, args.did)
    fragment = parse_key_id(record.did, args.key_id)

    # authorise
    require_controller(ctx, record)
    target = require_active_key(record, fragment)
    if Purpose.AUTHENTICATION in target.purposes:
        others = [
            k
            for k in record.keys
            if k.id != fragment
            and k.status == KeyStatus.ACTIVE
            and Purpose.AUTHENTICATION in k.purposes
        ]
        if not others:
            raise IdentityError(
                IdentityCode.LAST_AUTH_KEY,
                f"#{fragment} is the last active authentication key of {record.did}; add "
                "another first, or use rotate_key or deactivate",
                details={"did": record.did, "key_id": fragment},
            )

    # change state
    keeper.write_did(
        ctx.state,
        msgspec.structs.replace(
            record,
            keys=[_revoked(k, ctx.height) if k.id == fragment else k for k in record.keys],
            updated_height=ctx.height,
        ),
    )

    # emit events
    ctx.emit(KeyRevoked(did=record.did, key_id=f"{record.did}#{fragment}"))


def add_service(ctx: TxContext, args: AddServiceArgs) -> None:
    """Add a service endpoint to a DID.

    Raises:
        IdentityError: INVALID_DID, ORG_DID_NOT_MANAGED, VEHICLE_DID_NOT_REGISTERED,
            UNKNOWN_DID, DID_DEACTIVATED, INVALID_SERVICE, NOT_CONTROLLER, DUPLICATE_SERVICE,
            TOO_MANY_SERVICES.
    """
    # validate
    record = require_managed_did(ctx.state, args.did)
    validate_service(args.service)

    # authorise
    require_controller(ctx, record)
    _validate_services(record.did, [*record.services, args.service])

    # change state
    keeper.write_did(
        ctx.state,
        msgspec.structs.replace(
            record, services=[*record.services, args.service], updated_height=ctx.height
        ),
    )

    # emit events
    ctx.emit(
        ServiceAdded(
            did=record.did, service_id=f"{record.did}#{args.service.id}", type=args.service.type
        )
    )


def deactivate(ctx: TxContext, args: DeactivateArgs) -> None:
    """Deactivate a DID for good: its keys stop standing, every later message is refused.

    Raises:
        IdentityError: INVALID_DID, ORG_DID_NOT_MANAGED, VEHICLE_DID_NOT_REGISTERED,
            UNKNOWN_DID, DID_DEACTIVATED, NOT_CONTROLLER.
    """
    # validate
    record = require_managed_did(ctx.state, args.did)

    # authorise
    require_controller(ctx, record)

    # change state
    keeper.write_did(
        ctx.state,
        msgspec.structs.replace(record, deactivated=True, updated_height=ctx.height),
    )

    # emit events
    ctx.emit(DidDeactivated(did=record.did))


# --- interface for the vehicles module --------------------------------------------------------


def register_vehicle_did(
    state: StateWriter,
    *,
    vin: str,
    controller: str,
    vehicle_key: bytes | None,
    height: int,
) -> str:
    """Store ``did:amc:vin:<VIN>`` controlled by ``controller`` (the OEM's org DID), with the
    vehicle's own key as ``#vehicle-key`` (authentication, assertionMethod) when given.

    Called by the vehicles module when it registers a vehicle; returns the DID. Emits no
    event (the calling handler does).

    Raises:
        IdentityError: INVALID_VIN, INVALID_DID (controller), INVALID_KEY, DID_EXISTS,
            KEY_IN_USE.
    """
    # validate
    if VIN_PATTERN.fullmatch(vin) is None:
        raise IdentityError(
            IdentityCode.INVALID_VIN,
            "a VIN is 17 characters of A-Z and 0-9 without I, O or Q (ISO 3779)",
            details={"vin": vin},
        )
    parse_did(controller)
    did = vehicle_did(vin)
    if keeper.read_did(state, did) is not None:
        raise IdentityError(IdentityCode.DID_EXISTS, f"{did} already exists", details={"did": did})
    keys: list[DidKey] = []
    if vehicle_key is not None:
        try:
            validate_public_key(vehicle_key)
        except InvalidPublicKey as exc:
            raise IdentityError(
                IdentityCode.INVALID_KEY, f"vehicle_key: {exc}", details={"vin": vin}
            ) from None
        require_key_unused(state, vehicle_key)
        keys.append(
            DidKey(
                id=VEHICLE_KEY_ID,
                public_key=vehicle_key.hex(),
                purposes=list(VEHICLE_KEY_PURPOSES),
                status=KeyStatus.ACTIVE.value,
                added_height=height,
            )
        )

    # change state
    keeper.write_did(
        state,
        DidRecord(
            did=did,
            controller=controller,
            keys=keys,
            services=[],
            next_key=1,
            created_height=height,
            updated_height=height,
        ),
    )
    if vehicle_key is not None:
        keeper.write_key_index(
            state, vehicle_key.hex(), KeyIndexEntry(did=did, key_id=VEHICLE_KEY_ID)
        )
    return did
