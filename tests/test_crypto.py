"""Ed25519: one strict verifier on every peer, and strict key registration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amchain.crypto import (
    EncodingError,
    InvalidPublicKey,
    KeyPair,
    decode_multikey,
    encode_multikey,
    validate_public_key,
    verify_signature,
)

# The strict policy (RFC 8032 §5.1.7 with canonical encodings and the cofactorless equation,
# plus refusal of small-order A and R), as libsodium implements it.
REFUSED_FLAGS = {
    "low_order_A",
    "low_order_R",
    "non_canonical_A",
    "non_canonical_R",
    "low_order_residue",
}


def load_vectors(vectors_dir: Path) -> list[dict[str, object]]:
    return json.loads((vectors_dir / "ed25519" / "ed25519vectors.json").read_text())


def test_edge_case_vectors_give_the_strict_verifiers_answers(vectors_dir: Path) -> None:
    vectors = load_vectors(vectors_dir)
    assert len(vectors) == 914
    accepted = 0
    for vector in vectors:
        flags = set(vector["flags"] or [])  # type: ignore[arg-type]
        expected = not (flags & REFUSED_FLAGS)
        got = verify_signature(
            bytes.fromhex(str(vector["key"])),
            str(vector["msg"]).encode(),
            bytes.fromhex(str(vector["sig"])),
        )
        assert got == expected, f"vector {vector['number']} flags {sorted(flags)}"
        accepted += got
    assert accepted == 43


def test_small_order_and_non_canonical_keys_are_refused_at_registration(vectors_dir: Path) -> None:
    refused = 0
    for vector in load_vectors(vectors_dir):
        flags = set(vector["flags"] or [])  # type: ignore[arg-type]
        if flags & {"low_order_A", "non_canonical_A", "low_order_component_A"}:
            with pytest.raises(InvalidPublicKey):
                validate_public_key(bytes.fromhex(str(vector["key"])))
            refused += 1
    assert refused > 500


def test_generated_key_is_accepted_and_signs() -> None:
    key = KeyPair.generate()
    validate_public_key(key.public_key)
    signature = key.sign(b"odometer 12000")
    assert verify_signature(key.public_key, b"odometer 12000", signature)
    assert not verify_signature(key.public_key, b"odometer 1200", signature)
    assert not verify_signature(KeyPair.generate().public_key, b"odometer 12000", signature)


def test_wrong_lengths_never_verify_and_never_raise() -> None:
    key = KeyPair.generate()
    signature = key.sign(b"m")
    assert not verify_signature(key.public_key[:31], b"m", signature)
    assert not verify_signature(key.public_key, b"m", signature[:63])
    with pytest.raises(InvalidPublicKey):
        validate_public_key(b"\x01" * 31)


def test_multikey_round_trip_and_refusals() -> None:
    key = KeyPair.generate()
    text = encode_multikey(key.public_key)
    assert text.startswith("z6Mk")
    assert decode_multikey(text) == key.public_key
    with pytest.raises(EncodingError):
        decode_multikey("m" + text[1:])
    with pytest.raises(EncodingError):
        decode_multikey("z0OIl")


def test_seed_round_trip_and_repr_hides_the_seed() -> None:
    key = KeyPair.generate()
    assert KeyPair.from_seed(key.seed) == key
    assert key.seed.hex() not in repr(key)
    with pytest.raises(ValueError):
        KeyPair.from_seed(b"short")


def test_signatures_match_rfc8032_test_vector_1() -> None:
    # RFC 8032 §7.1, TEST 1: the empty message.
    key = KeyPair.from_seed(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )
    assert key.public_key.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_a_key_pair_whose_public_key_is_not_its_seeds_is_refused() -> None:
    key, other = KeyPair.generate(), KeyPair.generate()
    with pytest.raises(ValueError, match="not the one this seed derives"):
        KeyPair(seed=key.seed, public_key=other.public_key)
