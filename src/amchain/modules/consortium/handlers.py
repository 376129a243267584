"""Handlers of the ``consortium`` module, and genesis.

Each handler validates, authorises, changes state and emits events, in that order. A handler
may write and then raise: the runtime drops every change of a failed transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from amchain.crypto import EncodingError, InvalidPublicKey, decode_hex, validate_public_key
from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import ROLES, GenesisContext, GenesisMember, KeyStatus, TxContext
from amchain.modules.consortium import keeper
from amchain.modules.consortium.errors import ConsortiumCode, ConsortiumError
from amchain.modules.consortium.types import (
    AddKeyArgs,
    ConsortiumGenesis,
    GenesisOrganisation,
    KeyAdded,
    KeyKind,
    KeyRecord,
    KeyRevoked,
    Organisation,
    OrgStatus,
    RevokeKeyArgs,
)

__all__ = [
    "add_key",
    "dev_genesis",
    "init_genesis",
    "init_genesis_section",
    "parse_public_key",
    "revoke_key",
]

ORG_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_NAME_CHARS = 200
KEY_KINDS: tuple[str, ...] = tuple(kind.value for kind in KeyKind)


# --- shared checks ----------------------------------------------------------------------------


def parse_public_key(text: str, *, what: str = "public_key") -> bytes:
    """Decode a lowercase-hex Ed25519 public key and check it may be registered.

    Raises:
        ConsortiumError: INVALID_KEY_ENCODING (not 64 lowercase hex digits),
            INVALID_KEY (small-order or non-canonical point).
    """
    if text != text.lower():
        raise ConsortiumError(
            ConsortiumCode.INVALID_KEY_ENCODING,
            f"{what} must be lowercase hex",
            details={"field": what},
        )
    try:
        key = decode_hex(text, length=32, what=what)
    except EncodingError as exc:
        raise ConsortiumError(
            ConsortiumCode.INVALID_KEY_ENCODING, str(exc), details={"field": what}
        ) from None
    try:
        validate_public_key(key)
    except InvalidPublicKey as exc:
        raise ConsortiumError(
            ConsortiumCode.INVALID_KEY, f"{what}: {exc}", details={"field": what}
        ) from None
    return key


def require_organisation(state: StateReader, org_id: str) -> Organisation:
    """Return the active organisation ``org_id``.

    Raises:
        ConsortiumError: UNKNOWN_ORG, ORG_INACTIVE.
    """
    org = keeper.read_organisation(state, org_id)
    if org is None:
        raise ConsortiumError(
            ConsortiumCode.UNKNOWN_ORG,
            f"there is no organisation {org_id!r} in the consortium",
            details={"org": org_id},
        )
    if org.status != OrgStatus.ACTIVE:
        raise ConsortiumError(
            ConsortiumCode.ORG_INACTIVE,
            f"organisation {org_id!r} is {org.status}",
            details={"org": org_id},
        )
    return org


def require_org_admin_signer(ctx: TxContext, org_id: str) -> bytes:
    """Return the first signer that is an active admin key of ``org_id``.

    Raises:
        ConsortiumError: NOT_ORG_ADMIN.
    """
    for signer in ctx.signers:
        record = keeper.read_key(ctx.state, signer.hex())
        if (
            record is not None
            and record.org == org_id
            and record.kind == KeyKind.ADMIN
            and record.status == KeyStatus.ACTIVE
        ):
            return signer
    raise ConsortiumError(
        ConsortiumCode.NOT_ORG_ADMIN,
        f"the transaction must be signed by an active admin key of organisation {org_id!r}",
        details={"org": org_id},
    )


def _count_active_admins(state: StateReader, org_id: str) -> int:
    return sum(
        1
        for record in keeper.read_keys_of(state, org_id)
        if record.kind == KeyKind.ADMIN and record.status == KeyStatus.ACTIVE
    )


# --- messages ---------------------------------------------------------------------------------


def check_add_key(args: AddKeyArgs) -> None:
    """Stateless checks of ``add_key`` (also run at admission, before any block).

    Raises:
        ConsortiumError: INVALID_KEY_ENCODING, INVALID_KEY.
    """
    parse_public_key(args.public_key)


def check_revoke_key(args: RevokeKeyArgs) -> None:
    """Stateless checks of ``revoke_key`` (also run at admission).

    Raises:
        ConsortiumError: INVALID_KEY_ENCODING.
    """
    try:
        decode_hex(args.public_key, length=32, what="public_key")
    except EncodingError as exc:
        raise ConsortiumError(ConsortiumCode.INVALID_KEY_ENCODING, str(exc)) from None


def add_key(ctx: TxContext, args: AddKeyArgs) -> None:
    """Register a new key of an organisation.

    Raises:
        ConsortiumError: INVALID_KEY_ENCODING, INVALID_KEY, INVALID_KIND, UNKNOWN_ORG,
            ORG_INACTIVE, NOT_ORG_ADMIN, NEW_KEY_NOT_SIGNED, KEY_IN_USE.
    """
    # validate
    key = parse_public_key(args.public_key)
    if args.kind not in KEY_KINDS:
        raise ConsortiumError(
            ConsortiumCode.INVALID_KIND,
            f"kind must be one of {', '.join(KEY_KINDS)}, got {args.kind!r}",
            details={"kind": args.kind},
        )
    require_organisation(ctx.state, args.org)

    # authorise: an active admin of the org signs, and the new key proves possession
    require_org_admin_signer(ctx, args.org)
    if key not in ctx.signers:
        raise ConsortiumError(
            ConsortiumCode.NEW_KEY_NOT_SIGNED,
            "the new key must co-sign the transaction (proof of possession)",
            details={"public_key": args.public_key},
        )
    known_elsewhere = ctx.standings[ctx.signers.index(key)] if ctx.standings else None
    if known_elsewhere is not None and known_elsewhere.org is None:
        # the runtime resolved the new key through another module (e.g. a DID key)
        raise ConsortiumError(
            ConsortiumCode.KEY_IN_USE,
            f"key already belongs to {known_elsewhere.did or 'another module'}; use a new key",
            details={"public_key": args.public_key},
        )
    existing = keeper.read_key(ctx.state, args.public_key)
    if existing is not None:
        raise ConsortiumError(
            ConsortiumCode.KEY_IN_USE,
            f"key is already registered in the consortium (org {existing.org!r}, "
            f"{existing.status}); a key can be registered only once, use a new key",
            details={"public_key": args.public_key, "org": existing.org},
        )

    # change state
    keeper.write_key(
        ctx.state,
        KeyRecord(
            public_key=args.public_key,
            org=args.org,
            kind=args.kind,
            status=KeyStatus.ACTIVE.value,
            added_height=ctx.height,
        ),
    )

    # emit events
    ctx.emit(KeyAdded(org=args.org, public_key=args.public_key, kind=args.kind))


def revoke_key(ctx: TxContext, args: RevokeKeyArgs) -> None:
    """Revoke a key of an organisation; the record stays, so the key can never come back.

    Raises:
        ConsortiumError: INVALID_KEY_ENCODING, UNKNOWN_ORG, ORG_INACTIVE, NOT_ORG_ADMIN,
            UNKNOWN_KEY, KEY_NOT_IN_ORG, KEY_ALREADY_REVOKED, LAST_ADMIN_KEY.
    """
    # validate
    if args.public_key != args.public_key.lower():
        raise ConsortiumError(
            ConsortiumCode.INVALID_KEY_ENCODING, "public_key must be lowercase hex"
        )
    try:
        decode_hex(args.public_key, length=32, what="public_key")
    except EncodingError as exc:
        raise ConsortiumError(ConsortiumCode.INVALID_KEY_ENCODING, str(exc)) from None
    require_organisation(ctx.state, args.org)

    # authorise
    require_org_admin_signer(ctx, args.org)

    record = keeper.read_key(ctx.state, args.public_key)
    if record is None:
        raise ConsortiumError(
            ConsortiumCode.UNKNOWN_KEY,
            "this key is not registered in the consortium",
            details={"public_key": args.public_key},
        )
    if record.org != args.org:
        raise ConsortiumError(
            ConsortiumCode.KEY_NOT_IN_ORG,
            f"this key belongs to another organisation, not {args.org!r}",
            details={"public_key": args.public_key, "org": args.org},
        )
    if record.status == KeyStatus.REVOKED:
        raise ConsortiumError(
            ConsortiumCode.KEY_ALREADY_REVOKED,
            f"this key was already revoked at height {record.revoked_height}",
            details={"public_key": args.public_key, "revoked_height": record.revoked_height},
        )
    if record.kind == KeyKind.ADMIN and _count_active_admins(ctx.state, args.org) <= 1:
        raise ConsortiumError(
            ConsortiumCode.LAST_ADMIN_KEY,
            f"this is the last active admin key of {args.org!r}; add another admin key first",
            details={"public_key": args.public_key, "org": args.org},
        )

    # change state
    keeper.write_key(
        ctx.state,
        KeyRecord(
            public_key=record.public_key,
            org=record.org,
            kind=record.kind,
            status=KeyStatus.REVOKED.value,
            added_height=record.added_height,
            revoked_height=ctx.height,
        ),
    )

    # emit events
    ctx.emit(KeyRevoked(org=args.org, public_key=args.public_key, kind=record.kind))


# --- genesis ----------------------------------------------------------------------------------


def dev_genesis(members: Sequence[GenesisMember]) -> ConsortiumGenesis:
    """The consortium of a new chain: one organisation per member, with its keys."""
    return ConsortiumGenesis(
        organisations=[
            GenesisOrganisation(
                id=member.id,
                name=member.name,
                roles=list(member.roles),
                admin_keys=list(member.admin_keys),
                member_keys=[],
                device_keys=list(member.device_keys),
            )
            for member in members
        ]
    )


def init_genesis_section(ctx: GenesisContext, genesis: ConsortiumGenesis) -> None:
    """The spec's genesis ``init``: :func:`init_genesis` on the state at height 0.

    Raises:
        ConsortiumError: as :func:`init_genesis`.
    """
    init_genesis(ctx.state, genesis)


def init_genesis(state: StateWriter, genesis: ConsortiumGenesis) -> None:
    """Create the genesis organisations and their keys (at height 0).

    Raises:
        ConsortiumError: INVALID_ORG_ID, DUPLICATE_ORG, INVALID_NAME, NO_ROLES, INVALID_ROLE,
            NO_ADMIN_KEY, INVALID_KEY_ENCODING, INVALID_KEY, KEY_IN_USE.
    """
    seen_orgs: dict[str, bool] = {}
    seen_keys: dict[str, str] = {}
    for entry in genesis.organisations:
        # validate the organisation
        if ORG_ID_PATTERN.fullmatch(entry.id) is None:
            raise ConsortiumError(
                ConsortiumCode.INVALID_ORG_ID,
                f"organisation id {entry.id!r} must match [a-z][a-z0-9_]* (at most 64 chars)",
                details={"org": entry.id},
            )
        if entry.id in seen_orgs or keeper.read_organisation(state, entry.id) is not None:
            raise ConsortiumError(
                ConsortiumCode.DUPLICATE_ORG,
                f"organisation id {entry.id!r} appears twice",
                details={"org": entry.id},
            )
        seen_orgs[entry.id] = True
        if not entry.name.strip() or len(entry.name) > MAX_NAME_CHARS:
            raise ConsortiumError(
                ConsortiumCode.INVALID_NAME,
                f"organisation {entry.id!r} needs a name of 1 to {MAX_NAME_CHARS} characters",
                details={"org": entry.id},
            )
        if not entry.roles:
            raise ConsortiumError(
                ConsortiumCode.NO_ROLES,
                f"organisation {entry.id!r} needs at least one role",
                details={"org": entry.id},
            )
        for role in entry.roles:
            if role not in ROLES:
                raise ConsortiumError(
                    ConsortiumCode.INVALID_ROLE,
                    f"organisation {entry.id!r}: unknown role {role!r}; "
                    f"roles are {', '.join(ROLES)}",
                    details={"org": entry.id, "role": role},
                )
        if not entry.admin_keys:
            raise ConsortiumError(
                ConsortiumCode.NO_ADMIN_KEY,
                f"organisation {entry.id!r} needs at least one admin key",
                details={"org": entry.id},
            )

        # change state: the organisation, then its keys
        keeper.write_organisation(
            state,
            Organisation(id=entry.id, name=entry.name, roles=sorted(dict.fromkeys(entry.roles))),
        )
        groups = (
            (KeyKind.ADMIN, entry.admin_keys),
            (KeyKind.MEMBER, entry.member_keys),
            (KeyKind.DEVICE, entry.device_keys),
        )
        for kind, keys in groups:
            for text in keys:
                parse_public_key(text, what=f"{entry.id}.{kind.value}_keys")
                if text in seen_keys or keeper.read_key(state, text) is not None:
                    raise ConsortiumError(
                        ConsortiumCode.KEY_IN_USE,
                        f"key {text} appears more than once in the genesis consortium",
                        details={"public_key": text, "org": entry.id},
                    )
                seen_keys[text] = entry.id
                keeper.write_key(
                    state,
                    KeyRecord(
                        public_key=text,
                        org=entry.id,
                        kind=kind.value,
                        status=KeyStatus.ACTIVE.value,
                        added_height=0,
                    ),
                )
