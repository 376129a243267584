"""The ``consortium`` module: organisations, their roles and their keys.

Other modules use only what this package exports (``get_organisation``, ``active_keys_of``,
``resolve_key``, …); they never read the ``consortium/`` prefix themselves.
"""

from __future__ import annotations

from amchain.modules.base import GenesisSpec, MessageSpec, ModuleSpec, NoParams, QuerySpec
from amchain.modules.consortium import handlers, queries
from amchain.modules.consortium.errors import ConsortiumCode, ConsortiumError
from amchain.modules.consortium.handlers import init_genesis
from amchain.modules.consortium.keys import key_record_state_key
from amchain.modules.consortium.queries import (
    active_keys_of,
    get_key,
    get_organisation,
    list_keys_of,
    list_organisations,
    org_did,
    resolve_key,
)
from amchain.modules.consortium.types import (
    AddKeyArgs,
    ConsortiumGenesis,
    GenesisOrganisation,
    KeyAdded,
    KeyKind,
    KeyParams,
    KeyRecord,
    KeyRevoked,
    Organisation,
    OrganisationList,
    OrganisationView,
    OrgParams,
    RevokeKeyArgs,
)

__all__ = [
    "SPEC",
    "AddKeyArgs",
    "ConsortiumCode",
    "ConsortiumError",
    "ConsortiumGenesis",
    "GenesisOrganisation",
    "KeyAdded",
    "KeyKind",
    "KeyRecord",
    "KeyRevoked",
    "Organisation",
    "OrganisationList",
    "OrganisationView",
    "RevokeKeyArgs",
    "active_keys_of",
    "get_key",
    "get_organisation",
    "init_genesis",
    "key_record_state_key",
    "list_keys_of",
    "list_organisations",
    "org_did",
    "resolve_key",
]


def _introduced_by_add_key(args: AddKeyArgs) -> list[bytes]:
    # Only well-formed hex can be introduced; the handler refuses the rest with a clear code.
    try:
        return [bytes.fromhex(args.public_key)]
    except ValueError:
        return []


def _index_org(args: AddKeyArgs | RevokeKeyArgs) -> list[tuple[str, str]]:
    return [("org", args.org)]


SPEC = ModuleSpec(
    name="consortium",
    codespace="consortium",
    messages={
        "add_key": MessageSpec(
            name="add_key",
            args_type=AddKeyArgs,
            handler=handlers.add_key,
            check=handlers.check_add_key,
            summary="Register a key of an organisation (admin signs, new key co-signs).",
            index=_index_org,
            introduced_keys=_introduced_by_add_key,
            signers="an admin key of the organisation, and the new key (proof of possession)",
            example={"org": "oem", "public_key": "<64 hex digits>", "kind": "member"},
        ),
        "revoke_key": MessageSpec(
            name="revoke_key",
            args_type=RevokeKeyArgs,
            handler=handlers.revoke_key,
            check=handlers.check_revoke_key,
            summary="Revoke a key of an organisation (admin signs; never the last admin).",
            index=_index_org,
            signers="an admin key of the organisation",
        ),
    },
    queries={
        "organisations": QuerySpec(
            name="organisations",
            params_type=NoParams,
            result_type=OrganisationList,
            handler=queries.query_organisations,
            summary="Consortium organisations, their roles and keys",
            path="/organisations",
        ),
        "organisation": QuerySpec(
            name="organisation",
            params_type=OrgParams,
            result_type=OrganisationView,
            handler=queries.query_organisation,
            summary="One organisation, its roles and keys",
            path="/consortium/organisations/{org}",
            not_found="there is no organisation {org!r}",
        ),
        "key": QuerySpec(
            name="key",
            params_type=KeyParams,
            result_type=KeyRecord,
            handler=queries.query_key,
            summary="The record of a consortium key (active or revoked)",
            path="/consortium/keys/{public_key}",
            not_found="{public_key} is not a consortium key",
        ),
    },
    events=(KeyAdded, KeyRevoked),
    genesis=GenesisSpec(
        type=ConsortiumGenesis,
        init=handlers.init_genesis_section,
        dev_default=handlers.dev_genesis,
    ),
    resolve_key=resolve_key,
    title="Consortium",
    description="Member organisations, their roles and their keys.",
)
