"""Message handlers of the ``credentials`` module: one function per message.

Each handler runs in labelled steps: validate, authorise, change state, emit events. A
handler raises :class:`CredentialsError` to refuse; the runtime then drops every change it
made. Signatures of credentials are checked on chain (``eddsa-jcs-2022`` against the
issuer's DID document as the chain holds it), so what the state anchors was really issued
by who it names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from amchain.codec import CanonicalizationError, encode_canonical
from amchain.crypto import sha256
from amchain.ledger import StateReader
from amchain.modules import identity, vehicles
from amchain.modules.base import TxContext
from amchain.modules.credentials import keeper
from amchain.modules.credentials.errors import CredentialsCode, CredentialsError
from amchain.modules.credentials.types import (
    AccessGranted,
    AccessLogEntry,
    AccessLogged,
    AccessLogHead,
    CreateStatusListArgs,
    CredentialRecord,
    CredentialRegistered,
    GrantAccessArgs,
    GrantRecord,
    LogAccessArgs,
    LogEntryArgs,
    RegisterCredentialArgs,
    SetStatusArgs,
    StatusChanged,
    StatusListCreated,
    StatusListRecord,
    StatusRef,
)
from amchain.vc import (
    ACCESS_GRANT,
    ACCESS_SCOPES,
    DEFAULT_LIST_BITS,
    MAX_LIST_BITS,
    MIN_LIST_BITS,
    STATUS_PURPOSES,
    VC_CONTEXT,
    DateTimeError,
    VcError,
    chunk_position,
    credential_issuer,
    credential_status_refs,
    list_url,
    parse_datetime_ms,
    parse_list_url,
    read_bit,
    verify_proof,
    write_bit,
)

__all__ = [
    "check_create_status_list",
    "check_grant_access",
    "check_log_access",
    "check_register_credential",
    "check_set_status",
    "compute_log_entry_hash",
    "create_status_list",
    "grant_access",
    "log_access",
    "register_credential",
    "set_status",
]

CREDENTIAL_ID = re.compile(r"[A-Za-z0-9:._-]{1,128}")
DID = re.compile(r"did:(amc|key):[A-Za-z0-9._:-]{1,128}")
LIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")
NONCE = re.compile(r"[0-9a-f]{16,128}")
REASON = re.compile(r"[a-z_]{1,32}")
ACTION = re.compile(r"[a-z_]{1,32}")
VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
MAX_GRANT_MS = 366 * 86_400_000
MAX_USES = 1_000_000
MAX_LOG_ENTRIES = 64
EMPTY_LOG_HEAD = "00" * 32
LOG_DOMAIN = b"amchain/access-log/v1\x00"


# --- shared steps -----------------------------------------------------------------------------


def _invalid(message: str, **details: Any) -> CredentialsError:
    return CredentialsError(CredentialsCode.INVALID_CREDENTIAL, message, details=details)


def _digest(credential: Mapping[str, Any]) -> str:
    try:
        return sha256(encode_canonical(credential)).hex()
    except CanonicalizationError as exc:
        raise _invalid(f"the credential has no canonical JSON form: {exc}") from None


def _credential_id(credential: Mapping[str, Any]) -> str:
    value = credential.get("id")
    if not isinstance(value, str) or CREDENTIAL_ID.fullmatch(value) is None:
        raise _invalid(
            "a credential registered on chain needs an id of 1 to 128 characters of "
            "[A-Za-z0-9:._-] (e.g. urn:uuid:…)"
        )
    return value


def _types(credential: Mapping[str, Any]) -> list[str]:
    types = credential.get("type")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _invalid("type must be a list of strings")
    if "VerifiableCredential" not in types:
        raise _invalid("type must include VerifiableCredential")
    return [str(t) for t in types]


def _check_structure(credential: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise _invalid(f"@context must start with {VC_CONTEXT}")
    credential_id = _credential_id(credential)
    types = _types(credential)
    issuer = credential_issuer(credential)
    if issuer is None or DID.fullmatch(issuer) is None:
        raise _invalid("issuer must be a did:amc or did:key DID", issuer=str(issuer))
    if not isinstance(credential.get("proof"), Mapping):
        raise CredentialsError(
            CredentialsCode.PROOF_INVALID, "the credential carries no (single) proof"
        )
    return credential_id, issuer, types


def _time_ms(credential: Mapping[str, Any], field: str) -> int | None:
    value = credential.get(field)
    if value is None:
        return None
    try:
        return parse_datetime_ms(str(value))
    except DateTimeError as exc:
        raise _invalid(f"{field}: {exc}", field=field) from None


def _status_refs(credential: Mapping[str, Any], issuer: str) -> list[StatusRef]:
    try:
        refs = credential_status_refs(credential)
    except VcError as exc:
        raise CredentialsError(CredentialsCode.INVALID_STATUS_ENTRY, exc.message) from None
    out: list[StatusRef] = []
    for purpose, url, index in refs:
        list_issuer, _ = parse_list_url(url)
        if list_issuer != issuer:
            raise CredentialsError(
                CredentialsCode.INVALID_STATUS_ENTRY,
                f"status list {url} belongs to {list_issuer}, not to the issuer {issuer}",
                details={"status_list": url},
            )
        if any(r.purpose == purpose for r in out):
            raise CredentialsError(
                CredentialsCode.INVALID_STATUS_ENTRY,
                f"the credential has two {purpose} entries; give one per purpose",
            )
        out.append(StatusRef(purpose=purpose, status_list=url, index=index))
    return out


def _require_controls(ctx: TxContext, did: str) -> None:
    """Require a signer that may act for ``did`` (its DID key, or its organisation's key)."""
    if not any(identity.is_controlled_by(ctx.state, did, key) for key in ctx.signers):
        raise CredentialsError(
            CredentialsCode.NOT_ISSUER,
            f"the transaction must be signed by a key that controls {did}",
            details={"did": did},
        )


def _document_loader(state: StateReader) -> Any:
    def load(did: str) -> Mapping[str, Any] | None:
        try:
            resolved = identity.resolve_did(state, did)
        except identity.IdentityError:
            return None
        if resolved is None:
            return None
        document: Mapping[str, Any] = resolved["didDocument"]
        return document

    return load


def _verify_signed_by(state: StateReader, credential: Mapping[str, Any], issuer: str) -> str:
    """Verify the credential's proof with the issuer's key as the chain knows it; return the
    verification method."""
    try:
        proof = verify_proof(credential, load=_document_loader(state))
    except VcError as exc:
        raise CredentialsError(
            CredentialsCode.PROOF_INVALID,
            f"the credential's proof does not verify: {exc.message}",
            details={"reason": exc.reason.value},
        ) from None
    if proof.verification_method.split("#", 1)[0] != issuer:
        raise CredentialsError(
            CredentialsCode.PROOF_INVALID,
            f"the credential is signed by {proof.verification_method}, not by its issuer {issuer}",
        )
    return proof.verification_method


def _list_or_create(ctx: TxContext, issuer: str, name: str, purpose: str) -> StatusListRecord:
    record = keeper.read_status_list(ctx.state, issuer, name)
    if record is None:
        record = StatusListRecord(
            issuer=issuer,
            name=name,
            purpose=purpose,
            size=DEFAULT_LIST_BITS,
            created_height=ctx.height,
        )
        keeper.write_status_list(ctx.state, record)
        ctx.emit(
            StatusListCreated(status_list=list_url(issuer, name), purpose=purpose, size=record.size)
        )
    return record


def _claim_slots(ctx: TxContext, refs: list[StatusRef], credential_id: str) -> None:
    """Take each status index for the credential (creating the issuer's list on first use)."""
    for ref in refs:
        issuer, name = parse_list_url(ref.status_list)
        record = _list_or_create(ctx, issuer, name, ref.purpose)
        if record.purpose != ref.purpose:
            raise CredentialsError(
                CredentialsCode.INVALID_STATUS_ENTRY,
                f"{ref.status_list} is a {record.purpose} list, not a {ref.purpose} list",
                details={"status_list": ref.status_list},
            )
        _require_in_range(record, ref.index)
        holder = keeper.read_slot(ctx.state, issuer, name, ref.index)
        chunk, offset = chunk_position(ref.index)
        if holder is not None or read_bit(
            keeper.read_chunk(ctx.state, issuer, name, chunk), offset
        ):
            raise CredentialsError(
                CredentialsCode.SLOT_TAKEN,
                f"index {ref.index} of {ref.status_list} is already in use; pick another "
                "(random) index and sign again",
                details={"status_list": ref.status_list, "index": ref.index},
            )
        keeper.write_slot(ctx.state, issuer, name, ref.index, credential_id)


def _require_in_range(record: StatusListRecord, index: int) -> None:
    if not 0 <= index < record.size:
        raise CredentialsError(
            CredentialsCode.INDEX_OUT_OF_RANGE,
            f"index {index} is outside {list_url(record.issuer, record.name)} "
            f"(0..{record.size - 1})",
            details={"index": index, "size": record.size},
        )


# --- create_status_list -----------------------------------------------------------------------


def check_create_status_list(args: CreateStatusListArgs) -> None:
    """Stateless checks of ``create_status_list``.

    Raises:
        CredentialsError: INVALID_STATUS_LIST.
    """
    problem = ""
    if DID.fullmatch(args.issuer) is None:
        problem = "issuer must be a did:amc DID"
    elif LIST_NAME.fullmatch(args.name) is None:
        problem = "name must be 1 to 48 of a-z 0-9 . _ - (starting with a letter or digit)"
    elif args.purpose not in STATUS_PURPOSES:
        problem = f"purpose must be one of {', '.join(STATUS_PURPOSES)}"
    elif not MIN_LIST_BITS <= args.size <= MAX_LIST_BITS or args.size % 8:
        problem = (
            f"size must be a multiple of 8 in {MIN_LIST_BITS}..{MAX_LIST_BITS} bits (the "
            "spec's minimum gives each credential herd privacy)"
        )
    if problem:
        raise CredentialsError(
            CredentialsCode.INVALID_STATUS_LIST, problem, details={"name": args.name}
        )


def create_status_list(ctx: TxContext, args: CreateStatusListArgs) -> None:
    """Create an issuer's status list (its bits start as zeros and cost no state).

    Raises:
        CredentialsError: INVALID_STATUS_LIST, NOT_ISSUER, STATUS_LIST_EXISTS.
    """
    # validate
    check_create_status_list(args)

    # authorise
    _require_controls(ctx, args.issuer)
    if keeper.read_status_list(ctx.state, args.issuer, args.name) is not None:
        raise CredentialsError(
            CredentialsCode.STATUS_LIST_EXISTS,
            f"{list_url(args.issuer, args.name)} already exists",
            details={"status_list": list_url(args.issuer, args.name)},
        )

    # change state
    record = StatusListRecord(
        issuer=args.issuer,
        name=args.name,
        purpose=args.purpose,
        size=args.size,
        created_height=ctx.height,
    )
    keeper.write_status_list(ctx.state, record)

    # emit events
    ctx.emit(
        StatusListCreated(
            status_list=list_url(args.issuer, args.name), purpose=args.purpose, size=args.size
        )
    )


# --- set_status -------------------------------------------------------------------------------


def check_set_status(args: SetStatusArgs) -> None:
    """Stateless checks of ``set_status``.

    Raises:
        CredentialsError: INVALID_STATUS_LIST, INDEX_OUT_OF_RANGE.
    """
    try:
        parse_list_url(args.status_list)
    except VcError as exc:
        raise CredentialsError(CredentialsCode.INVALID_STATUS_LIST, exc.message) from None
    if not 0 <= args.index < MAX_LIST_BITS:
        raise CredentialsError(
            CredentialsCode.INDEX_OUT_OF_RANGE,
            f"index {args.index} is outside any status list",
            details={"index": args.index},
        )


def set_status(ctx: TxContext, args: SetStatusArgs) -> None:
    """Set one status bit: revoke (final), suspend or resume a credential.

    Touches one list header and one chunk of CHUNK_BYTES, whatever the list's size.

    Raises:
        CredentialsError: INVALID_STATUS_LIST, UNKNOWN_STATUS_LIST, NOT_ISSUER,
            INDEX_OUT_OF_RANGE, REVOCATION_IS_FINAL, STATUS_UNCHANGED.
    """
    # validate
    check_set_status(args)
    issuer, name = parse_list_url(args.status_list)
    record = keeper.read_status_list(ctx.state, issuer, name)
    if record is None:
        raise CredentialsError(
            CredentialsCode.UNKNOWN_STATUS_LIST,
            f"there is no status list {args.status_list}",
            details={"status_list": args.status_list},
        )
    _require_in_range(record, args.index)

    # authorise
    _require_controls(ctx, issuer)

    # change state
    chunk, offset = chunk_position(args.index)
    data = keeper.read_chunk(ctx.state, issuer, name, chunk)
    current = read_bit(data, offset)
    if current and not args.value and record.purpose == "revocation":
        raise CredentialsError(
            CredentialsCode.REVOCATION_IS_FINAL,
            "a revoked credential stays revoked; issue a new one instead",
            details={"status_list": args.status_list, "index": args.index},
        )
    if current == args.value:
        state_word = {"revocation": "revoked", "suspension": "suspended"}[record.purpose]
        raise CredentialsError(
            CredentialsCode.STATUS_UNCHANGED,
            f"index {args.index} of {args.status_list} is already "
            f"{state_word if args.value else 'not ' + state_word}",
            details={"status_list": args.status_list, "index": args.index},
        )
    keeper.write_chunk(ctx.state, issuer, name, chunk, write_bit(data, offset, args.value))

    # emit events
    ctx.emit(
        StatusChanged(
            status_list=args.status_list,
            index=args.index,
            purpose=record.purpose,
            value=args.value,
        )
    )


# --- register_credential ----------------------------------------------------------------------


def check_register_credential(args: RegisterCredentialArgs) -> None:
    """Stateless checks of ``register_credential``.

    Raises:
        CredentialsError: INVALID_CREDENTIAL, PROOF_INVALID, INVALID_STATUS_ENTRY,
            GRANT_NOT_REGISTERED_HERE.
    """
    credential = args.credential
    _, issuer, types = _check_structure(credential)
    if ACCESS_GRANT in types:
        raise CredentialsError(
            CredentialsCode.GRANT_NOT_REGISTERED_HERE,
            "a VehicleAccessGrant is registered with grant_access (it checks the owner)",
        )
    _time_ms(credential, "validFrom")
    _time_ms(credential, "validUntil")
    _status_refs(credential, issuer)


def _subject_of(credential: Mapping[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        return str(subject["id"])
    return None


def register_credential(ctx: TxContext, args: RegisterCredentialArgs) -> None:
    """Anchor a signed credential: check its proof against the issuer's keys on chain, take
    its status indexes, and keep its digest (not its body).

    Raises:
        CredentialsError: INVALID_CREDENTIAL, PROOF_INVALID, INVALID_STATUS_ENTRY,
            GRANT_NOT_REGISTERED_HERE, NOT_ISSUER, DUPLICATE_CREDENTIAL, INDEX_OUT_OF_RANGE,
            SLOT_TAKEN.
    """
    # validate
    check_register_credential(args)
    credential = args.credential
    credential_id, issuer, types = _check_structure(credential)
    refs = _status_refs(credential, issuer)

    # authorise
    _require_controls(ctx, issuer)
    _verify_signed_by(ctx.state, credential, issuer)
    if keeper.read_credential(ctx.state, credential_id) is not None:
        raise CredentialsError(
            CredentialsCode.DUPLICATE_CREDENTIAL,
            f"credential {credential_id} is already registered",
            details={"credential_id": credential_id},
        )

    # change state
    _claim_slots(ctx, refs, credential_id)
    subject = _subject_of(credential)
    keeper.write_credential(
        ctx.state,
        CredentialRecord(
            id=credential_id,
            issuer=issuer,
            types=types,
            subject=subject,
            digest=_digest(credential),
            valid_from_ms=_time_ms(credential, "validFrom"),
            valid_until_ms=_time_ms(credential, "validUntil"),
            status=refs,
            height=ctx.height,
            time_ms=ctx.time_ms,
            tx_hash=ctx.tx_hash,
        ),
    )

    # emit events
    ctx.emit(
        CredentialRegistered(
            credential_id=credential_id,
            issuer=issuer,
            types=[t for t in types if t != "VerifiableCredential"],
            subject=subject,
        )
    )


def index_register_credential(args: RegisterCredentialArgs) -> list[tuple[str, str]]:
    """Index under the credential id, the issuer, the subject (and its VIN for a vehicle)."""
    credential = args.credential
    pairs: list[tuple[str, str]] = []
    if isinstance(credential.get("id"), str):
        pairs.append(("credential", str(credential["id"])))
    issuer = credential_issuer(credential)
    if issuer is not None:
        pairs.append(("did", issuer))
    subject = _subject_of(credential)
    if subject is not None:
        pairs.append(("did", subject))
        if subject.startswith("did:amc:vin:"):
            pairs.append(("vehicle", subject[len("did:amc:vin:") :]))
    return pairs


# --- grant_access -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Grant:
    id: str
    owner: str
    vin: str
    owner_epoch: int
    grantee: str
    scopes: list[str]
    valid_from_ms: int
    valid_until_ms: int
    max_uses: int | None
    status: list[StatusRef]


def _bad_grant(message: str, **details: Any) -> CredentialsError:
    return CredentialsError(CredentialsCode.INVALID_GRANT, message, details=details)


def _parse_grant(credential: Mapping[str, Any]) -> _Grant:
    credential_id, owner, types = _check_structure(credential)
    if ACCESS_GRANT not in types:
        raise _bad_grant(f"type must include {ACCESS_GRANT}")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise _bad_grant("credentialSubject must be one object")
    grantee = subject.get("id")
    vin = subject.get("vin")
    epoch = subject.get("ownerEpoch")
    scopes = subject.get("scopes")
    max_uses = subject.get("maxUses")
    if not isinstance(grantee, str) or DID.fullmatch(grantee) is None:
        raise _bad_grant("credentialSubject.id (the grantee) must be a did:amc or did:key DID")
    if not isinstance(vin, str) or VIN.fullmatch(vin) is None:
        raise _bad_grant("credentialSubject.vin must be a VIN")
    if subject.get("vehicle") != "did:amc:vin:" + vin:
        raise _bad_grant("credentialSubject.vehicle must be the DID of credentialSubject.vin")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        raise _bad_grant("credentialSubject.ownerEpoch must be a positive integer")
    if (
        not isinstance(scopes, list)
        or not scopes
        or any(s not in ACCESS_SCOPES for s in scopes)
        or len(set(scopes)) != len(scopes)
    ):
        raise _bad_grant(
            f"credentialSubject.scopes must be distinct scopes of: {', '.join(ACCESS_SCOPES)}"
        )
    if max_uses is not None and (
        not isinstance(max_uses, int) or isinstance(max_uses, bool) or not 1 <= max_uses <= MAX_USES
    ):
        raise _bad_grant(f"credentialSubject.maxUses must be in 1..{MAX_USES}")
    start = _time_ms(credential, "validFrom")
    end = _time_ms(credential, "validUntil")
    if start is None or end is None:
        raise _bad_grant("a grant needs validFrom and validUntil")
    if not start < end <= start + MAX_GRANT_MS:
        raise _bad_grant("validUntil must be after validFrom, and at most 366 days later")
    refs = _status_refs(credential, owner)
    if sorted(r.purpose for r in refs) != sorted(STATUS_PURPOSES):
        raise CredentialsError(
            CredentialsCode.GRANT_STATUS_MISSING,
            "a grant carries one revocation and one suspension status entry (on the owner's "
            "lists), so the owner can revoke, suspend and resume it",
        )
    return _Grant(
        id=credential_id,
        owner=owner,
        vin=vin,
        owner_epoch=epoch,
        grantee=grantee,
        scopes=sorted(str(s) for s in scopes),
        valid_from_ms=start,
        valid_until_ms=end,
        max_uses=max_uses,
        status=refs,
    )


def check_grant_access(args: GrantAccessArgs) -> None:
    """Stateless checks of ``grant_access``.

    Raises:
        CredentialsError: INVALID_CREDENTIAL, PROOF_INVALID, INVALID_GRANT,
            INVALID_STATUS_ENTRY, GRANT_STATUS_MISSING.
    """
    _parse_grant(args.grant)


def grant_access(ctx: TxContext, args: GrantAccessArgs) -> None:
    """Register a ``VehicleAccessGrant`` issued (and signed) by the vehicle's current owner.

    The grant belongs to the ownership epoch it names: once the vehicle changes hands, the
    epoch moves on and the grant is dead (the car and the queries compare the two).

    Raises:
        CredentialsError: INVALID_CREDENTIAL, INVALID_GRANT, INVALID_STATUS_ENTRY,
            GRANT_STATUS_MISSING, UNKNOWN_VEHICLE, VEHICLE_NOT_ACTIVE, NOT_CURRENT_OWNER,
            OWNER_EPOCH_MISMATCH, NOT_ISSUER, PROOF_INVALID, DUPLICATE_CREDENTIAL,
            INDEX_OUT_OF_RANGE, SLOT_TAKEN.
    """
    # validate
    grant = _parse_grant(args.grant)
    vehicle = vehicles.get_vehicle(ctx.state, grant.vin)
    if vehicle is None:
        raise CredentialsError(
            CredentialsCode.UNKNOWN_VEHICLE,
            f"no vehicle with VIN {grant.vin} is registered",
            details={"vin": grant.vin},
        )
    if vehicle.status != "active":
        raise CredentialsError(
            CredentialsCode.VEHICLE_NOT_ACTIVE,
            f"vehicle {grant.vin} is {vehicle.status}: no access grants",
            details={"vin": grant.vin, "status": vehicle.status},
        )
    if grant.owner != vehicle.owner:
        raise CredentialsError(
            CredentialsCode.NOT_CURRENT_OWNER,
            f"the grant is issued by {grant.owner}, but vehicle {grant.vin} is owned by "
            f"{vehicle.owner}; only the current owner grants access",
            details={"vin": grant.vin, "owner": vehicle.owner, "issuer": grant.owner},
        )
    if grant.owner_epoch != len(vehicle.owners):
        raise CredentialsError(
            CredentialsCode.OWNER_EPOCH_MISMATCH,
            f"the grant names ownership epoch {grant.owner_epoch}; the vehicle is in epoch "
            f"{len(vehicle.owners)}",
            details={"vin": grant.vin, "owner_epoch": len(vehicle.owners)},
        )
    if grant.valid_until_ms <= ctx.time_ms:
        raise _bad_grant("the grant has already expired", valid_until_ms=grant.valid_until_ms)

    # authorise
    _require_controls(ctx, grant.owner)
    method = _verify_signed_by(ctx.state, args.grant, grant.owner)
    if keeper.read_grant(ctx.state, grant.vin, grant.id) is not None:
        raise CredentialsError(
            CredentialsCode.DUPLICATE_CREDENTIAL,
            f"grant {grant.id} is already registered",
            details={"credential_id": grant.id},
        )

    # change state
    _claim_slots(ctx, grant.status, grant.id)
    keeper.write_grant(
        ctx.state,
        GrantRecord(
            id=grant.id,
            vin=grant.vin,
            owner=grant.owner,
            owner_epoch=grant.owner_epoch,
            grantee=grant.grantee,
            scopes=grant.scopes,
            valid_from_ms=grant.valid_from_ms,
            valid_until_ms=grant.valid_until_ms,
            max_uses=grant.max_uses,
            uses=0,
            digest=_digest(args.grant),
            verification_method=method,
            status=grant.status,
            height=ctx.height,
            time_ms=ctx.time_ms,
            tx_hash=ctx.tx_hash,
        ),
    )

    # emit events
    ctx.emit(
        AccessGranted(
            vin=grant.vin,
            grant_id=grant.id,
            owner=grant.owner,
            grantee=grant.grantee,
            scopes=grant.scopes,
            valid_until_ms=grant.valid_until_ms,
        )
    )


def index_grant_access(args: GrantAccessArgs) -> list[tuple[str, str]]:
    """Index under the grant id, the vehicle, the owner and the grantee."""
    grant = args.grant
    pairs: list[tuple[str, str]] = []
    if isinstance(grant.get("id"), str):
        pairs.append(("credential", str(grant["id"])))
    subject = grant.get("credentialSubject")
    if isinstance(subject, Mapping):
        if isinstance(subject.get("vin"), str):
            pairs.append(("vehicle", str(subject["vin"])))
        if isinstance(subject.get("id"), str):
            pairs.append(("did", str(subject["id"])))
    issuer = credential_issuer(grant)
    if issuer is not None:
        pairs.append(("did", issuer))
    return pairs


# --- log_access -------------------------------------------------------------------------------


def compute_log_entry_hash(entry: AccessLogEntry) -> str:
    """``sha256("amchain/access-log/v1\\0" + JCS(entry without entry_hash))``, hex."""
    plain = msgspec.to_builtins(entry)
    plain.pop("entry_hash", None)
    return sha256(LOG_DOMAIN + encode_canonical(plain)).hex()


def _check_entry(entry: LogEntryArgs) -> None:
    problem = ""
    if NONCE.fullmatch(entry.nonce) is None:
        problem = "nonce must be 16 to 128 lowercase hex digits"
    elif ACTION.fullmatch(entry.action) is None:
        problem = "action must be 1 to 32 of a-z and _"
    elif REASON.fullmatch(entry.reason) is None:
        problem = "reason must be 1 to 32 of a-z and _"
    elif entry.decided_at_ms < 0 or entry.seq < 0:
        problem = "seq and decided_at_ms must not be negative"
    elif entry.grant_id is not None and CREDENTIAL_ID.fullmatch(entry.grant_id) is None:
        problem = "grant_id must be a credential id"
    elif entry.grantee is not None and DID.fullmatch(entry.grantee) is None:
        problem = "grantee must be a DID"
    if problem:
        raise CredentialsError(
            CredentialsCode.INVALID_LOG_ENTRY, problem, details={"seq": entry.seq}
        )


def check_log_access(args: LogAccessArgs) -> None:
    """Stateless checks of ``log_access``.

    Raises:
        CredentialsError: UNKNOWN_VEHICLE (not a VIN), INVALID_LOG_ENTRY.
    """
    if VIN.fullmatch(args.vin) is None:
        raise CredentialsError(
            CredentialsCode.UNKNOWN_VEHICLE, f"{args.vin!r} is not a VIN", details={"vin": args.vin}
        )
    if not 1 <= len(args.entries) <= MAX_LOG_ENTRIES:
        raise CredentialsError(
            CredentialsCode.INVALID_LOG_ENTRY,
            f"send 1 to {MAX_LOG_ENTRIES} entries per transaction",
        )
    for entry in args.entries:
        _check_entry(entry)


def log_access(ctx: TxContext, args: LogAccessArgs) -> None:
    """Append the vehicle's decisions to its hash-chained access log; count grant uses.

    Signed by the vehicle's own key (``did:amc:vin:<VIN>#vehicle-key``). Entries continue the
    log without gaps (``seq`` = the log's count, then +1 each); a use the car allowed adds one
    to its grant's ``uses``.

    Raises:
        CredentialsError: UNKNOWN_VEHICLE, INVALID_LOG_ENTRY, NOT_VEHICLE_KEY,
            LOG_SEQ_MISMATCH.
    """
    # validate
    check_log_access(args)
    vehicle = vehicles.get_vehicle(ctx.state, args.vin)
    if vehicle is None:
        raise CredentialsError(
            CredentialsCode.UNKNOWN_VEHICLE,
            f"no vehicle with VIN {args.vin} is registered",
            details={"vin": args.vin},
        )

    # authorise
    if not any(identity.is_controlled_by(ctx.state, vehicle.did, key) for key in ctx.signers):
        raise CredentialsError(
            CredentialsCode.NOT_VEHICLE_KEY,
            f"the access log of {args.vin} is written by the vehicle's own key "
            f"({vehicle.did}#vehicle-key)",
            details={"vin": args.vin},
        )
    head = keeper.read_log_head(ctx.state, args.vin) or AccessLogHead(count=0, head=EMPTY_LOG_HEAD)
    for offset, entry in enumerate(args.entries):
        if entry.seq != head.count + offset:
            raise CredentialsError(
                CredentialsCode.LOG_SEQ_MISMATCH,
                f"entry seq {entry.seq} does not continue the log (next seq is "
                f"{head.count + offset})",
                details={"vin": args.vin, "expected_seq": head.count + offset},
            )

    # change state
    uses: dict[str, int] = {}
    prev = head.head
    for entry in args.entries:
        unsigned = AccessLogEntry(
            seq=entry.seq,
            nonce=entry.nonce,
            action=entry.action,
            allowed=entry.allowed,
            reason=entry.reason,
            grant_id=entry.grant_id,
            grantee=entry.grantee,
            decided_at_ms=entry.decided_at_ms,
            height=ctx.height,
            time_ms=ctx.time_ms,
            tx_hash=ctx.tx_hash,
            prev_hash=prev,
            entry_hash="",
        )
        stored = msgspec.structs.replace(unsigned, entry_hash=compute_log_entry_hash(unsigned))
        keeper.write_log_entry(ctx.state, args.vin, stored)
        prev = stored.entry_hash
        if entry.allowed and entry.grant_id is not None:
            uses[entry.grant_id] = uses.get(entry.grant_id, 0) + 1
    for grant_id in sorted(uses):
        record = keeper.read_grant(ctx.state, args.vin, grant_id)
        if record is not None:
            keeper.write_grant(
                ctx.state, msgspec.structs.replace(record, uses=record.uses + uses[grant_id])
            )
    count = head.count + len(args.entries)
    keeper.write_log_head(ctx.state, args.vin, AccessLogHead(count=count, head=prev))

    # emit events
    ctx.emit(
        AccessLogged(
            vin=args.vin,
            first_seq=head.count,
            count=len(args.entries),
            allowed=sum(1 for e in args.entries if e.allowed),
            denied=sum(1 for e in args.entries if not e.allowed),
        )
    )


def index_log_access(args: LogAccessArgs) -> list[tuple[str, str]]:
    return [("vehicle", args.vin)]


def index_set_status(args: SetStatusArgs) -> list[tuple[str, str]]:
    issuer, sep, _ = args.status_list.rpartition("/status/")
    return [("did", issuer)] if sep else []


def index_create_status_list(args: CreateStatusListArgs) -> list[tuple[str, str]]:
    return [("did", args.issuer)]
