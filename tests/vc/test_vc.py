"""amchain.vc beyond the vectors: time stamps, status lists, did:key, verification reports."""

from __future__ import annotations

import uuid

import pytest

from amchain.crypto import KeyPair, did_key_for, resolve_did_key
from amchain.sdk import Signer
from amchain.sdk.credentials import device_signer, sign_credential, verify
from amchain.vc import (
    DateTimeError,
    VcReason,
    access_grant,
    decode_encoded_list,
    encode_list,
    format_datetime,
    list_url,
    parse_datetime_ms,
    read_bit,
    status_entry,
    write_bit,
)

VIN = "1HGCM82633A004352"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2023-01-01T00:00:00Z", 1_672_531_200_000),
        ("2024-02-29T12:30:00.250+02:00", 1_709_202_600_250),
        ("1969-12-31T23:59:59Z", -1000),
    ],
)
def test_date_times_convert_both_ways(text: str, ms: int) -> None:
    assert parse_datetime_ms(text) == ms
    if "+" not in text:
        assert parse_datetime_ms(format_datetime(ms)) == ms


@pytest.mark.parametrize("text", ["2023-02-29T00:00:00Z", "2023-01-01T00:00:00", "yesterday"])
def test_impossible_or_zoneless_date_times_are_refused(text: str) -> None:
    with pytest.raises(DateTimeError):
        parse_datetime_ms(text)


def test_status_bits_are_left_most_first_and_survive_the_encoded_list() -> None:
    bits = bytes(16_384)
    bits = write_bit(bits, 0, True)
    bits = write_bit(bits, 94_567, True)
    assert bits[0] == 0x80 and read_bit(bits, 94_567) and not read_bit(bits, 94_566)
    encoded = encode_list(bits)
    assert encoded.startswith("u") and "=" not in encoded
    assert decode_encoded_list(encoded) == bits


def test_did_key_resolves_offline_to_a_multikey_document() -> None:
    key = KeyPair.generate()
    did = did_key_for(key.public_key)
    document = resolve_did_key(did)
    method = document["verificationMethod"][0]  # type: ignore[index]
    assert document["assertionMethod"] == [method["id"]] and method["id"].startswith(did + "#")


def _device_credential(issuer: Signer, grantee: str) -> dict[str, object]:
    draft = access_grant(
        credential_id=f"urn:uuid:{uuid.uuid4()}", owner=issuer.did, vin=VIN, owner_epoch=1,
        grantee=grantee, scopes=["unlock"], valid_from="2020-01-01T00:00:00Z",
        valid_until="2099-01-01T00:00:00Z",
    )  # fmt: skip
    return sign_credential(draft, issuer)


def test_a_did_key_credential_verifies_with_no_network_at_all() -> None:
    device = device_signer(Signer(KeyPair.generate()))
    report = verify(
        _device_credential(device, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    )
    assert report.verified, report.to_json()
    assert {c.name for c in report.checks} >= {"proof", "issuer", "validity", "schema"}


def test_a_credential_whose_status_cannot_be_read_is_reported_unchecked() -> None:
    device = device_signer(Signer(KeyPair.generate()))
    draft = access_grant(
        credential_id=f"urn:uuid:{uuid.uuid4()}", owner=device.did, vin=VIN, owner_epoch=1,
        grantee=device.did, scopes=["unlock"], valid_from="2020-01-01T00:00:00Z",
        valid_until="2099-01-01T00:00:00Z",
        status=[status_entry(list_url(device.did, "revocation"), 5, "revocation")],
    )  # fmt: skip
    report = verify(sign_credential(draft, device))
    assert report.verified and [c.name for c in report.unchecked] == ["status:revocation"]
    revoked = verify(sign_credential(draft, device), read_status=lambda url, i: True)
    assert not revoked.verified and revoked.failure is not None
    assert revoked.failure.reason == VcReason.REVOKED


def test_an_expired_credential_is_not_verified() -> None:
    device = device_signer(Signer(KeyPair.generate()))
    report = verify(_device_credential(device, device.did), at_ms=parse_datetime_ms(
        "2100-01-01T00:00:00Z"))  # fmt: skip
    assert report.failure is not None and report.failure.reason == VcReason.EXPIRED


def test_a_credential_that_breaks_its_schema_is_not_verified() -> None:
    device = device_signer(Signer(KeyPair.generate()))
    credential = _device_credential(device, device.did)
    credential.pop("proof")
    credential["credentialSubject"]["scopes"] = ["fly"]  # type: ignore[index]
    report = verify(sign_credential(credential, device))
    assert report.failure is not None and report.failure.reason == VcReason.SCHEMA_INVALID
