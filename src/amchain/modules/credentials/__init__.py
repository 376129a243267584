"""The ``credentials`` system contract: W3C Verifiable Credentials anchored on chain, their
Bitstring Status Lists (revocation, suspension), vehicle access grants and the vehicles'
access logs.

Messages: ``create_status_list``, ``set_status`` (revoke / suspend / resume),
``register_credential``, ``grant_access`` (the vehicle's current owner) and ``log_access``
(the vehicle's own key). See ``README.md`` for state layout, events, errors and invariants.
"""

from __future__ import annotations

from amchain.modules.base import MessageSpec, ModuleSpec
from amchain.modules.credentials import handlers
from amchain.modules.credentials.errors import CODESPACE, CredentialsCode, CredentialsError
from amchain.modules.credentials.handlers import compute_log_entry_hash
from amchain.modules.credentials.queries import (
    GRANT_STANDINGS,
    get_access_log,
    get_access_log_head,
    get_credential,
    get_grant,
    get_status_list,
    grant_standing,
    grant_to_json,
    list_bits,
    list_grants,
    read_status,
    snapshot_keys,
    status_list_document,
)
from amchain.modules.credentials.types import (
    AccessLogEntry,
    AccessLogHead,
    CreateStatusListArgs,
    CredentialRecord,
    GrantAccessArgs,
    GrantRecord,
    LogAccessArgs,
    LogEntryArgs,
    RegisterCredentialArgs,
    SetStatusArgs,
    StatusListRecord,
    StatusRef,
)

__all__ = [
    "GRANT_STANDINGS",
    "SPEC",
    "AccessLogEntry",
    "AccessLogHead",
    "CreateStatusListArgs",
    "CredentialRecord",
    "CredentialsCode",
    "CredentialsError",
    "GrantAccessArgs",
    "GrantRecord",
    "LogAccessArgs",
    "LogEntryArgs",
    "RegisterCredentialArgs",
    "SetStatusArgs",
    "StatusListRecord",
    "StatusRef",
    "compute_log_entry_hash",
    "get_access_log",
    "get_access_log_head",
    "get_credential",
    "get_grant",
    "get_status_list",
    "grant_standing",
    "grant_to_json",
    "list_bits",
    "list_grants",
    "read_status",
    "snapshot_keys",
    "status_list_document",
]

SPEC = ModuleSpec(
    name="credentials",
    codespace=CODESPACE,
    messages={
        "create_status_list": MessageSpec(
            name="create_status_list",
            args_type=CreateStatusListArgs,
            handler=handlers.create_status_list,
            summary="Create a Bitstring Status List of an issuer (revocation or suspension)",
            index=handlers.index_create_status_list,
            check=handlers.check_create_status_list,
        ),
        "set_status": MessageSpec(
            name="set_status",
            args_type=SetStatusArgs,
            handler=handlers.set_status,
            summary="Revoke, suspend or resume a credential: set one bit of a status list",
            index=handlers.index_set_status,
            check=handlers.check_set_status,
        ),
        "register_credential": MessageSpec(
            name="register_credential",
            args_type=RegisterCredentialArgs,
            handler=handlers.register_credential,
            summary="Anchor a signed credential (its digest) and take its status indexes",
            index=handlers.index_register_credential,
            check=handlers.check_register_credential,
        ),
        "grant_access": MessageSpec(
            name="grant_access",
            args_type=GrantAccessArgs,
            handler=handlers.grant_access,
            summary="Register a VehicleAccessGrant signed by the vehicle's current owner",
            index=handlers.index_grant_access,
            check=handlers.check_grant_access,
        ),
        "log_access": MessageSpec(
            name="log_access",
            args_type=LogAccessArgs,
            handler=handlers.log_access,
            summary="The vehicle logs its access decisions (signed by its own key)",
            index=handlers.index_log_access,
            check=handlers.check_log_access,
        ),
    },
)
