"""The ``consortium`` module: organisations, their roles and their keys.

Other modules use only what this package exports (``get_organisation``, ``active_keys_of``,
``resolve_key``, …); they never read the ``consortium/`` prefix themselves.
"""

from __future__ import annotations

from amchain.modules.base import MessageSpec, ModuleSpec
from amchain.modules.consortium import handlers
from amchain.modules.consortium.errors import ConsortiumCode, ConsortiumError
from amchain.modules.consortium.handlers import init_genesis
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
    KeyKind,
    KeyRecord,
    Organisation,
    RevokeKeyArgs,
)

__all__ = [
    "SPEC",
    "AddKeyArgs",
    "ConsortiumCode",
    "ConsortiumError",
    "ConsortiumGenesis",
    "GenesisOrganisation",
    "KeyKind",
    "KeyRecord",
    "Organisation",
    "RevokeKeyArgs",
    "active_keys_of",
    "get_key",
    "get_organisation",
    "init_genesis",
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
            summary="Register a key of an organisation (admin signs, new key co-signs).",
            index=_index_org,
            introduced_keys=_introduced_by_add_key,
        ),
        "revoke_key": MessageSpec(
            name="revoke_key",
            args_type=RevokeKeyArgs,
            handler=handlers.revoke_key,
            summary="Revoke a key of an organisation (admin signs; never the last admin).",
            index=_index_org,
        ),
    },
    genesis_type=ConsortiumGenesis,
    init_genesis=init_genesis,
    resolve_key=resolve_key,
)
