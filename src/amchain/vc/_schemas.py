"""JSON Schemas (2020-12) of the platform's credential types, checked for ``credentialSchema``.

The schemas ship with the code and are looked up by id, offline; the node also serves them
(``GET /v1/credentials/schemas``). A ``credentialSchema`` whose id is not one of these cannot
be checked, and the credential is not accepted as verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from amchain.vc._errors import VcError, VcReason
from amchain.vc._vehicle import (
    ACCESS_GRANT,
    ACCESS_SCOPES,
    BIRTH_CERTIFICATE,
    INSURANCE_COVERAGE,
    VEHICLE_REGISTRATION,
    schema_id,
)

__all__ = ["SCHEMAS", "check_credential_schemas"]

_DID = {"type": "string", "pattern": "^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$"}
_VEHICLE_DID = {"type": "string", "pattern": "^did:amc:vin:[A-HJ-NPR-Z0-9]{17}$"}
_VIN = {"type": "string", "pattern": "^[A-HJ-NPR-Z0-9]{17}$"}
_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 64}
_DATETIME = {"type": "string", "minLength": 20, "maxLength": 40}


def _schema(
    credential_type: str, subject: dict[str, Any], required_top: list[str]
) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id(credential_type),
        "title": credential_type,
        "type": "object",
        "required": ["@context", "type", "issuer", "validFrom", "credentialSubject", *required_top],
        "properties": {
            "@context": {
                "type": "array",
                "minItems": 1,
                "prefixItems": [{"const": "https://www.w3.org/ns/credentials/v2"}],
            },
            "id": {"type": "string"},
            "type": {
                "type": "array",
                "allOf": [
                    {"contains": {"const": "VerifiableCredential"}},
                    {"contains": {"const": credential_type}},
                ],
            },
            "issuer": _DID,
            "validFrom": _DATETIME,
            "validUntil": _DATETIME,
            "credentialSubject": subject,
        },
    }


def _subject(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", *required],
        "additionalProperties": False,
        "properties": properties,
    }


SCHEMAS: Mapping[str, dict[str, Any]] = {
    schema_id(BIRTH_CERTIFICATE): _schema(
        BIRTH_CERTIFICATE,
        _subject(
            {
                "id": _VEHICLE_DID,
                "type": {"const": "Vehicle"},
                "vin": _VIN,
                "make": _TEXT,
                "model": _TEXT,
                "modelYear": {"type": "integer", "minimum": 1886, "maximum": 2100},
                "plant": _TEXT,
                "batteryId": _TEXT,
            },
            ["vin", "make", "model", "modelYear"],
        ),
        [],
    ),
    schema_id(VEHICLE_REGISTRATION): _schema(
        VEHICLE_REGISTRATION,
        _subject(
            {
                "id": _VEHICLE_DID,
                "type": {"const": "Vehicle"},
                "vin": _VIN,
                "region": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "registrationHash": _HASH,
                "plateHash": _HASH,
            },
            ["vin", "region", "registrationHash"],
        ),
        [],
    ),
    schema_id(INSURANCE_COVERAGE): _schema(
        INSURANCE_COVERAGE,
        _subject(
            {
                "id": _VEHICLE_DID,
                "type": {"const": "Vehicle"},
                "vin": _VIN,
                "policyHash": _HASH,
                "coverage": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 16,
                    "items": {"type": "string", "pattern": "^[a-z_]{1,32}$"},
                },
            },
            ["vin", "policyHash", "coverage"],
        ),
        ["validUntil"],
    ),
    schema_id(ACCESS_GRANT): _schema(
        ACCESS_GRANT,
        _subject(
            {
                "id": _DID,
                "vehicle": _VEHICLE_DID,
                "vin": _VIN,
                "ownerEpoch": {"type": "integer", "minimum": 1},
                "scopes": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": list(ACCESS_SCOPES)},
                },
                "maxUses": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            },
            ["vehicle", "vin", "ownerEpoch", "scopes"],
        ),
        ["validUntil", "id"],
    ),
}


_VALIDATORS: dict[str, Any] = {}


def _validator(ref_id: str, schema: dict[str, Any]) -> Any:
    validator = _VALIDATORS.get(ref_id)
    if validator is None:
        validator = _VALIDATORS[ref_id] = jsonschema.Draft202012Validator(schema)
    return validator


def _schema_refs(credential: Mapping[str, Any]) -> list[Any]:
    refs = credential.get("credentialSchema")
    if refs is None:
        return []
    return list(refs) if isinstance(refs, list) else [refs]


def check_credential_schemas(credential: Mapping[str, Any]) -> list[str]:
    """Check the credential against every ``credentialSchema`` it names; return their ids.

    Raises:
        VcError: SCHEMA_UNKNOWN (not a JsonSchema this verifier holds), SCHEMA_INVALID.
    """
    checked: list[str] = []
    for ref in _schema_refs(credential):
        ref_id = ref.get("id") if isinstance(ref, Mapping) else None
        if not isinstance(ref, Mapping) or ref.get("type") != "JsonSchema":
            raise VcError(
                VcReason.SCHEMA_UNKNOWN,
                "credentialSchema must be {id, type: JsonSchema}; other kinds are not supported",
            )
        schema = SCHEMAS.get(str(ref_id))
        if schema is None:
            raise VcError(
                VcReason.SCHEMA_UNKNOWN,
                f"credentialSchema {ref_id} is not one this verifier holds, so it cannot be "
                "checked",
            )
        validator = _validator(str(ref_id), schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(dict(credential)))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(document)"
            raise VcError(
                VcReason.SCHEMA_INVALID,
                f"does not match schema {ref_id} at {where}: {error.message}",
            )
        checked.append(str(ref_id))
    return checked
