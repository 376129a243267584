"""The platform's credential types, as W3C Verifiable Credentials 2.0 documents.

- ``VehicleBirthCertificate`` — issued by the OEM when the vehicle is produced.
- ``VehicleRegistration`` — issued by a vehicle registry.
- ``InsuranceCoverage`` — issued by an insurer, for a validity window.
- ``VehicleAccessGrant`` — issued by the vehicle's current owner to a grantee (owner/friend
  semantics of CCC Digital Key): scopes, a time window, an optional use count, and the
  ownership epoch it belongs to (the number of owners the vehicle had when it was issued).

Every builder returns an unsecured document; secure it with :func:`amchain.vc.create_proof`.
Subjects of the vehicle credentials are vehicle DIDs (``did:amc:vin:<VIN>``); the subject
of an access grant is the grantee's DID.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ACCESS_GRANT",
    "ACCESS_SCOPES",
    "BIRTH_CERTIFICATE",
    "CREDENTIAL_TYPES",
    "INSURANCE_COVERAGE",
    "PRESENTATION_TYPE",
    "VC_CONTEXT",
    "VEHICLE_CONTEXT",
    "VEHICLE_REGISTRATION",
    "access_grant",
    "birth_certificate",
    "insurance_coverage",
    "presentation",
    "schema_id",
    "vehicle_registration",
]

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VEHICLE_CONTEXT = "https://amchain.dev/ns/vehicle/v1"
PRESENTATION_TYPE = "VerifiablePresentation"

BIRTH_CERTIFICATE = "VehicleBirthCertificate"
VEHICLE_REGISTRATION = "VehicleRegistration"
INSURANCE_COVERAGE = "InsuranceCoverage"
ACCESS_GRANT = "VehicleAccessGrant"
CREDENTIAL_TYPES: tuple[str, ...] = (
    BIRTH_CERTIFICATE,
    VEHICLE_REGISTRATION,
    INSURANCE_COVERAGE,
    ACCESS_GRANT,
)

ACCESS_SCOPES: tuple[str, ...] = (
    "unlock",
    "lock",
    "trunk",
    "start",
    "bonnet",
    "climate",
    "charge_port",
    "telemetry_read",
)
"""What a grant may allow; the car maps each action it is asked for to one scope."""

_SCHEMA_SLUGS = {
    BIRTH_CERTIFICATE: "vehicle-birth-certificate",
    VEHICLE_REGISTRATION: "vehicle-registration",
    INSURANCE_COVERAGE: "insurance-coverage",
    ACCESS_GRANT: "vehicle-access-grant",
}


def schema_id(credential_type: str) -> str:
    """Return the ``credentialSchema`` id (a JSON Schema) of one of the platform's types."""
    return f"https://amchain.dev/schemas/{_SCHEMA_SLUGS[credential_type]}/v1.json"


def _vehicle_did(vin: str) -> str:
    return "did:amc:vin:" + vin


def _credential(
    *,
    credential_type: str,
    credential_id: str,
    issuer: str,
    subject: dict[str, Any],
    valid_from: str,
    valid_until: str | None,
    status: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT, VEHICLE_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", credential_type],
        "issuer": issuer,
        "validFrom": valid_from,
    }
    if valid_until is not None:
        document["validUntil"] = valid_until
    document["credentialSubject"] = subject
    document["credentialSchema"] = {"id": schema_id(credential_type), "type": "JsonSchema"}
    if status:
        document["credentialStatus"] = list(status)
    return document


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def birth_certificate(
    *,
    credential_id: str,
    issuer: str,
    vin: str,
    make: str,
    model: str,
    model_year: int,
    plant: str | None = None,
    battery_id: str | None = None,
    valid_from: str,
    status: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A ``VehicleBirthCertificate``: the OEM attests the vehicle it produced."""
    subject = _drop_none(
        {
            "id": _vehicle_did(vin),
            "type": "Vehicle",
            "vin": vin,
            "make": make,
            "model": model,
            "modelYear": model_year,
            "plant": plant,
            "batteryId": battery_id,
        }
    )
    return _credential(
        credential_type=BIRTH_CERTIFICATE,
        credential_id=credential_id,
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=None,
        status=status,
    )


def vehicle_registration(
    *,
    credential_id: str,
    issuer: str,
    vin: str,
    region: str,
    registration_hash: str,
    plate_hash: str | None = None,
    valid_from: str,
    valid_until: str | None = None,
    status: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A ``VehicleRegistration``: a registry attests that the vehicle is registered in a
    region (the registration document and the plate appear only as SHA-256 hashes)."""
    subject = _drop_none(
        {
            "id": _vehicle_did(vin),
            "type": "Vehicle",
            "vin": vin,
            "region": region,
            "registrationHash": registration_hash,
            "plateHash": plate_hash,
        }
    )
    return _credential(
        credential_type=VEHICLE_REGISTRATION,
        credential_id=credential_id,
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
    )


def insurance_coverage(
    *,
    credential_id: str,
    issuer: str,
    vin: str,
    policy_hash: str,
    coverage: Sequence[str],
    valid_from: str,
    valid_until: str,
    status: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """An ``InsuranceCoverage``: an insurer attests cover for the vehicle over a window (the
    policy reference appears only as a SHA-256 hash)."""
    subject = {
        "id": _vehicle_did(vin),
        "type": "Vehicle",
        "vin": vin,
        "policyHash": policy_hash,
        "coverage": list(coverage),
    }
    return _credential(
        credential_type=INSURANCE_COVERAGE,
        credential_id=credential_id,
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
    )


def access_grant(
    *,
    credential_id: str,
    owner: str,
    vin: str,
    owner_epoch: int,
    grantee: str,
    scopes: Sequence[str],
    valid_from: str,
    valid_until: str,
    max_uses: int | None = None,
    status: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A ``VehicleAccessGrant`` from the vehicle's owner to ``grantee``.

    ``owner_epoch`` is the number of owners the vehicle had when the grant was issued (the
    length of the vehicle record's ``owners``): after a change of ownership it no longer
    matches, and the grant is dead.
    """
    subject = _drop_none(
        {
            "id": grantee,
            "vehicle": _vehicle_did(vin),
            "vin": vin,
            "ownerEpoch": owner_epoch,
            "scopes": sorted(set(scopes)),
            "maxUses": max_uses,
        }
    )
    return _credential(
        credential_type=ACCESS_GRANT,
        credential_id=credential_id,
        issuer=owner,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
    )


def presentation(
    *, holder: str, credentials: Sequence[dict[str, Any]], presentation_id: str | None = None
) -> dict[str, Any]:
    """An unsecured ``VerifiablePresentation`` by ``holder`` carrying ``credentials``."""
    document: dict[str, Any] = {"@context": [VC_CONTEXT, VEHICLE_CONTEXT]}
    if presentation_id is not None:
        document["id"] = presentation_id
    document["type"] = [PRESENTATION_TYPE]
    document["holder"] = holder
    document["verifiableCredential"] = list(credentials)
    return document
