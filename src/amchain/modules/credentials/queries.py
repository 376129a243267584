"""Read-only queries: status lists and bits, anchored credentials, grants and their standing,
the access log, and the keys a car's snapshot is made of."""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.codec import to_builtins
from amchain.crypto import EncodingError, decode_multikey, sha256
from amchain.ledger import StateReader
from amchain.modules import identity, vehicles
from amchain.modules.base import NoParams, QueryContext
from amchain.modules.credentials import keeper
from amchain.modules.credentials.errors import CredentialsCode, CredentialsError
from amchain.modules.credentials.keys import (
    access_log_head_key,
    chunk_key,
    did_record_key,
    grant_key,
    org_key_record_key,
    slot_key,
    vehicle_record_key,
)
from amchain.modules.credentials.types import (
    AccessLogAnswer,
    AccessLogEntry,
    AccessLogHead,
    AccessLogParams,
    AgentSnapshot,
    BirthCertificateDraft,
    ChunkView,
    CredentialAnswer,
    CredentialParams,
    CredentialRecord,
    DraftParams,
    GrantRecord,
    GrantsAnswer,
    InsuranceDraft,
    RegistrationDraft,
    SchemasAnswer,
    StatusAnswer,
    StatusListParams,
    StatusListRecord,
    StatusParams,
    VinParams,
)
from amchain.vc import (
    ACCESS_SCOPES,
    CHUNK_BITS,
    DEFAULT_LIST_BITS,
    RFC3339_MAX_OFFSET_MINUTES,
    SCHEMAS,
    DateTimeError,
    VcError,
    access_grant,
    birth_certificate,
    chunk_position,
    format_datetime,
    insurance_coverage,
    list_url,
    parse_datetime_ms,
    parse_list_url,
    read_bit,
    status_entry,
    status_list_credential,
    vehicle_registration,
    verify_credential,
)

__all__ = [
    "GRANT_STANDINGS",
    "get_access_log",
    "get_access_log_head",
    "get_credential",
    "get_grant",
    "get_status_list",
    "grant_standing",
    "grant_to_json",
    "list_bits",
    "list_grants",
    "query_access_log",
    "query_agent_snapshot",
    "query_credential",
    "query_draft",
    "query_grants",
    "query_schemas",
    "query_status",
    "query_status_list",
    "query_verify",
    "read_status",
    "snapshot_keys",
    "status_list_document",
]

AGENT_SNAPSHOT_FORMAT = "amchain-agent-snapshot/v1"
INDEX_TRIES = 64

GRANT_STANDINGS: tuple[str, ...] = (
    "active",
    "not_yet_valid",
    "expired",
    "revoked",
    "suspended",
    "used_up",
    "ownership_changed",
)


def _split(url: str) -> tuple[str, str] | None:
    try:
        return parse_list_url(url)
    except VcError:
        return None


def get_status_list(state: StateReader, url: str) -> StatusListRecord | None:
    """Return the header of the status list named by ``url``, or None."""
    parts = _split(url)
    return None if parts is None else keeper.read_status_list(state, *parts)


def read_status(state: StateReader, url: str, index: int) -> bool | None:
    """Return the status bit at ``index`` of a list (None: no such list or index)."""
    parts = _split(url)
    if parts is None:
        return None
    record = keeper.read_status_list(state, *parts)
    if record is None or not 0 <= index < record.size:
        return None
    chunk, offset = chunk_position(index)
    return read_bit(keeper.read_chunk(state, *parts, chunk), offset)


def list_bits(state: StateReader, record: StatusListRecord) -> bytes:
    """Return every bit of a list, assembled from its chunks."""
    chunks = (record.size + CHUNK_BITS - 1) // CHUNK_BITS
    data = b"".join(keeper.read_chunk(state, record.issuer, record.name, i) for i in range(chunks))
    return data[: record.size // 8]


def status_list_document(state: StateReader, url: str, time_ms: int) -> dict[str, Any] | None:
    """Return the ``BitstringStatusListCredential`` of a list as of ``time_ms`` (unsecured:
    its authenticity is the chain's), or None."""
    record = get_status_list(state, url)
    if record is None:
        return None
    return status_list_credential(
        issuer=record.issuer,
        name=record.name,
        purpose=record.purpose,
        bits=list_bits(state, record),
        valid_from=format_datetime(time_ms - time_ms % 1000),
    )


def get_credential(state: StateReader, credential_id: str) -> CredentialRecord | None:
    """Return an anchored credential's record, or None."""
    return keeper.read_credential(state, credential_id)


def get_grant(state: StateReader, vin: str, grant_id: str) -> GrantRecord | None:
    """Return a vehicle's grant, or None."""
    return keeper.read_grant(state, vin, grant_id)


def list_grants(state: StateReader, vin: str) -> list[GrantRecord]:
    """Return every grant ever registered for a vehicle (dead ones included)."""
    return keeper.read_grants(state, vin)


def _bit(state: StateReader, grant: GrantRecord, purpose: str) -> bool:
    for ref in grant.status:
        if ref.purpose == purpose:
            return read_status(state, ref.status_list, ref.index) is True
    return False


def grant_standing(state: StateReader, grant: GrantRecord, now_ms: int) -> str:
    """Return the grant's standing at ``now_ms``: one of :data:`GRANT_STANDINGS`.

    Checked in this order: ownership (a grant of an earlier owner is dead), revocation,
    suspension, time window, use count.
    """
    vehicle = vehicles.get_vehicle(state, grant.vin)
    if vehicle is None or vehicle.owner != grant.owner or len(vehicle.owners) != grant.owner_epoch:
        return "ownership_changed"
    if _bit(state, grant, "revocation"):
        return "revoked"
    if _bit(state, grant, "suspension"):
        return "suspended"
    if now_ms < grant.valid_from_ms:
        return "not_yet_valid"
    if now_ms > grant.valid_until_ms:
        return "expired"
    if grant.max_uses is not None and grant.uses >= grant.max_uses:
        return "used_up"
    return "active"


def grant_to_json(state: StateReader, grant: GrantRecord, now_ms: int) -> dict[str, Any]:
    """Return a grant as plain JSON with its standing."""
    data: dict[str, Any] = to_builtins(grant)
    data["standing"] = grant_standing(state, grant, now_ms)
    return data


def get_access_log_head(state: StateReader, vin: str) -> AccessLogHead | None:
    return keeper.read_log_head(state, vin)


def get_access_log(
    state: StateReader, vin: str, *, start_seq: int = 0, limit: int = 1000
) -> list[AccessLogEntry]:
    """Return a vehicle's logged decisions from ``start_seq`` on (at most ``limit``)."""
    head = keeper.read_log_head(state, vin)
    if head is None:
        return []
    entries: list[AccessLogEntry] = []
    for seq in range(max(0, start_seq), min(head.count, max(0, start_seq) + max(0, limit))):
        entry = keeper.read_log_entry(state, vin, seq)
        if entry is None:
            break
        entries.append(entry)
    return entries


def _method_keys(did: str, method: str) -> list[str]:
    """State keys that say whether ``method`` (a DID URL) is a live key of ``did``."""
    if did.startswith("did:amc:org:"):
        try:
            return [org_key_record_key(decode_multikey(method.split("#", 1)[1]).hex())]
        except (EncodingError, IndexError):
            return []
    if did.startswith("did:amc:"):
        return [did_record_key(did)]
    return []  # did:key: resolved offline


def snapshot_keys(state: StateReader, vin: str, now_ms: int) -> list[str]:
    """Return the state keys a vehicle's agent needs to decide on access offline.

    The vehicle record (current owner, ownership epoch); for each grant of the current
    epoch that has not expired: the grant, the owner's signing key record, the grantee's
    DID record (did:amc grantees) and the status chunks of its revocation and suspension
    bits; the vehicle's access-log head. Keys are returned sorted and without duplicates.
    """
    keys = {vehicle_record_key(vin), access_log_head_key(vin)}
    vehicle = vehicles.get_vehicle(state, vin)
    if vehicle is None:
        return sorted(keys)
    for grant in keeper.read_grants(state, vin):
        if grant.owner != vehicle.owner or grant.owner_epoch != len(vehicle.owners):
            continue
        if grant.valid_until_ms < now_ms:
            continue
        keys.add(grant_key(vin, grant.id))
        keys.update(_method_keys(grant.owner, grant.verification_method))
        if grant.grantee.startswith("did:amc:"):
            keys.add(did_record_key(grant.grantee))
        for ref in grant.status:
            parts = _split(ref.status_list)
            if parts is not None:
                keys.add(chunk_key(*parts, chunk_position(ref.index)[0]))
    return sorted(keys)


# --- queries served by the API (see SPEC.queries) ------------------------------------------------


def _draw(entropy: bytes, label: bytes, counter: int) -> bytes:
    """32 bytes drawn from the request's entropy (each label and counter its own)."""
    return sha256(entropy + label + counter.to_bytes(4, "big"))


def _urn_uuid(entropy: bytes) -> str:
    """A random (version 4) UUID URN made of the request's entropy."""
    raw = bytearray(_draw(entropy, b"id", 0)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"urn:uuid:{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _free_index(state: StateReader, issuer: str, entropy: bytes) -> int:
    """A random index free in both of the issuer's default lists (herd privacy: indexes
    say nothing about issue order).

    Raises:
        CredentialsError: NO_FREE_INDEX after :data:`INDEX_TRIES` draws found none free.
    """
    for counter in range(INDEX_TRIES):
        index = int.from_bytes(_draw(entropy, b"index", counter), "big") % DEFAULT_LIST_BITS
        if all(
            read_status(state, list_url(issuer, name), index) is not True
            and state.get(slot_key(issuer, name, index)) is None
            for name in ("revocation", "suspension")
        ):
            return index
    raise CredentialsError(
        CredentialsCode.NO_FREE_INDEX,
        f"{INDEX_TRIES} random status indexes of {issuer} were all taken; ask again",
    )


def _utc(text: str | None, field: str) -> str | None:
    """A draft's date-time as UTC (``…Z``): any RFC 3339 time zone is accepted.

    Raises:
        CredentialsError: INVALID_DRAFT for a string that is not a date-time.
    """
    if text is None:
        return None
    try:
        ms = parse_datetime_ms(text, max_offset_minutes=RFC3339_MAX_OFFSET_MINUTES)
    except DateTimeError as exc:
        raise CredentialsError(
            CredentialsCode.INVALID_DRAFT, f"{field}: {exc}", details={"field": field}
        ) from None
    return format_datetime(ms)


def query_draft(ctx: QueryContext, params: DraftParams) -> dict[str, Any] | None:
    """An unsigned credential drafted from chain state (fresh id, free random status
    indexes in the issuer's revocation and suspension lists), for the issuer to sign and
    anchor. None: no such vehicle.

    Raises:
        CredentialsError: INVALID_DRAFT (a date-time that is not one, unknown scopes),
            NO_FREE_INDEX.
    """
    record = vehicles.get_vehicle(ctx.state, params.vin)
    if record is None:
        return None
    valid_from = _utc(params.valid_from, "valid_from") or format_datetime(
        ctx.now_ms - ctx.now_ms % 1000
    )
    index = _free_index(ctx.state, params.issuer, ctx.entropy)
    status = [
        status_entry(list_url(params.issuer, "revocation"), index, "revocation"),
        status_entry(list_url(params.issuer, "suspension"), index, "suspension"),
    ]
    common: dict[str, Any] = {
        "credential_id": _urn_uuid(ctx.entropy),
        "issuer": params.issuer,
        "vin": record.vin,
        "valid_from": valid_from,
        "status": status,
    }
    if isinstance(params, BirthCertificateDraft):
        return birth_certificate(
            **common,
            make=record.make,
            model=record.model,
            model_year=record.model_year,
            plant=record.plant,
            battery_id=record.battery_id,
        )
    if isinstance(params, RegistrationDraft):
        return vehicle_registration(
            **common,
            region=params.region,
            registration_hash=params.registration_hash,
            plate_hash=params.plate_hash,
            valid_until=_utc(params.valid_until, "valid_until"),
        )
    if isinstance(params, InsuranceDraft):
        return insurance_coverage(
            **common,
            policy_hash=params.policy_hash,
            coverage=list(params.coverage or ["liability"]),
            valid_until=str(_utc(params.valid_until, "valid_until")),
        )
    unknown = [s for s in params.scopes if s not in ACCESS_SCOPES]
    if unknown:
        raise CredentialsError(
            CredentialsCode.INVALID_DRAFT,
            f"scopes must be some of {', '.join(ACCESS_SCOPES)}; not {', '.join(unknown)}",
            details={"field": "scopes"},
        )
    common["owner"] = common.pop("issuer")
    return access_grant(
        **common,
        owner_epoch=len(record.owners),
        grantee=params.grantee,
        scopes=list(dict.fromkeys(params.scopes)),
        valid_until=str(_utc(params.valid_until, "valid_until")),
        max_uses=params.max_uses,
    )


def _document_loader(state: StateReader) -> Any:
    """A DID document loader over this state (``did:amc``)."""

    def load(did: str) -> Any:
        try:
            resolved = identity.resolve_did(state, did)
        except identity.IdentityError:
            return None
        return None if resolved is None else resolved["didDocument"]

    return load


def query_verify(ctx: QueryContext, credential: dict[str, Any]) -> dict[str, Any]:
    """Verify a credential against this chain: proof, issuer, validity window, schema,
    status (the report's ``checks`` say which passed)."""

    def read(url: str, index: int) -> bool | None:
        return read_status(ctx.state, url, index)

    report = verify_credential(
        credential, load=_document_loader(ctx.state), read_status=read, now_ms=ctx.now_ms
    )
    result = report.to_json()
    result["as_of_height"] = ctx.height
    return result


def query_status(ctx: QueryContext, params: StatusParams) -> StatusAnswer | None:
    """One status bit with the chunk that holds it (None: no such list, or no such bit in
    it); with a proof, the chunk's state proof."""
    header = get_status_list(ctx.state, params.status_list)
    if header is None or params.index >= header.size:
        return None
    value = read_status(ctx.state, params.status_list, params.index)
    chunk, offset = chunk_position(params.index)
    key = chunk_key(header.issuer, header.name, chunk)
    raw = ctx.state.get(key)
    proof: dict[str, Any] | None = None
    if ctx.prove:
        proof = ctx.chain.bundle("state", entry=ctx.chain.prove(key))
    return StatusAnswer(
        status_list=params.status_list,
        index=params.index,
        purpose=header.purpose,
        value=bool(value),
        chunk=ChunkView(
            key=key,
            index=chunk,
            offset=offset,
            bits=CHUNK_BITS,
            value=None if raw is None else str(msgspec.json.decode(raw)),
        ),
        as_of_height=ctx.height,
        proof=proof,
    )


def query_status_list(ctx: QueryContext, params: StatusListParams) -> dict[str, Any] | None:
    """A status list as a ``BitstringStatusListCredential`` as of the block's time."""
    return status_list_document(ctx.state, params.url, ctx.time_ms)


def query_schemas(_ctx: QueryContext, _params: NoParams) -> SchemasAnswer:
    """The JSON Schemas of the platform's credential types."""
    return SchemasAnswer(schemas=dict(SCHEMAS))


def query_credential(ctx: QueryContext, params: CredentialParams) -> CredentialAnswer | None:
    """An anchored credential: its record and the signed document from the transaction
    that anchored it (an access grant: the grant and its standing now)."""
    record = get_credential(ctx.state, params.credential_id)
    if record is not None:
        anchoring = ctx.chain.get_tx(record.tx_hash)
    else:
        found = ctx.chain.indexed_txs("credential", params.credential_id, limit=10)
        anchoring = next((t for t in found if t.receipt.ok), None)
        if anchoring is None:
            return None
    document: dict[str, Any] | None = None
    grant_json: dict[str, Any] | None = None
    if anchoring is not None:
        document = anchoring.args.get("credential") or anchoring.args.get("grant")
        if document is not None and record is None:
            vin = str(document.get("credentialSubject", {}).get("vin", ""))
            grant = get_grant(ctx.state, vin, params.credential_id)
            grant_json = None if grant is None else grant_to_json(ctx.state, grant, ctx.now_ms)
    return CredentialAnswer(record=record, credential=document, grant=grant_json)


def query_grants(ctx: QueryContext, params: VinParams) -> GrantsAnswer | None:
    """A vehicle's access grants, each with its standing now (None: no such vehicle)."""
    record = vehicles.get_vehicle(ctx.state, params.vin.upper())
    if record is None:
        return None
    return GrantsAnswer(
        vin=record.vin,
        owner=record.owner,
        owner_epoch=len(record.owners),
        grants=[
            grant_to_json(ctx.state, g, ctx.now_ms) for g in list_grants(ctx.state, record.vin)
        ],
    )


def query_access_log(ctx: QueryContext, params: AccessLogParams) -> AccessLogAnswer | None:
    """A vehicle's logged access decisions, hash-chained (None: no such vehicle)."""
    record = vehicles.get_vehicle(ctx.state, params.vin.upper())
    if record is None:
        return None
    head = get_access_log_head(ctx.state, record.vin)
    return AccessLogAnswer(
        vin=record.vin,
        count=0 if head is None else head.count,
        head=None if head is None else head.head,
        entries=get_access_log(
            ctx.state, record.vin, start_seq=params.start_seq, limit=params.limit
        ),
    )


def query_agent_snapshot(ctx: QueryContext, params: VinParams) -> AgentSnapshot | None:
    """The proven state entries a vehicle's agent needs to decide offline, at the latest
    certified height (None: no such vehicle).

    The keys are chosen from the latest state; every value and proof is read from the
    state tree's version at the certified height, so the entries agree with each other.
    """
    record = vehicles.get_vehicle(ctx.latest, params.vin.upper())
    if record is None:
        return None
    header = ctx.chain.header()
    keys = snapshot_keys(ctx.latest, record.vin, header.time_ms)
    envelope = ctx.chain.bundle("agent-snapshot")
    return AgentSnapshot(
        format=AGENT_SNAPSHOT_FORMAT,
        vin=record.vin,
        chain_id=ctx.chain_id,
        height=ctx.height,
        header=to_builtins(header),
        certificate=envelope["certificate"],
        entries=[to_builtins(ctx.chain.prove(key)) for key in keys],
    )
