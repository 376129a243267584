"""The ``credentials/`` state-key layout (full keys), and the keys of other modules that a
car's snapshot carries, named by those modules' own layouts."""

from __future__ import annotations

from amchain.modules.consortium.keys import key_record_state_key
from amchain.modules.identity.keys import did_record_state_key
from amchain.modules.vehicles.keys import vehicle_record_state_key

__all__ = [
    "MODULE",
    "access_log_head_key",
    "access_log_key",
    "chunk_key",
    "credential_key",
    "did_record_key",
    "grant_key",
    "grant_prefix",
    "org_key_record_key",
    "slot_key",
    "status_list_key",
    "vehicle_record_key",
]

MODULE = "credentials"


def status_list_key(issuer: str, name: str) -> str:
    return f"{MODULE}/list/{issuer}/{name}"


def chunk_key(issuer: str, name: str, chunk: int) -> str:
    return f"{MODULE}/chunk/{issuer}/{name}/{chunk:05d}"


def slot_key(issuer: str, name: str, index: int) -> str:
    return f"{MODULE}/slot/{issuer}/{name}/{index:07d}"


def credential_key(credential_id: str) -> str:
    return f"{MODULE}/cred/{credential_id}"


def grant_prefix(vin: str) -> str:
    return f"{MODULE}/grant/{vin}/"


def grant_key(vin: str, grant_id: str) -> str:
    return grant_prefix(vin) + grant_id


def access_log_key(vin: str, seq: int) -> str:
    return f"{MODULE}/log/{vin}/{seq:010d}"


def access_log_head_key(vin: str) -> str:
    return f"{MODULE}/loghead/{vin}"


# Keys of other modules that a car's snapshot carries.
vehicle_record_key = vehicle_record_state_key
did_record_key = did_record_state_key
org_key_record_key = key_record_state_key
