"""Unit tests of the identity module, calling handlers through a tiny local executor."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amchain.codec import DecodeError, convert
from amchain.crypto import KeyPair, decode_multikey, encode_multikey, sha256
from amchain.ledger import Event, MemoryState, Overlay
from amchain.modules import consortium, identity
from amchain.modules.base import ROLES, KeyStanding, KeyStatus, TxContext
from amchain.modules.identity import (
    SPEC,
    IdentityCode,
    IdentityError,
    did_exists,
    did_for_key,
    is_controlled_by,
    parse_did,
    register_vehicle_did,
    resolve_did,
    resolve_key,
    vehicle_did,
)

SMALL_ORDER_KEY = "01" + "00" * 31
VIN = "WVWZZZ1JZXW000001"


def standing_of(state: MemoryState, key: bytes) -> KeyStanding | None:
    return consortium.resolve_key(state, key) or resolve_key(state, key)


def run(
    state: MemoryState,
    message: str,
    args: dict[str, Any],
    signers: list[KeyPair],
    *,
    height: int = 1,
) -> list[Event]:
    """Execute one message like the runtime does: overlay, handler, flush on success."""
    spec = SPEC.messages[message]
    overlay = Overlay(state)
    ctx = TxContext(
        chain_id="test",
        height=height,
        time_ms=1_700_000_000_000 + height,
        tx_hash="00" * 32,
        signers=tuple(k.public_key for k in signers),
        standings=tuple(standing_of(state, k.public_key) for k in signers),
        state=overlay,
    )
    spec.handler(ctx, convert(args, spec.args_type))
    overlay.flush_into(state)
    return ctx.events


def expect_code(code: IdentityCode) -> Any:
    class _Match:
        def __enter__(self) -> None:
            return None

        def __exit__(self, typ: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, IdentityError), f"expected IdentityError, got {exc!r}"
            assert exc.code == code, f"expected {code.name}, got {exc!r}"
            assert exc.codespace == "identity"
            return True

    return _Match()


class World:
    def __init__(self) -> None:
        self.oem_admin = KeyPair.generate()
        self.oem_device = KeyPair.generate()
        self.oem_old = KeyPair.generate()
        self.state = MemoryState()
        consortium.init_genesis(
            self.state,
            convert(
                {
                    "organisations": [
                        {
                            "id": "oem_a",
                            "name": "OEM A",
                            "roles": ["oem"],
                            "admin_keys": [self.oem_admin.public_key.hex()],
                            "device_keys": [
                                self.oem_device.public_key.hex(),
                                self.oem_old.public_key.hex(),
                            ],
                        }
                    ]
                },
                consortium.ConsortiumGenesis,
            ),
        )
        # revoke one org key so org DID resolution must skip it
        overlay = Overlay(self.state)
        ctx = TxContext(
            "test",
            1,
            0,
            "00" * 32,
            (self.oem_admin.public_key,),
            (consortium.resolve_key(self.state, self.oem_admin.public_key),),
            overlay,
        )
        consortium.SPEC.messages["revoke_key"].handler(
            ctx, consortium.RevokeKeyArgs(org="oem_a", public_key=self.oem_old.public_key.hex())
        )
        overlay.flush_into(self.state)
        self.alice = KeyPair.generate()
        self.alice_did = did_for_key(self.alice.public_key)

    def create_alice(self, **extra: Any) -> list[Event]:
        return run(
            self.state,
            "create_did",
            {"public_key": self.alice.public_key.hex(), **extra},
            [self.oem_admin, self.alice],
            height=2,
        )

    def add_key(
        self,
        key: KeyPair,
        purposes: list[str] | None = None,
        signers: list[KeyPair] | None = None,
        height: int = 3,
    ) -> list[Event]:
        return run(
            self.state,
            "add_key",
            {
                "did": self.alice_did,
                "public_key": key.public_key.hex(),
                "purposes": purposes or ["authentication"],
            },
            signers if signers is not None else [self.alice, key],
            height=height,
        )


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def alice(world: World) -> World:
    world.create_alice()
    return world


# --- names ------------------------------------------------------------------------------------


def test_did_for_key_is_base58_of_truncated_sha256() -> None:
    import base58

    key = KeyPair.generate().public_key
    did = did_for_key(key)
    assert did == "did:amc:" + base58.b58encode(sha256(key)[:16]).decode()
    assert parse_did(did) == ("key", did[len("did:amc:") :])


def test_vehicle_and_org_dids_parse_to_their_kind() -> None:
    assert vehicle_did(VIN) == f"did:amc:vin:{VIN}"
    assert parse_did(vehicle_did(VIN)) == ("vin", VIN)
    assert parse_did("did:amc:org:oem_a") == ("org", "oem_a")


@pytest.mark.parametrize(
    "did",
    [
        "did:amc:",
        "did:web:example.com",
        "did:amc:a b",
        "did:amc:" + "a" * 129,
        "did:amc:abc\n",
        "DID:amc:abc",
    ],
)
def test_malformed_did_is_refused(did: str) -> None:
    with expect_code(IdentityCode.INVALID_DID):
        parse_did(did)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_did_for_any_key_matches_the_did_syntax(key: bytes) -> None:
    assert parse_did(did_for_key(key))[0] == "key"


# --- create_did -------------------------------------------------------------------------------


def test_create_did_stores_first_key_with_default_purposes(world: World) -> None:
    events = world.create_alice(
        services=[
            {"id": "vault", "type": "DataVault", "service_endpoint": "https://vault.example/alice"},
        ]
    )
    assert events[0].type == "identity.did_created"
    assert events[0].attributes == {
        "did": world.alice_did,
        "key_id": f"{world.alice_did}#key-1",
        "sponsor": "oem_a",
    }
    result = resolve_did(world.state, world.alice_did)
    assert result is not None
    doc = result["didDocument"]
    did = world.alice_did
    assert doc["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert doc["id"] == did
    assert "controller" not in doc
    [method] = doc["verificationMethod"]
    assert method["id"] == f"{did}#key-1"
    assert method["type"] == "Multikey"
    assert method["controller"] == did
    assert method["publicKeyMultibase"].startswith("z6Mk")
    assert decode_multikey(method["publicKeyMultibase"]) == world.alice.public_key
    assert doc["authentication"] == [f"{did}#key-1"]
    assert doc["assertionMethod"] == [f"{did}#key-1"]
    assert doc["capabilityInvocation"] == [f"{did}#key-1"]
    assert "keyAgreement" not in doc
    assert doc["service"] == [
        {
            "id": f"{did}#vault",
            "type": "DataVault",
            "serviceEndpoint": "https://vault.example/alice",
        },
    ]
    assert result["didDocumentMetadata"] == {
        "created_height": 2,
        "updated_height": 2,
        "deactivated": False,
    }
    assert did_exists(world.state, did)
    assert is_controlled_by(world.state, did, world.alice.public_key)
    assert resolve_key(world.state, world.alice.public_key) == KeyStanding(
        status=KeyStatus.ACTIVE, did=did
    )


def test_create_did_spec_needs_a_consortium_role_and_introduces_the_key() -> None:
    spec = SPEC.messages["create_did"]
    key = KeyPair.generate().public_key
    args = convert({"public_key": key.hex()}, spec.args_type)
    assert spec.roles(args) == ROLES
    assert spec.introduced_keys(args) == [key]
    assert spec.index(args) == [("did", did_for_key(key))]


def test_every_message_is_indexed_by_did() -> None:
    key = KeyPair.generate().public_key.hex()
    did = "did:amc:abc"
    samples = {
        "add_key": {"did": did, "public_key": key, "purposes": ["authentication"]},
        "rotate_key": {"did": did, "key_id": "key-1", "new_public_key": key},
        "revoke_key": {"did": did, "key_id": "key-1"},
        "add_service": {
            "did": did,
            "service": {"id": "v", "type": "t", "service_endpoint": "https://x"},
        },
        "deactivate": {"did": did},
    }
    for name, args in samples.items():
        spec = SPEC.messages[name]
        typed = convert(args, spec.args_type)
        assert spec.index(typed) == [("did", did)]
        assert spec.roles(typed) == ()


def test_create_did_twice_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.DID_EXISTS):
        alice.create_alice()


def test_create_did_with_key_of_another_did_is_refused(alice: World) -> None:
    bob = KeyPair.generate()
    alice.add_key(bob)
    with expect_code(IdentityCode.KEY_IN_USE):
        run(alice.state, "create_did", {"public_key": bob.public_key.hex()}, [alice.oem_admin, bob])


def test_create_did_with_consortium_key_is_refused(world: World) -> None:
    with expect_code(IdentityCode.KEY_IN_USE):
        run(
            world.state,
            "create_did",
            {"public_key": world.oem_device.public_key.hex()},
            [world.oem_admin, world.oem_device],
        )


def test_create_did_without_key_signature_is_refused(world: World) -> None:
    with expect_code(IdentityCode.NEW_KEY_NOT_SIGNED):
        run(
            world.state,
            "create_did",
            {"public_key": world.alice.public_key.hex()},
            [world.oem_admin],
        )


def test_create_did_without_consortium_sponsor_is_refused(world: World) -> None:
    with expect_code(IdentityCode.NO_SPONSOR):
        run(world.state, "create_did", {"public_key": world.alice.public_key.hex()}, [world.alice])


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (SMALL_ORDER_KEY, IdentityCode.INVALID_KEY),
        ("not hex", IdentityCode.INVALID_KEY_ENCODING),
        ("ab" * 33, IdentityCode.INVALID_KEY_ENCODING),
        ("AB" * 32, IdentityCode.INVALID_KEY_ENCODING),
    ],
)
def test_create_did_with_invalid_key_is_refused(
    world: World, text: str, code: IdentityCode
) -> None:
    with expect_code(code):
        run(world.state, "create_did", {"public_key": text}, [world.oem_admin])


@pytest.mark.parametrize(
    "service",
    [
        {"id": "bad id", "type": "T", "service_endpoint": "https://x"},
        {"id": "v", "type": "", "service_endpoint": "https://x"},
        {"id": "v", "type": "T" * 65, "service_endpoint": "https://x"},
        {"id": "v", "type": "T", "service_endpoint": "https://x/" + "a" * 512},
        {"id": "v", "type": "T", "service_endpoint": "not a url"},
    ],
)
def test_create_did_with_invalid_service_is_refused(world: World, service: dict[str, str]) -> None:
    with expect_code(IdentityCode.INVALID_SERVICE):
        world.create_alice(services=[service])


def test_create_did_with_duplicate_service_ids_is_refused(world: World) -> None:
    service = {"id": "v", "type": "T", "service_endpoint": "https://x"}
    with expect_code(IdentityCode.DUPLICATE_SERVICE):
        world.create_alice(services=[service, service])


def test_create_did_with_too_many_services_is_refused(world: World) -> None:
    services = [{"id": f"s{i}", "type": "T", "service_endpoint": "https://x"} for i in range(17)]
    with expect_code(IdentityCode.TOO_MANY_SERVICES):
        world.create_alice(services=services)


def test_create_did_args_refuse_unknown_fields() -> None:
    with pytest.raises(DecodeError):
        convert({"public_key": "00", "owner": "x"}, SPEC.messages["create_did"].args_type)


# --- add_key ----------------------------------------------------------------------------------


def test_add_key_gets_next_key_id_and_purposes_in_document(alice: World) -> None:
    agree = KeyPair.generate()
    events = alice.add_key(agree, ["keyAgreement", "authentication"], height=4)
    did = alice.alice_did
    assert events[0].attributes == {
        "did": did,
        "key_id": f"{did}#key-2",
        "purposes": ["authentication", "keyAgreement"],
    }
    result = resolve_did(alice.state, did)
    assert result is not None
    doc = result["didDocument"]
    assert [m["id"] for m in doc["verificationMethod"]] == [f"{did}#key-1", f"{did}#key-2"]
    assert doc["keyAgreement"] == [f"{did}#key-2"]
    assert doc["authentication"] == [f"{did}#key-1", f"{did}#key-2"]
    assert result["didDocumentMetadata"]["updated_height"] == 4
    assert is_controlled_by(alice.state, did, agree.public_key)


def test_add_key_by_non_controller_is_refused(alice: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.NOT_CONTROLLER):
        alice.add_key(new, signers=[alice.oem_admin, new])


def test_add_key_by_assertion_only_key_is_refused(alice: World) -> None:
    signer = KeyPair.generate()
    alice.add_key(signer, ["assertionMethod"])
    new = KeyPair.generate()
    with expect_code(IdentityCode.NOT_CONTROLLER):
        alice.add_key(new, signers=[signer, new])


def test_add_key_without_new_key_signature_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.NEW_KEY_NOT_SIGNED):
        alice.add_key(KeyPair.generate(), signers=[alice.alice])


def test_add_key_in_use_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.KEY_IN_USE):
        alice.add_key(alice.alice)


@pytest.mark.parametrize(
    ("purposes", "code"),
    [
        ([], IdentityCode.NO_PURPOSES),
        (["signing"], IdentityCode.INVALID_PURPOSE),
        (["authentication", "authentication"], IdentityCode.DUPLICATE_PURPOSE),
    ],
)
def test_add_key_with_bad_purposes_is_refused(
    alice: World, purposes: list[str], code: IdentityCode
) -> None:
    new = KeyPair.generate()
    with expect_code(code):
        run(
            alice.state,
            "add_key",
            {"did": alice.alice_did, "public_key": new.public_key.hex(), "purposes": purposes},
            [alice.alice, new],
        )


def test_add_key_beyond_limit_is_refused(alice: World) -> None:
    for _ in range(15):
        alice.add_key(KeyPair.generate())
    with expect_code(IdentityCode.TOO_MANY_KEYS):
        alice.add_key(KeyPair.generate())


def test_add_key_to_unknown_did_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.UNKNOWN_DID):
        world.add_key(new, signers=[world.alice, new])


def test_add_key_to_org_did_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.ORG_DID_NOT_MANAGED):
        run(
            world.state,
            "add_key",
            {
                "did": "did:amc:org:oem_a",
                "public_key": new.public_key.hex(),
                "purposes": ["authentication"],
            },
            [world.oem_admin, new],
        )


def test_add_key_to_unregistered_vehicle_did_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.VEHICLE_DID_NOT_REGISTERED):
        run(
            world.state,
            "add_key",
            {
                "did": vehicle_did(VIN),
                "public_key": new.public_key.hex(),
                "purposes": ["authentication"],
            },
            [world.oem_admin, new],
        )


def test_add_key_with_malformed_did_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.INVALID_DID):
        run(
            world.state,
            "add_key",
            {
                "did": "did:amc:has space",
                "public_key": new.public_key.hex(),
                "purposes": ["authentication"],
            },
            [world.alice, new],
        )


# --- rotate_key -------------------------------------------------------------------------------


def test_rotate_key_revokes_old_and_adds_new_with_same_purposes(alice: World) -> None:
    new = KeyPair.generate()
    did = alice.alice_did
    events = run(
        alice.state,
        "rotate_key",
        {"did": did, "key_id": "#key-1", "new_public_key": new.public_key.hex()},
        [alice.alice, new],
        height=9,
    )
    assert events[0].attributes == {
        "did": did,
        "revoked_key_id": f"{did}#key-1",
        "key_id": f"{did}#key-2",
    }
    result = resolve_did(alice.state, did)
    assert result is not None
    doc = result["didDocument"]
    assert [m["id"] for m in doc["verificationMethod"]] == [f"{did}#key-2"]
    assert (
        doc["authentication"]
        == doc["assertionMethod"]
        == doc["capabilityInvocation"]
        == [f"{did}#key-2"]
    )
    old = resolve_key(alice.state, alice.alice.public_key)
    assert old is not None and old.status == KeyStatus.REVOKED
    assert not is_controlled_by(alice.state, did, alice.alice.public_key)
    assert is_controlled_by(alice.state, did, new.public_key)
    record = identity.get_did_record(alice.state, did)
    assert record is not None
    assert (record.keys[0].status, record.keys[0].revoked_height) == ("revoked", 9)


def test_rotate_key_accepts_full_did_url_as_key_id(alice: World) -> None:
    new = KeyPair.generate()
    run(
        alice.state,
        "rotate_key",
        {
            "did": alice.alice_did,
            "key_id": f"{alice.alice_did}#key-1",
            "new_public_key": new.public_key.hex(),
        },
        [alice.alice, new],
    )
    assert is_controlled_by(alice.state, alice.alice_did, new.public_key)


def test_rotate_to_a_used_key_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.KEY_IN_USE):
        run(
            alice.state,
            "rotate_key",
            {
                "did": alice.alice_did,
                "key_id": "key-1",
                "new_public_key": alice.oem_device.public_key.hex(),
            },
            [alice.alice, alice.oem_device],
        )


def test_rotate_unknown_key_id_is_refused(alice: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.UNKNOWN_KEY_ID):
        run(
            alice.state,
            "rotate_key",
            {"did": alice.alice_did, "key_id": "key-7", "new_public_key": new.public_key.hex()},
            [alice.alice, new],
        )


def test_rotate_with_malformed_key_id_is_refused(alice: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.INVALID_KEY_ID):
        run(
            alice.state,
            "rotate_key",
            {"did": alice.alice_did, "key_id": "key 1", "new_public_key": new.public_key.hex()},
            [alice.alice, new],
        )


def test_rotate_without_new_key_signature_is_refused(alice: World) -> None:
    new = KeyPair.generate()
    with expect_code(IdentityCode.NEW_KEY_NOT_SIGNED):
        run(
            alice.state,
            "rotate_key",
            {"did": alice.alice_did, "key_id": "key-1", "new_public_key": new.public_key.hex()},
            [alice.alice],
        )


# --- revoke_key -------------------------------------------------------------------------------


def test_revoke_key_removes_it_from_document_and_keeps_it_indexed(alice: World) -> None:
    second = KeyPair.generate()
    alice.add_key(second)
    events = run(
        alice.state,
        "revoke_key",
        {"did": alice.alice_did, "key_id": "key-2"},
        [alice.alice],
        height=6,
    )
    assert events[0].type == "identity.key_revoked"
    result = resolve_did(alice.state, alice.alice_did)
    assert result is not None
    assert [m["id"] for m in result["didDocument"]["verificationMethod"]] == [
        f"{alice.alice_did}#key-1"
    ]
    standing = resolve_key(alice.state, second.public_key)
    assert standing == KeyStanding(status=KeyStatus.REVOKED, did=alice.alice_did)
    with expect_code(IdentityCode.KEY_IN_USE):  # a revoked key never comes back
        alice.add_key(second)


def test_revoking_last_auth_key_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.LAST_AUTH_KEY):
        run(alice.state, "revoke_key", {"did": alice.alice_did, "key_id": "key-1"}, [alice.alice])


def test_revoking_non_auth_key_is_allowed_with_single_auth_key(alice: World) -> None:
    alice.add_key(KeyPair.generate(), ["keyAgreement"])
    run(alice.state, "revoke_key", {"did": alice.alice_did, "key_id": "key-2"}, [alice.alice])


def test_revoking_already_revoked_key_is_refused(alice: World) -> None:
    alice.add_key(KeyPair.generate())
    run(alice.state, "revoke_key", {"did": alice.alice_did, "key_id": "key-2"}, [alice.alice])
    with expect_code(IdentityCode.KEY_ALREADY_REVOKED):
        run(alice.state, "revoke_key", {"did": alice.alice_did, "key_id": "key-2"}, [alice.alice])


def test_revoking_unknown_key_id_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.UNKNOWN_KEY_ID):
        run(alice.state, "revoke_key", {"did": alice.alice_did, "key_id": "key-3"}, [alice.alice])


def test_revoke_key_by_non_controller_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.NOT_CONTROLLER):
        run(
            alice.state,
            "revoke_key",
            {"did": alice.alice_did, "key_id": "key-1"},
            [alice.oem_admin],
        )


# --- add_service ------------------------------------------------------------------------------


def test_add_service_appears_in_document(alice: World) -> None:
    service = {"id": "vault", "type": "DataVault", "service_endpoint": "https://v.example/a"}
    events = run(
        alice.state, "add_service", {"did": alice.alice_did, "service": service}, [alice.alice]
    )
    assert events[0].attributes["service_id"] == f"{alice.alice_did}#vault"
    result = resolve_did(alice.state, alice.alice_did)
    assert result is not None
    assert result["didDocument"]["service"][0]["serviceEndpoint"] == "https://v.example/a"


def test_add_duplicate_service_is_refused(alice: World) -> None:
    service = {"id": "vault", "type": "DataVault", "service_endpoint": "https://v.example/a"}
    run(alice.state, "add_service", {"did": alice.alice_did, "service": service}, [alice.alice])
    with expect_code(IdentityCode.DUPLICATE_SERVICE):
        run(alice.state, "add_service", {"did": alice.alice_did, "service": service}, [alice.alice])


def test_add_service_by_non_controller_is_refused(alice: World) -> None:
    service = {"id": "vault", "type": "DataVault", "service_endpoint": "https://v.example/a"}
    with expect_code(IdentityCode.NOT_CONTROLLER):
        run(
            alice.state,
            "add_service",
            {"did": alice.alice_did, "service": service},
            [alice.oem_admin],
        )


# --- deactivate -------------------------------------------------------------------------------


def test_deactivate_hides_keys_and_refuses_further_messages(alice: World) -> None:
    events = run(alice.state, "deactivate", {"did": alice.alice_did}, [alice.alice], height=8)
    assert events[0].type == "identity.did_deactivated"
    result = resolve_did(alice.state, alice.alice_did)
    assert result is not None
    assert "verificationMethod" not in result["didDocument"]
    assert "authentication" not in result["didDocument"]
    assert result["didDocumentMetadata"] == {
        "created_height": 2,
        "updated_height": 8,
        "deactivated": True,
    }
    assert not did_exists(alice.state, alice.alice_did)
    assert not is_controlled_by(alice.state, alice.alice_did, alice.alice.public_key)
    standing = resolve_key(alice.state, alice.alice.public_key)
    assert standing is not None and standing.status == KeyStatus.REVOKED
    with expect_code(IdentityCode.DID_DEACTIVATED):
        run(alice.state, "deactivate", {"did": alice.alice_did}, [alice.alice])
    with expect_code(IdentityCode.DID_DEACTIVATED):
        alice.add_key(KeyPair.generate())
    with expect_code(IdentityCode.DID_EXISTS):
        alice.create_alice()


def test_deactivate_by_non_controller_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.NOT_CONTROLLER):
        run(alice.state, "deactivate", {"did": alice.alice_did}, [alice.oem_admin])


# --- organisation DIDs ------------------------------------------------------------------------


def test_org_did_resolves_to_active_consortium_keys(world: World) -> None:
    did = "did:amc:org:oem_a"
    result = resolve_did(world.state, did)
    assert result is not None
    doc = result["didDocument"]
    expected = sorted([world.oem_admin.public_key, world.oem_device.public_key])
    assert [decode_multikey(m["publicKeyMultibase"]) for m in doc["verificationMethod"]] == (
        expected
    )
    assert all(
        m["type"] == "Multikey" and m["controller"] == did for m in doc["verificationMethod"]
    )
    assert doc["authentication"] == [f"{did}#{encode_multikey(k)}" for k in expected]
    assert result["didDocumentMetadata"]["updated_height"] == 1
    assert did_exists(world.state, did)
    assert is_controlled_by(world.state, did, world.oem_device.public_key)
    assert not is_controlled_by(world.state, did, world.oem_old.public_key)
    assert not is_controlled_by(world.state, "did:amc:org:other", world.oem_admin.public_key)


def test_unknown_org_did_does_not_resolve(world: World) -> None:
    assert resolve_did(world.state, "did:amc:org:ghost") is None
    assert not did_exists(world.state, "did:amc:org:ghost")


def test_resolving_malformed_did_is_refused(world: World) -> None:
    with expect_code(IdentityCode.INVALID_DID):
        resolve_did(world.state, "did:amc:no spaces")
    assert not did_exists(world.state, "nonsense")
    assert not is_controlled_by(world.state, "nonsense", world.alice.public_key)


# --- vehicle DIDs -----------------------------------------------------------------------------


def register(world: World, vin: str = VIN, key: bytes | None = None) -> str:
    overlay = Overlay(world.state)
    did = register_vehicle_did(
        overlay, vin=vin, controller="did:amc:org:oem_a", vehicle_key=key, height=11
    )
    overlay.flush_into(world.state)
    return did


def test_vehicle_did_registration_with_vehicle_key(world: World) -> None:
    car = KeyPair.generate()
    did = register(world, key=car.public_key)
    assert did == vehicle_did(VIN)
    result = resolve_did(world.state, did)
    assert result is not None
    doc = result["didDocument"]
    assert doc["controller"] == "did:amc:org:oem_a"
    assert doc["verificationMethod"][0]["id"] == f"{did}#vehicle-key"
    assert doc["authentication"] == doc["assertionMethod"] == [f"{did}#vehicle-key"]
    assert result["didDocumentMetadata"]["created_height"] == 11
    assert did_exists(world.state, did)
    assert is_controlled_by(world.state, did, car.public_key)
    assert resolve_key(world.state, car.public_key) == KeyStanding(status=KeyStatus.ACTIVE, did=did)


def test_vehicle_key_can_rotate_itself(world: World) -> None:
    car, new = KeyPair.generate(), KeyPair.generate()
    did = register(world, key=car.public_key)
    run(
        world.state,
        "rotate_key",
        {"did": did, "key_id": "vehicle-key", "new_public_key": new.public_key.hex()},
        [car, new],
    )
    assert is_controlled_by(world.state, did, new.public_key)
    assert not is_controlled_by(world.state, did, car.public_key)


def test_vehicle_did_registration_without_key(world: World) -> None:
    did = register(world)
    result = resolve_did(world.state, did)
    assert result is not None
    assert "verificationMethod" not in result["didDocument"]
    assert did_exists(world.state, did)


def test_registering_vehicle_did_twice_is_refused(world: World) -> None:
    register(world)
    with expect_code(IdentityCode.DID_EXISTS):
        register(world)


def test_registering_vehicle_with_used_key_is_refused(alice: World) -> None:
    with expect_code(IdentityCode.KEY_IN_USE):
        register(alice, key=alice.alice.public_key)


def test_registering_vehicle_with_invalid_key_is_refused(world: World) -> None:
    with expect_code(IdentityCode.INVALID_KEY):
        register(world, key=bytes.fromhex(SMALL_ORDER_KEY))


@pytest.mark.parametrize("vin", ["WVWZZZ1JZXW00000", "WVWZZZ1JZXW00000I", "wvwzzz1jzxw000001"])
def test_registering_vehicle_with_invalid_vin_is_refused(world: World, vin: str) -> None:
    with expect_code(IdentityCode.INVALID_VIN):
        register(world, vin=vin)


def test_registering_vehicle_with_malformed_controller_is_refused(world: World) -> None:
    overlay = Overlay(world.state)
    with expect_code(IdentityCode.INVALID_DID):
        register_vehicle_did(overlay, vin=VIN, controller="oem_a", vehicle_key=None, height=1)


def test_unknown_did_resolves_to_none(world: World) -> None:
    assert resolve_did(world.state, world.alice_did) is None
    assert not did_exists(world.state, world.alice_did)
