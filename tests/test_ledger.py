"""The ledger spec: transaction hashing and signing, Merkle trees, blocks, state layers."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amchain.codec import encode_canonical
from amchain.crypto import KeyPair
from amchain.ledger import (
    GENESIS_PREV_HASH,
    BlockCode,
    BlockError,
    CommitRecord,
    MemoryState,
    Overlay,
    SignedCommit,
    TxCode,
    TxError,
    compute_merkle_proof,
    compute_merkle_root,
    decode_transaction_bytes,
    make_block_header,
    make_body,
    sign_commit_record,
    sign_transaction,
    validate_block_header,
    validate_transaction_window,
    verify_commit_signature,
    verify_merkle_proof,
    verify_transaction_signatures,
)

ALICE = KeyPair.generate()
BOB = KeyPair.generate()


def body(
    signers: list[KeyPair], *, chain_id: str = "test", expires_at_ms: int = 10_000, nonce: int = 1
):
    return make_body(
        chain_id=chain_id,
        signers=[k.public_key for k in signers],
        nonce=nonce,
        expires_at_ms=expires_at_ms,
        module="vehicles",
        message="record_event",
        args={"vin": "1HGCM82633A004352"},
    )


def test_cosigned_transaction_verifies_and_round_trips_through_bytes() -> None:
    tx = sign_transaction(body([ALICE, BOB]), [ALICE, BOB])
    verify_transaction_signatures(tx)
    again = decode_transaction_bytes(encode_canonical(tx.to_wire()))
    assert again.hash == tx.hash and again.canonical == tx.canonical


def test_signature_by_another_key_is_refused() -> None:
    tx = sign_transaction(body([ALICE]), [ALICE])
    wire = tx.to_wire()
    wire["signatures"] = [BOB.sign(b"anything").hex()]
    forged = decode_transaction_bytes(encode_canonical(wire))
    with pytest.raises(TxError) as caught:
        verify_transaction_signatures(forged)
    assert caught.value.code == TxCode.BAD_SIGNATURE


def test_swapped_cosigner_signatures_are_refused() -> None:
    tx = sign_transaction(body([ALICE, BOB]), [ALICE, BOB])
    wire = tx.to_wire()
    wire["signatures"].reverse()
    with pytest.raises(TxError):
        verify_transaction_signatures(decode_transaction_bytes(encode_canonical(wire)))


def test_hash_does_not_cover_signatures_so_resigning_cannot_dodge_replay_protection() -> None:
    first = sign_transaction(body([ALICE]), [ALICE])
    second = sign_transaction(body([ALICE]), [ALICE])
    assert first.hash == second.hash


def test_nonce_and_chain_make_distinct_transactions() -> None:
    base = sign_transaction(body([ALICE]), [ALICE]).hash
    assert sign_transaction(body([ALICE], nonce=2), [ALICE]).hash != base
    assert sign_transaction(body([ALICE], chain_id="other"), [ALICE]).hash != base


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda w: w["body"].update(signers=[]) or w.update(signatures=[]), TxCode.NO_SIGNERS),
        (lambda w: w.update(signatures=[]), TxCode.SIGNATURE_COUNT),
        (lambda w: w["body"].update(signers=["zz" * 32]), TxCode.BAD_KEY_ENCODING),
        (lambda w: w["body"].update(signers=["ab" * 31]), TxCode.BAD_KEY_ENCODING),
        (lambda w: w.update(signatures=["ab" * 63]), TxCode.BAD_SIGNATURE_ENCODING),
        (lambda w: w.update(signatures=["xy" * 64]), TxCode.BAD_SIGNATURE_ENCODING),
        (
            lambda w: (
                w["body"].update(signers=[w["body"]["signers"][0]] * 2)
                or w.update(signatures=w["signatures"] * 2)
            ),
            TxCode.DUPLICATE_SIGNER,
        ),
    ],
)
def test_malformed_envelopes_are_refused_with_their_code(mutate, code) -> None:
    wire = sign_transaction(body([ALICE]), [ALICE]).to_wire()
    mutate(wire)
    with pytest.raises(TxError) as caught:
        decode_transaction_bytes(encode_canonical(wire))
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("chain_id", "now_ms", "code"),
    [
        ("other", 0, TxCode.WRONG_CHAIN),
        ("test", 10_000, TxCode.EXPIRED),
        ("test", -100_000_000, TxCode.EXPIRY_TOO_FAR),
    ],
)
def test_transaction_window(chain_id: str, now_ms: int, code: TxCode) -> None:
    tx = sign_transaction(body([ALICE]), [ALICE])
    with pytest.raises(TxError) as caught:
        validate_transaction_window(tx, chain_id=chain_id, now_ms=now_ms)
    assert caught.value.code == code
    validate_transaction_window(tx, chain_id="test", now_ms=9_999)


@settings(max_examples=60)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
def test_every_merkle_proof_verifies_and_any_change_breaks_it(leaves: list[bytes], data) -> None:
    root = compute_merkle_root(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    path = compute_merkle_proof(leaves, index)
    assert verify_merkle_proof(leaves[index], index, len(leaves), path, root)
    assert not verify_merkle_proof(leaves[index] + b"!", index, len(leaves), path, root)
    if path:
        bad = list(path)
        bad[0] = bytes(32)
        assert not verify_merkle_proof(leaves[index], index, len(leaves), bad, root)
    if len(leaves) > 1 and leaves[index] != leaves[(index + 1) % len(leaves)]:
        assert not verify_merkle_proof(
            leaves[index], (index + 1) % len(leaves), len(leaves), path, root
        )


def test_block_header_links_and_commits_to_its_transactions() -> None:
    txs = [sign_transaction(body([ALICE], nonce=n), [ALICE]) for n in range(3)]
    header = make_block_header(
        chain_id="test",
        height=1,
        prev_hash=GENESIS_PREV_HASH,
        time_ms=5,
        txs=txs,
        proposer=ALICE.public_key,
    )
    validate_block_header(
        header, txs, chain_id="test", expected_height=1, prev_hash=GENESIS_PREV_HASH, prev_time_ms=5
    )
    cases = [
        (dict(expected_height=2), BlockCode.WRONG_HEIGHT),
        (dict(prev_hash="11" * 32), BlockCode.WRONG_PREV_HASH),
        (dict(prev_time_ms=6), BlockCode.TIME_WENT_BACKWARDS),
    ]
    for override, code in cases:
        kwargs = dict(
            chain_id="test", expected_height=1, prev_hash=GENESIS_PREV_HASH, prev_time_ms=0
        )
        kwargs.update(override)
        with pytest.raises(BlockError) as caught:
            validate_block_header(header, txs, **kwargs)
        assert caught.value.code == code
    with pytest.raises(BlockError) as caught:
        validate_block_header(
            header,
            txs[:2],
            chain_id="test",
            expected_height=1,
            prev_hash=GENESIS_PREV_HASH,
            prev_time_ms=0,
        )
    assert caught.value.code == BlockCode.WRONG_TX_ROOT


def test_commit_record_signature_binds_every_field() -> None:
    record = CommitRecord(
        chain_id="test",
        height=3,
        block_hash="aa" * 32,
        state_root="bb" * 32,
        receipts_root="cc" * 32,
    )
    signed = sign_commit_record(record, ALICE)
    assert verify_commit_signature(signed)
    tampered = SignedCommit(
        record=msgspec.structs.replace(record, state_root="bd" * 32),
        signer=signed.signer,
        signature=signed.signature,
    )
    assert not verify_commit_signature(tampered)
    assert not verify_commit_signature(msgspec.structs.replace(signed, signer=BOB.public_key.hex()))


def test_overlay_isolates_writes_until_flushed_and_iterates_in_key_order() -> None:
    base = MemoryState({"v/b": b"1", "v/d": b"2", "w/a": b"3"})
    overlay = Overlay(base)
    overlay.set("v/c", b"9")
    overlay.delete("v/d")
    overlay.set("v/a", b"0")
    assert [k for k, _ in overlay.iter_prefix("v/")] == ["v/a", "v/b", "v/c"]
    assert base.get("v/c") is None and base.get("v/d") == b"2"
    overlay.flush_into(base)
    assert [k for k, _ in base.iter_prefix("v/")] == ["v/a", "v/b", "v/c"]


def test_signed_transaction_bytes_are_the_canonical_json_of_body_and_signatures() -> None:
    import rfc8785

    from amchain.ledger.transactions import compute_tx_hash

    keys = [KeyPair.generate(), KeyPair.generate()]
    body = make_body(
        chain_id="amchain-test",
        signers=[k.public_key for k in keys],
        nonce=7,
        expires_at_ms=1_900_000_000_000,
        module="vehicles",
        message="record_event",
        args={"vin": "WVWZZZ1JZ3W386752", "event": {"type": "odometer", "odometer_km": 12}},
    )
    tx = sign_transaction(body, keys)
    assert tx.canonical == rfc8785.dumps(tx.to_wire())
    assert tx.hash == compute_tx_hash(body)
