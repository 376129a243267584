"""W3C vc-di-eddsa test vectors for eddsa-jcs-2022, passed exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from amchain.crypto import KeyPair, decode_multikey, decode_private_multikey, encode_multikey
from amchain.vc import (
    VcError,
    VcReason,
    canonical_document,
    canonical_proof_config,
    compute_hash_data,
    create_proof,
    verify_proof,
)


@pytest.fixture(scope="module")
def vc_dir(vectors_dir: Path) -> Path:
    return vectors_dir / "vc-di-eddsa"


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _text(path: Path) -> str:
    return path.read_text().strip()


def _key_pair(vc_dir: Path) -> KeyPair:
    pair = _json(vc_dir / "keyPair.json")
    key = KeyPair.from_seed(decode_private_multikey(pair["privateKeyMultibase"]))
    assert key.public_key == decode_multikey(pair["publicKeyMultibase"])
    return key


def test_the_signed_example_verifies(vc_dir: Path) -> None:
    signed = _json(vc_dir / "eddsa-jcs-2022" / "signedJCS.json")
    proof = verify_proof(signed, load=None)
    public = _json(vc_dir / "keyPair.json")["publicKeyMultibase"]
    assert proof.verification_method == f"did:key:{public}#{public}"
    assert encode_multikey(proof.public_key) == public


def test_canonical_forms_hashes_and_signature_are_reproduced(vc_dir: Path) -> None:
    suite = vc_dir / "eddsa-jcs-2022"
    unsigned = _json(vc_dir / "unsigned.json")
    config = _json(suite / "proofConfigJCS.json")
    assert canonical_document(unsigned).decode() == _text(suite / "canonDocJCS.txt")
    assert canonical_proof_config(config).decode() == _text(suite / "proofCanonJCS.txt")
    hash_data = compute_hash_data(unsigned, config)
    assert hash_data[32:].hex() == _text(suite / "docHashJCS.txt")
    assert hash_data[:32].hex() == _text(suite / "proofHashJCS.txt")
    assert hash_data.hex() == _text(suite / "combinedHashJCS.txt")
    key = _key_pair(vc_dir)
    assert key.sign(hash_data).hex() == _text(suite / "sigHexJCS.txt")


def test_signing_the_unsigned_document_gives_the_signed_example(vc_dir: Path) -> None:
    suite = vc_dir / "eddsa-jcs-2022"
    config = _json(suite / "proofConfigJCS.json")
    secured = create_proof(
        _json(vc_dir / "unsigned.json"),
        _key_pair(vc_dir),
        verification_method=config["verificationMethod"],
        proof_purpose=config["proofPurpose"],
        created=config["created"],
    )
    assert secured["proof"]["proofValue"] == _text(suite / "sigBTC58JCS.txt")
    assert secured == _json(suite / "signedJCS.json")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "alumniOf"), "The School of Counterfeits"),
        (("validFrom",), "2023-01-02T00:00:00Z"),
        (("proof", "created"), "2023-02-24T23:36:39Z"),
    ],
)
def test_any_change_to_the_signed_example_breaks_the_proof(
    vc_dir: Path, path: tuple[str, ...], value: str
) -> None:
    signed = _json(vc_dir / "eddsa-jcs-2022" / "signedJCS.json")
    target = signed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(VcError) as info:
        verify_proof(signed, load=None)
    assert info.value.reason == VcReason.BAD_SIGNATURE


def test_a_proof_for_another_purpose_is_refused(vc_dir: Path) -> None:
    signed = _json(vc_dir / "eddsa-jcs-2022" / "signedJCS.json")
    with pytest.raises(VcError) as info:
        verify_proof(signed, load=None, expected_purpose="authentication")
    assert info.value.reason == VcReason.WRONG_PURPOSE
