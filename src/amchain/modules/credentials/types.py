"""Wire arguments, events, query answers and state records of the ``credentials`` module.

The state-key layout is in :mod:`.keys` (the car fetches exactly those keys, with proofs).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import DidText, IdText, NameText, Text, UrlText
from amchain.vc import ACCESS_SCOPES, DEFAULT_LIST_BITS

__all__ = [
    "AccessGrantDraft",
    "AccessGranted",
    "AccessLogAnswer",
    "AccessLogEntry",
    "AccessLogHead",
    "AccessLogParams",
    "AccessLogged",
    "AgentSnapshot",
    "BirthCertificateDraft",
    "ChunkView",
    "CreateStatusListArgs",
    "CredentialAnswer",
    "CredentialParams",
    "CredentialRecord",
    "CredentialRegistered",
    "DraftParams",
    "GrantAccessArgs",
    "GrantRecord",
    "GrantsAnswer",
    "InsuranceDraft",
    "LogAccessArgs",
    "LogEntryArgs",
    "RegisterCredentialArgs",
    "RegistrationDraft",
    "SchemasAnswer",
    "SetStatusArgs",
    "StatusAnswer",
    "StatusChanged",
    "StatusListCreated",
    "StatusListParams",
    "StatusListRecord",
    "StatusParams",
    "StatusRef",
    "VinParams",
]


# --- wire ---------------------------------------------------------------------------------


class CreateStatusListArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``create_status_list``: a Bitstring Status List of ``issuer`` named ``name``."""

    issuer: Annotated[DidText, msgspec.Meta(description="the issuing DID")]
    name: Annotated[NameText, msgspec.Meta(description="the list's name, e.g. revocation")]
    purpose: Annotated[NameText, msgspec.Meta(description="revocation or suspension")]
    size: Annotated[int, msgspec.Meta(description="bits in the list")] = DEFAULT_LIST_BITS


class SetStatusArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``set_status``: set bit ``index`` of ``status_list`` (a list URL) to ``value``.

    Revoke: a revocation list, ``value`` true (final). Suspend / resume: a suspension list,
    ``value`` true / false.
    """

    status_list: Annotated[UrlText, msgspec.Meta(description="the status list's URL")]
    index: Annotated[int, msgspec.Meta(description="the credential's index in the list")]
    value: Annotated[bool, msgspec.Meta(description="true: revoked / suspended")]


class RegisterCredentialArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``register_credential``: anchor a signed credential; the chain keeps its digest."""

    credential: Annotated[
        dict[str, Any],
        msgspec.Meta(max_length=64, description="the signed credential (eddsa-jcs-2022)"),
    ]


class GrantAccessArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``grant_access``: register a ``VehicleAccessGrant`` signed by the vehicle's owner."""

    grant: Annotated[
        dict[str, Any],
        msgspec.Meta(max_length=64, description="the signed VehicleAccessGrant credential"),
    ]


class LogEntryArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One decision of the car, as it reports it."""

    seq: int
    nonce: IdText
    action: IdText
    allowed: bool
    reason: Text
    decided_at_ms: int
    grant_id: IdText | None = None
    grantee: DidText | None = None


class LogAccessArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``log_access``: the vehicle (its ``#vehicle-key``) reports its decisions, in order."""

    vin: Annotated[IdText, msgspec.Meta(description="the vehicle's VIN")]
    entries: Annotated[
        list[LogEntryArgs], msgspec.Meta(max_length=1_000, description="decisions, in seq order")
    ]


# --- state ----------------------------------------------------------------------------------


class StatusListRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/list/<issuer>/<name>``: a status list's header; its bits are chunks."""

    issuer: str
    name: str
    purpose: str
    size: int
    created_height: int


class StatusRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where a credential's status bit lives."""

    purpose: str
    status_list: str
    index: int


class CredentialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/cred/<credential id>``: an anchored credential (its digest, not its body)."""

    id: str
    issuer: str
    types: list[str]
    subject: str | None
    digest: str
    """sha256 of the canonical (JCS) signed credential, hex."""
    valid_from_ms: int | None
    valid_until_ms: int | None
    status: list[StatusRef]
    height: int
    time_ms: int
    tx_hash: str


class GrantRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/grant/<VIN>/<grant id>``: a registered access grant and its use count."""

    id: str
    vin: str
    owner: str
    owner_epoch: int
    grantee: str
    scopes: list[str]
    valid_from_ms: int
    valid_until_ms: int
    max_uses: int | None
    uses: int
    digest: str
    verification_method: str
    status: list[StatusRef]
    height: int
    time_ms: int
    tx_hash: str


class AccessLogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/log/<VIN>/<seq:010d>``: one hash-chained decision of the vehicle."""

    seq: int
    nonce: str
    action: str
    allowed: bool
    reason: str
    grant_id: str | None
    grantee: str | None
    decided_at_ms: int
    height: int
    time_ms: int
    tx_hash: str
    prev_hash: str
    entry_hash: str


class AccessLogHead(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/loghead/<VIN>``: how many decisions the vehicle logged, and the last hash."""

    count: int
    head: str


# --- events ---------------------------------------------------------------------------------


class StatusListCreated(EventAttributes, frozen=True, kw_only=True):
    """An issuer's status list was created (explicitly, or by its first credential)."""

    event_type = "credentials.status_list_created"
    status_list: str
    purpose: str
    size: int


class StatusChanged(EventAttributes, frozen=True, kw_only=True):
    """A credential was revoked, suspended or resumed."""

    event_type = "credentials.status_changed"
    status_list: str
    index: int
    purpose: str
    value: bool


class CredentialRegistered(EventAttributes, frozen=True, kw_only=True):
    """A signed credential was anchored."""

    event_type = "credentials.registered"
    credential_id: str
    issuer: str
    types: list[str]
    subject: str | None


class AccessGranted(EventAttributes, frozen=True, kw_only=True):
    """A vehicle's owner granted access to the vehicle."""

    event_type = "credentials.access_granted"
    vin: str
    grant_id: str
    owner: str
    grantee: str
    scopes: list[str]
    valid_until_ms: int


class AccessLogged(EventAttributes, frozen=True, kw_only=True):
    """A vehicle logged its access decisions."""

    event_type = "credentials.access_logged"
    vin: str
    first_seq: int
    count: int
    allowed: int
    denied: int


# --- queries ----------------------------------------------------------------------------------

Dt = Annotated[
    str,
    msgspec.Meta(
        description="a date-time with a time zone (RFC 3339), e.g. 2027-01-31T00:00:00Z",
        extra_json_schema={"format": "date-time"},
    ),
]
DraftDid = Annotated[
    str,
    msgspec.Meta(pattern=r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$", description="a DID"),
]
DraftVin = Annotated[
    str, msgspec.Meta(pattern="^[A-HJ-NPR-Z0-9]{17}$", description="the subject vehicle's VIN")
]
Hash = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="sha256, lowercase hex")]
Scope = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(ACCESS_SCOPES)})]


class _Draft(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, tag_field="type"
):
    """A credential draft: who issues it, for which vehicle, from when."""

    issuer: Annotated[DraftDid, msgspec.Meta(description="the issuing DID (a grant: the owner)")]
    vin: DraftVin
    valid_from: Dt | None = None


class BirthCertificateDraft(_Draft, tag="VehicleBirthCertificate", frozen=True, kw_only=True):
    """A VehicleBirthCertificate: the vehicle as its manufacturer registered it."""


class RegistrationDraft(_Draft, tag="VehicleRegistration", frozen=True, kw_only=True):
    """A VehicleRegistration by a registry; the plate and record only as hashes."""

    region: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$", description="ISO 3166 alpha-2")]
    registration_hash: Hash
    plate_hash: Hash | None = None
    valid_until: Dt | None = None


class InsuranceDraft(_Draft, tag="InsuranceCoverage", frozen=True, kw_only=True):
    """An InsuranceCoverage by an insurer; the policy only as a hash."""

    policy_hash: Hash
    valid_until: Dt
    coverage: (
        Annotated[
            list[Annotated[str, msgspec.Meta(pattern="^[a-z_]{1,32}$")]],
            msgspec.Meta(min_length=1, max_length=16, description="covered risks"),
        ]
        | None
    ) = None


class AccessGrantDraft(_Draft, tag="VehicleAccessGrant", frozen=True, kw_only=True):
    """A VehicleAccessGrant by the vehicle's owner to a grantee, for a window."""

    grantee: Annotated[DraftDid, msgspec.Meta(description="who gets access")]
    scopes: Annotated[
        list[Scope], msgspec.Meta(min_length=1, description=f"some of {', '.join(ACCESS_SCOPES)}")
    ]
    valid_until: Dt
    max_uses: (
        Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description="at most this many uses")]
        | None
    ) = None


DraftParams = BirthCertificateDraft | RegistrationDraft | InsuranceDraft | AccessGrantDraft
"""What a credential draft needs, selected by ``type``."""


class StatusParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which status bit."""

    status_list: Annotated[str, msgspec.Meta(description="status list URL")] = msgspec.field(
        name="list"
    )
    index: Annotated[int, msgspec.Meta(ge=0, description="the bit's index")]


class ChunkView(msgspec.Struct, frozen=True, kw_only=True):
    """The 256-byte chunk of a status list that holds a bit (what a proof proves)."""

    key: str
    index: int
    offset: int
    bits: int
    value: str | None
    """Base64 of the chunk's bytes; None while never written (all zeros)."""


class StatusAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One status bit with the chunk that holds it (and, asked for, the chunk's proof)."""

    status_list: str
    index: int
    purpose: str
    value: bool
    chunk: ChunkView
    as_of_height: int
    proof: dict[str, Any] | None = None


class StatusListParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which status list."""

    url: Annotated[str, msgspec.Meta(description="the status list's URL")]


class SchemasAnswer(msgspec.Struct, frozen=True):
    """JSON Schemas of the platform's credential types, by type."""

    schemas: dict[str, Any]


class CredentialParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which credential."""

    credential_id: Annotated[str, msgspec.Meta(description="the credential's id (urn:uuid:…)")]


class CredentialAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An anchored credential: its record (None for an access grant, whose record is the
    grant's) and the signed document from the transaction that anchored it."""

    record: CredentialRecord | None
    credential: dict[str, Any] | None
    grant: dict[str, Any] | None = None


class VinParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which vehicle."""

    vin: Annotated[str, msgspec.Meta(description="the vehicle's VIN (any case)")]


class GrantsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A vehicle's access grants, each with its standing now."""

    vin: str
    owner: str
    owner_epoch: int
    grants: list[dict[str, Any]]


class AccessLogParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Which vehicle's log, from which entry, how many."""

    vin: Annotated[str, msgspec.Meta(description="the vehicle's VIN (any case)")]
    start_seq: Annotated[int, msgspec.Meta(ge=0, description="first entry")] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000, description="entries at most")] = 1000


class AccessLogAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A vehicle's hash-chained access log."""

    vin: str
    count: int
    head: str | None
    entries: list[AccessLogEntry]


class AgentSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What a car caches to decide offline: proven state entries at one certified height."""

    format: str
    vin: str
    chain_id: str
    height: int
    header: dict[str, Any]
    certificate: dict[str, Any]
    entries: list[dict[str, Any]]
