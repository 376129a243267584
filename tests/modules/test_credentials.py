"""The credentials module: status lists, anchored credentials, access grants, access logs."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from typing import Any

import pytest

from amchain.crypto import KeyPair, encode_multikey
from amchain.ledger import Overlay
from amchain.modules import credentials
from amchain.modules.credentials import SPEC, CredentialsCode, CredentialsError
from amchain.modules.credentials.keys import chunk_key
from amchain.vc import (
    access_grant,
    birth_certificate,
    create_proof,
    format_datetime,
    list_url,
    status_entry,
)
from tests.modules.test_vehicles import T0, VIN, Chain

HOUR = 3_600_000


def _org_method(chain: Chain, org: str) -> str:
    return f"did:amc:org:{org}#{encode_multikey(chain.org(org).public_key)}"


def _status(issuer: str, index: int) -> list[dict[str, Any]]:
    return [
        status_entry(list_url(issuer, "revocation"), index, "revocation"),
        status_entry(list_url(issuer, "suspension"), index, "suspension"),
    ]


def _birth_certificate(chain: Chain, index: int = 7, org: str = "oem1") -> dict[str, Any]:
    issuer = f"did:amc:org:{org}"
    document = birth_certificate(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=issuer,
        vin=VIN,
        make="Honda",
        model="Accord",
        model_year=2003,
        valid_from=format_datetime(T0),
        status=_status(issuer, index),
    )
    return create_proof(
        document,
        chain.org(org),
        verification_method=_org_method(chain, org),
        created=format_datetime(T0),
    )


def _refused(code: CredentialsCode, chain: Chain, message: str, args: Any, *signers: Any) -> None:
    with pytest.raises(CredentialsError) as info:
        chain.submit(SPEC, message, args, *signers)
    assert info.value.code == code, info.value.message


def _grant(
    chain: Chain,
    owner_key: KeyPair,
    owner: str,
    grantee: str,
    *,
    index: int = 3,
    scopes: tuple[str, ...] = ("trunk",),
    epoch: int = 2,
    hours: int = 2,
) -> dict[str, Any]:
    start = chain.time_ms
    document = access_grant(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        owner=owner,
        vin=VIN,
        owner_epoch=epoch,
        grantee=grantee,
        scopes=scopes,
        valid_from=format_datetime(start),
        valid_until=format_datetime(start + hours * HOUR),
        status=_status(owner, index),
    )
    return create_proof(document, owner_key, verification_method=f"{owner}#key-1")


@pytest.fixture
def chain() -> Chain:
    return Chain()


@pytest.fixture
def owned(chain: Chain) -> tuple[Chain, KeyPair, str, KeyPair]:
    """A vehicle with an on-board key, sold to alice."""
    car_key = KeyPair.generate()
    chain.register(vehicle_key=car_key.public_key.hex())
    alice_key, alice = chain.create_person()
    chain.record({"type": "sold", "buyer": alice}, chain.org("dealer1"))
    return chain, alice_key, alice, car_key


# --- status lists and credentials -------------------------------------------------------------


def test_a_credential_signed_by_its_issuer_is_anchored_with_its_status_indexes(
    chain: Chain,
) -> None:
    vc = _birth_certificate(chain)
    ctx = chain.submit(SPEC, "register_credential", {"credential": vc}, chain.org("oem1"))
    record = credentials.get_credential(chain.state, vc["id"])
    assert record is not None and record.issuer == "did:amc:org:oem1"
    assert record.subject == f"did:amc:vin:{VIN}"
    assert [r.purpose for r in record.status] == ["revocation", "suspension"]
    assert "credentials.registered" in [e.type for e in ctx.events]
    # first use created the issuer's two lists, at the spec's minimum size
    header = credentials.get_status_list(chain.state, list_url("did:amc:org:oem1", "revocation"))
    assert header is not None and header.size == 131_072


def test_a_tampered_credential_is_refused_on_chain(chain: Chain) -> None:
    vc = _birth_certificate(chain)
    vc["credentialSubject"]["model"] = "Civic"
    _refused(
        CredentialsCode.PROOF_INVALID,
        chain,
        "register_credential",
        {"credential": vc},
        chain.org("oem1"),
    )


def test_only_a_key_of_the_issuer_may_register_its_credential(chain: Chain) -> None:
    _refused(
        CredentialsCode.NOT_ISSUER,
        chain,
        "register_credential",
        {"credential": _birth_certificate(chain)},
        chain.org("oem2"),
    )


def test_a_status_index_is_never_given_to_two_credentials(chain: Chain) -> None:
    chain.submit(
        SPEC, "register_credential", {"credential": _birth_certificate(chain, 9)}, chain.org("oem1")
    )
    _refused(
        CredentialsCode.SLOT_TAKEN,
        chain,
        "register_credential",
        {"credential": _birth_certificate(chain, 9)},
        chain.org("oem1"),
    )


def test_revocation_is_final_and_suspension_can_be_lifted(chain: Chain) -> None:
    vc = _birth_certificate(chain, 4242)
    oem = chain.org("oem1")
    chain.submit(SPEC, "register_credential", {"credential": vc}, oem)
    revocation = list_url("did:amc:org:oem1", "revocation")
    suspension = list_url("did:amc:org:oem1", "suspension")
    chain.submit(SPEC, "set_status", {"status_list": suspension, "index": 4242, "value": True}, oem)
    assert credentials.read_status(chain.state, suspension, 4242) is True
    chain.submit(
        SPEC, "set_status", {"status_list": suspension, "index": 4242, "value": False}, oem
    )
    assert credentials.read_status(chain.state, suspension, 4242) is False
    chain.submit(SPEC, "set_status", {"status_list": revocation, "index": 4242, "value": True}, oem)
    assert credentials.read_status(chain.state, revocation, 4242) is True
    _refused(
        CredentialsCode.REVOCATION_IS_FINAL,
        chain,
        "set_status",
        {"status_list": revocation, "index": 4242, "value": False},
        oem,
    )
    _refused(
        CredentialsCode.STATUS_UNCHANGED,
        chain,
        "set_status",
        {"status_list": revocation, "index": 4242, "value": True},
        oem,
    )
    _refused(
        CredentialsCode.NOT_ISSUER,
        chain,
        "set_status",
        {"status_list": suspension, "index": 4242, "value": True},
        chain.org("oem2"),
    )


def test_revoking_one_credential_in_a_list_of_131072_rewrites_one_256_byte_chunk(
    chain: Chain,
) -> None:
    oem = chain.org("oem1")
    chain.submit(
        SPEC,
        "create_status_list",
        {"issuer": "did:amc:org:oem1", "name": "big", "purpose": "revocation"},
        oem,
    )
    url = list_url("did:amc:org:oem1", "big")
    overlay = Overlay(chain.state)
    from amchain.modules.base import TxContext

    ctx = TxContext(
        chain_id="t",
        height=99,
        time_ms=T0,
        tx_hash="00" * 32,
        signers=(oem.public_key,),
        standings=(chain.standing(oem.public_key),),
        state=overlay,
    )
    SPEC.messages["set_status"].handler(
        ctx, credentials.SetStatusArgs(status_list=url, index=100_000, value=True)
    )
    writes = overlay.write_set()
    assert [k for k, _ in writes] == [chunk_key("did:amc:org:oem1", "big", 100_000 // 2048)]
    stored = writes[0][1] or b""
    assert len(base64.b64decode(json.loads(stored))) == 256 and len(stored) == 346


# --- access grants ------------------------------------------------------------------------------


def test_the_current_owner_grants_access_and_the_grant_is_active(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, alice, _ = owned
    _, courier = chain.create_person()
    grant = _grant(chain, alice_key, alice, courier)
    chain.submit(SPEC, "grant_access", {"grant": grant}, alice_key)
    record = credentials.get_grant(chain.state, VIN, grant["id"])
    assert record is not None and record.grantee == courier and record.scopes == ["trunk"]
    assert credentials.grant_standing(chain.state, record, chain.time_ms) == "active"


def test_a_grant_from_someone_who_is_not_the_owner_is_refused(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, _, _, _ = owned
    mallory_key, mallory = chain.create_person()
    _, courier = chain.create_person()
    _refused(
        CredentialsCode.NOT_CURRENT_OWNER,
        chain,
        "grant_access",
        {"grant": _grant(chain, mallory_key, mallory, courier)},
        mallory_key,
    )


def test_a_grant_naming_another_ownership_epoch_is_refused(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, alice, _ = owned
    _, courier = chain.create_person()
    _refused(
        CredentialsCode.OWNER_EPOCH_MISMATCH,
        chain,
        "grant_access",
        {"grant": _grant(chain, alice_key, alice, courier, epoch=1)},
        alice_key,
    )


def test_grants_die_when_the_vehicle_changes_hands(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, alice, _ = owned
    _, courier = chain.create_person()
    grant = _grant(chain, alice_key, alice, courier)
    chain.submit(SPEC, "grant_access", {"grant": grant}, alice_key)
    bob_key, bob = chain.create_person()
    chain.record({"type": "ownership_transferred", "new_owner": bob}, alice_key, bob_key)
    record = credentials.get_grant(chain.state, VIN, grant["id"])
    assert record is not None
    assert credentials.grant_standing(chain.state, record, chain.time_ms) == "ownership_changed"
    # and the previous owner cannot grant any more
    _refused(
        CredentialsCode.NOT_CURRENT_OWNER,
        chain,
        "grant_access",
        {"grant": _grant(chain, alice_key, alice, courier, index=5, epoch=3)},
        alice_key,
    )


def test_revoking_and_suspending_a_grant_change_its_standing(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, alice, _ = owned
    _, courier = chain.create_person()
    grant = _grant(chain, alice_key, alice, courier, index=77)
    chain.submit(SPEC, "grant_access", {"grant": grant}, alice_key)
    record = credentials.get_grant(chain.state, VIN, grant["id"])
    assert record is not None
    chain.submit(
        SPEC,
        "set_status",
        {"status_list": list_url(alice, "suspension"), "index": 77, "value": True},
        alice_key,
    )
    assert credentials.grant_standing(chain.state, record, chain.time_ms) == "suspended"
    chain.submit(
        SPEC,
        "set_status",
        {"status_list": list_url(alice, "revocation"), "index": 77, "value": True},
        alice_key,
    )
    assert credentials.grant_standing(chain.state, record, chain.time_ms) == "revoked"


# --- access log ---------------------------------------------------------------------------------


def _entry(seq: int, allowed: bool, grant_id: str | None = None) -> dict[str, Any]:
    return {
        "seq": seq,
        "nonce": f"{seq:032x}",
        "action": "trunk",
        "allowed": allowed,
        "reason": "ok" if allowed else "scope",
        "decided_at_ms": T0 + seq,
        "grant_id": grant_id,
    }


def test_the_vehicle_logs_its_decisions_hash_chained_and_counts_uses(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, alice, car_key = owned
    _, courier = chain.create_person()
    grant = _grant(chain, alice_key, alice, courier)
    chain.submit(SPEC, "grant_access", {"grant": grant}, alice_key)
    chain.submit(
        SPEC,
        "log_access",
        {"vin": VIN, "entries": [_entry(0, True, grant["id"]), _entry(1, False)]},
        car_key,
    )
    chain.submit(
        SPEC, "log_access", {"vin": VIN, "entries": [_entry(2, True, grant["id"])]}, car_key
    )
    log = credentials.get_access_log(chain.state, VIN)
    assert [e.seq for e in log] == [0, 1, 2]
    assert log[0].prev_hash == "00" * 32
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(log))
    assert all(credentials.compute_log_entry_hash(e) == e.entry_hash for e in log)
    head = credentials.get_access_log_head(chain.state, VIN)
    assert head is not None and head.count == 3 and head.head == log[-1].entry_hash
    record = credentials.get_grant(chain.state, VIN, grant["id"])
    assert record is not None and record.uses == 2


def test_only_the_vehicle_key_writes_its_access_log(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, _, _ = owned
    _refused(
        CredentialsCode.NOT_VEHICLE_KEY,
        chain,
        "log_access",
        {"vin": VIN, "entries": [_entry(0, True)]},
        alice_key,
    )


def test_access_log_entries_must_continue_the_log(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, _, _, car_key = owned
    _refused(
        CredentialsCode.LOG_SEQ_MISMATCH,
        chain,
        "log_access",
        {"vin": VIN, "entries": [_entry(1, True)]},
        car_key,
    )


def test_snapshot_keys_name_everything_the_car_needs(
    owned: tuple[Chain, KeyPair, str, KeyPair],
) -> None:
    chain, alice_key, alice, _ = owned
    _, courier = chain.create_person()
    grant = _grant(chain, alice_key, alice, courier, index=5000)
    chain.submit(SPEC, "grant_access", {"grant": grant}, alice_key)
    keys = credentials.snapshot_keys(chain.state, VIN, chain.time_ms)
    assert f"vehicles/v/{VIN}" in keys
    assert f"identity/did/{alice}" in keys and f"identity/did/{courier}" in keys
    assert f"credentials/grant/{VIN}/{grant['id']}" in keys
    assert chunk_key(alice, "revocation", 5000 // 2048) in keys
    assert chunk_key(alice, "suspension", 5000 // 2048) in keys
