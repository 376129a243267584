"""Read-only queries of the ``consortium`` module (safe for other modules and the API)."""

from __future__ import annotations

from amchain.ledger import StateReader
from amchain.modules.base import KeyStanding, KeyStatus, NoParams, QueryContext
from amchain.modules.consortium import keeper
from amchain.modules.consortium.types import (
    KeyParams,
    KeyRecord,
    Organisation,
    OrganisationList,
    OrganisationView,
    OrgParams,
)

__all__ = [
    "active_keys_of",
    "get_key",
    "get_organisation",
    "list_keys_of",
    "list_organisations",
    "org_did",
    "query_key",
    "query_organisation",
    "query_organisations",
    "resolve_key",
]


def org_did(org_id: str) -> str:
    """Return the DID of an organisation: ``did:amc:org:<org_id>``."""
    return f"did:amc:org:{org_id}"


def get_organisation(state: StateReader, org_id: str) -> Organisation | None:
    """Return the organisation ``org_id``, or None if there is none."""
    return keeper.read_organisation(state, org_id)


def list_organisations(state: StateReader) -> list[Organisation]:
    """Return every organisation, in id order."""
    return keeper.read_organisations(state)


def get_key(state: StateReader, public_key: bytes) -> KeyRecord | None:
    """Return the record of a consortium key (active or revoked), or None."""
    return keeper.read_key(state, public_key.hex())


def list_keys_of(state: StateReader, org_id: str) -> list[KeyRecord]:
    """Return every key of ``org_id`` (all kinds, active and revoked), in key order."""
    return keeper.read_keys_of(state, org_id)


def active_keys_of(state: StateReader, org_id: str) -> list[bytes]:
    """Return the active keys of ``org_id`` (all kinds) as raw bytes, in key order."""
    return [
        bytes.fromhex(record.public_key)
        for record in keeper.read_keys_of(state, org_id)
        if record.status == KeyStatus.ACTIVE
    ]


def resolve_key(state: StateReader, public_key: bytes) -> KeyStanding | None:
    """Return the standing of a consortium key, or None if the consortium never registered it.

    ``roles`` are the organisation's roles (sorted); ``kind`` is admin, member or device.
    """
    record = keeper.read_key(state, public_key.hex())
    if record is None:
        return None
    org = keeper.read_organisation(state, record.org)
    roles = tuple(org.roles) if org is not None else ()
    return KeyStanding(
        status=KeyStatus(record.status), org=record.org, roles=roles, kind=record.kind
    )


# --- queries served by the API (see SPEC.queries) ------------------------------------------------


def _view(state: StateReader, org: Organisation) -> OrganisationView:
    return OrganisationView(
        id=org.id,
        name=org.name,
        roles=list(org.roles),
        status=org.status,
        did=org_did(org.id),
        keys=keeper.read_keys_of(state, org.id),
    )


def query_organisations(ctx: QueryContext, _params: NoParams) -> OrganisationList:
    """Every organisation with its roles, DID and keys."""
    return OrganisationList(
        organisations=[_view(ctx.state, org) for org in keeper.read_organisations(ctx.state)]
    )


def query_organisation(ctx: QueryContext, params: OrgParams) -> OrganisationView | None:
    """One organisation with its roles, DID and keys (None: no such organisation)."""
    org = keeper.read_organisation(ctx.state, params.org)
    return None if org is None else _view(ctx.state, org)


def query_key(ctx: QueryContext, params: KeyParams) -> KeyRecord | None:
    """The record of a consortium key, active or revoked (None: never registered)."""
    return keeper.read_key(ctx.state, params.public_key.lower())
