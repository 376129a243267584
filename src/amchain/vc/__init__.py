"""W3C Verifiable Credentials for the platform: pure, shared by the ``credentials`` module, the
node's API, the SDK and the car (``amchain.sdk.vehicle_agent``).

- Data Integrity ``eddsa-jcs-2022`` proofs (:func:`create_proof`, :func:`verify_proof`),
  conformant with the W3C test vectors.
- Bitstring Status List 1.0 (:mod:`._statuslist`): bits, chunks, ``encodedList``.
- The platform's credential types (:mod:`._vehicle`) and their JSON Schemas.
- End-to-end verification with a report (:func:`verify_credential`) and presentations
  signed over a challenge (:func:`sign_presentation`, :func:`verify_presentation`).

No clock, randomness or I/O: callers pass ``now_ms``, ids and DID document loaders.
"""

from amchain.vc._dataintegrity import (
    CRYPTOSUITE,
    PROOF_TYPE,
    DocumentLoader,
    VerifiedProof,
    canonical_document,
    canonical_proof_config,
    compute_hash_data,
    create_proof,
    method_public_key,
    proof_config,
    verify_proof,
)
from amchain.vc._errors import VcError, VcReason
from amchain.vc._presentation import sign_presentation, verify_presentation
from amchain.vc._schemas import SCHEMAS, check_credential_schemas
from amchain.vc._statuslist import (
    CHUNK_BITS,
    CHUNK_BYTES,
    DEFAULT_LIST_BITS,
    MAX_LIST_BITS,
    MIN_LIST_BITS,
    STATUS_ENTRY_TYPE,
    STATUS_LIST_CREDENTIAL_TYPE,
    STATUS_PURPOSES,
    chunk_position,
    decode_encoded_list,
    encode_list,
    list_url,
    parse_list_url,
    read_bit,
    status_entry,
    status_list_credential,
    write_bit,
)
from amchain.vc._time import (
    RFC3339_MAX_OFFSET_MINUTES,
    DateTimeError,
    format_datetime,
    parse_datetime_ms,
)
from amchain.vc._vehicle import (
    ACCESS_GRANT,
    ACCESS_SCOPES,
    BIRTH_CERTIFICATE,
    CREDENTIAL_TYPES,
    INSURANCE_COVERAGE,
    PRESENTATION_TYPE,
    VC_CONTEXT,
    VEHICLE_CONTEXT,
    VEHICLE_REGISTRATION,
    access_grant,
    birth_certificate,
    insurance_coverage,
    presentation,
    schema_id,
    vehicle_registration,
)
from amchain.vc._verify import (
    Check,
    StatusReader,
    VerificationReport,
    credential_issuer,
    credential_status_refs,
    verify_credential,
)

__all__ = [
    "ACCESS_GRANT",
    "ACCESS_SCOPES",
    "BIRTH_CERTIFICATE",
    "CHUNK_BITS",
    "CHUNK_BYTES",
    "CREDENTIAL_TYPES",
    "CRYPTOSUITE",
    "DEFAULT_LIST_BITS",
    "INSURANCE_COVERAGE",
    "MAX_LIST_BITS",
    "MIN_LIST_BITS",
    "PRESENTATION_TYPE",
    "PROOF_TYPE",
    "RFC3339_MAX_OFFSET_MINUTES",
    "SCHEMAS",
    "STATUS_ENTRY_TYPE",
    "STATUS_LIST_CREDENTIAL_TYPE",
    "STATUS_PURPOSES",
    "VC_CONTEXT",
    "VEHICLE_CONTEXT",
    "VEHICLE_REGISTRATION",
    "Check",
    "DateTimeError",
    "DocumentLoader",
    "StatusReader",
    "VcError",
    "VcReason",
    "VerificationReport",
    "VerifiedProof",
    "access_grant",
    "birth_certificate",
    "canonical_document",
    "canonical_proof_config",
    "check_credential_schemas",
    "chunk_position",
    "compute_hash_data",
    "create_proof",
    "credential_issuer",
    "credential_status_refs",
    "decode_encoded_list",
    "encode_list",
    "format_datetime",
    "insurance_coverage",
    "list_url",
    "method_public_key",
    "parse_datetime_ms",
    "parse_list_url",
    "presentation",
    "proof_config",
    "read_bit",
    "schema_id",
    "sign_presentation",
    "status_entry",
    "status_list_credential",
    "vehicle_registration",
    "verify_credential",
    "verify_presentation",
    "verify_proof",
    "write_bit",
]
