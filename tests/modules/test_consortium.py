"""Unit tests of the consortium module, calling handlers through a tiny local executor."""

from __future__ import annotations

from typing import Any

import pytest

from amchain.codec import DecodeError, convert
from amchain.crypto import KeyPair
from amchain.ledger import Event, MemoryState, Overlay
from amchain.modules.base import KeyStanding, KeyStatus, TxContext
from amchain.modules.consortium import (
    SPEC,
    ConsortiumCode,
    ConsortiumError,
    ConsortiumGenesis,
    active_keys_of,
    get_organisation,
    init_genesis,
    list_keys_of,
    list_organisations,
    org_did,
    resolve_key,
)

SMALL_ORDER_KEY = "01" + "00" * 31  # the identity point: small order, must be refused


def make_genesis(organisations: list[dict[str, Any]]) -> ConsortiumGenesis:
    return convert({"organisations": organisations}, ConsortiumGenesis)


def run(
    state: MemoryState,
    message: str,
    args: dict[str, Any],
    signers: list[KeyPair],
    *,
    height: int = 1,
    extra_standings: dict[bytes, KeyStanding] | None = None,
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
        standings=tuple(
            resolve_key(state, k.public_key) or (extra_standings or {}).get(k.public_key)
            for k in signers
        ),
        state=overlay,
    )
    spec.handler(ctx, convert(args, spec.args_type))
    overlay.flush_into(state)
    return ctx.events


class World:
    def __init__(self) -> None:
        self.oem_admin = KeyPair.generate()
        self.oem_member = KeyPair.generate()
        self.dealer_admin = KeyPair.generate()
        self.state = MemoryState()
        init_genesis(
            self.state,
            make_genesis(
                [
                    {
                        "id": "oem_a",
                        "name": "OEM A",
                        "roles": ["supplier", "oem"],
                        "admin_keys": [self.oem_admin.public_key.hex()],
                        "member_keys": [self.oem_member.public_key.hex()],
                    },
                    {
                        "id": "dealer_b",
                        "name": "Dealer B",
                        "roles": ["dealer"],
                        "admin_keys": [self.dealer_admin.public_key.hex()],
                    },
                ]
            ),
        )


@pytest.fixture
def world() -> World:
    return World()


def expect_code(code: ConsortiumCode) -> Any:
    class _Match:
        def __enter__(self) -> None:
            return None

        def __exit__(self, typ: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, ConsortiumError), f"expected ConsortiumError, got {exc!r}"
            assert exc.code == code, f"expected {code.name}, got {exc!r}"
            assert exc.codespace == "consortium"
            return True

    return _Match()


# --- genesis and queries ----------------------------------------------------------------------


def test_genesis_creates_organisations_with_sorted_roles(world: World) -> None:
    org = get_organisation(world.state, "oem_a")
    assert org is not None
    assert org.roles == ["oem", "supplier"]
    assert org.status == "active"
    assert [o.id for o in list_organisations(world.state)] == ["dealer_b", "oem_a"]
    assert get_organisation(world.state, "nobody") is None


def test_resolve_key_gives_org_roles_and_kind(world: World) -> None:
    standing = resolve_key(world.state, world.oem_member.public_key)
    assert standing is not None
    assert standing.status == KeyStatus.ACTIVE
    assert standing.org == "oem_a"
    assert standing.roles == ("oem", "supplier")
    assert standing.kind == "member"
    assert resolve_key(world.state, KeyPair.generate().public_key) is None


def test_active_keys_of_lists_all_kinds_in_key_order(world: World) -> None:
    keys = active_keys_of(world.state, "oem_a")
    assert keys == sorted([world.oem_admin.public_key, world.oem_member.public_key])
    assert [r.public_key for r in list_keys_of(world.state, "oem_a")] == [k.hex() for k in keys]


def test_org_did_format() -> None:
    assert org_did("oem_a") == "did:amc:org:oem_a"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"id": "Bad-Id"}, ConsortiumCode.INVALID_ORG_ID),
        ({"id": "a" * 65}, ConsortiumCode.INVALID_ORG_ID),
        ({"roles": ["pirate"]}, ConsortiumCode.INVALID_ROLE),
        ({"roles": []}, ConsortiumCode.NO_ROLES),
        ({"admin_keys": []}, ConsortiumCode.NO_ADMIN_KEY),
        ({"admin_keys": [SMALL_ORDER_KEY]}, ConsortiumCode.INVALID_KEY),
        ({"admin_keys": ["zz"]}, ConsortiumCode.INVALID_KEY_ENCODING),
        ({"name": ""}, ConsortiumCode.INVALID_NAME),
    ],
)
def test_genesis_refuses_invalid_organisation(change: dict[str, Any], code: ConsortiumCode) -> None:
    entry = {
        "id": "org",
        "name": "Org",
        "roles": ["oem"],
        "admin_keys": [KeyPair.generate().public_key.hex()],
    }
    entry.update(change)
    with expect_code(code):
        init_genesis(MemoryState(), make_genesis([entry]))


def test_genesis_refuses_duplicate_org_ids() -> None:
    entry = {"id": "org", "name": "Org", "roles": ["oem"]}
    orgs = [
        {**entry, "admin_keys": [KeyPair.generate().public_key.hex()]},
        {**entry, "admin_keys": [KeyPair.generate().public_key.hex()]},
    ]
    with expect_code(ConsortiumCode.DUPLICATE_ORG):
        init_genesis(MemoryState(), make_genesis(orgs))


def test_genesis_refuses_a_key_used_twice() -> None:
    key = KeyPair.generate().public_key.hex()
    orgs = [
        {"id": "a", "name": "A", "roles": ["oem"], "admin_keys": [key]},
        {"id": "b", "name": "B", "roles": ["dealer"], "admin_keys": [key]},
    ]
    with expect_code(ConsortiumCode.KEY_IN_USE):
        init_genesis(MemoryState(), make_genesis(orgs))


def test_genesis_refuses_unknown_fields() -> None:
    with pytest.raises(DecodeError):
        make_genesis([{"id": "a", "name": "A", "roles": ["oem"], "admin_keys": [], "x": 1}])


# --- add_key ----------------------------------------------------------------------------------


def test_admin_adds_device_key_with_proof_of_possession(world: World) -> None:
    new = KeyPair.generate()
    events = run(
        world.state,
        "add_key",
        {"org": "oem_a", "public_key": new.public_key.hex(), "kind": "device"},
        [world.oem_admin, new],
        height=5,
    )
    standing = resolve_key(world.state, new.public_key)
    assert standing is not None and standing.kind == "device" and standing.org == "oem_a"
    assert new.public_key in active_keys_of(world.state, "oem_a")
    record = next(
        r for r in list_keys_of(world.state, "oem_a") if r.public_key == new.public_key.hex()
    )
    assert record.added_height == 5
    assert events[0].type == "consortium.key_added"
    assert events[0].attributes == {
        "org": "oem_a",
        "public_key": new.public_key.hex(),
        "kind": "device",
    }


def test_add_key_without_new_key_signature_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.NEW_KEY_NOT_SIGNED):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": new.public_key.hex(), "kind": "member"},
            [world.oem_admin],
        )


def test_add_key_signed_by_member_key_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.NOT_ORG_ADMIN):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": new.public_key.hex(), "kind": "member"},
            [world.oem_member, new],
        )


def test_add_key_signed_by_admin_of_another_org_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.NOT_ORG_ADMIN):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": new.public_key.hex(), "kind": "admin"},
            [world.dealer_admin, new],
        )


def test_add_key_already_registered_elsewhere_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.KEY_IN_USE):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": world.dealer_admin.public_key.hex(), "kind": "member"},
            [world.oem_admin, world.dealer_admin],
        )


def test_add_key_to_unknown_org_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.UNKNOWN_ORG):
        run(
            world.state,
            "add_key",
            {"org": "ghost", "public_key": new.public_key.hex(), "kind": "member"},
            [world.oem_admin, new],
        )


def test_add_key_with_unknown_kind_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.INVALID_KIND):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": new.public_key.hex(), "kind": "owner"},
            [world.oem_admin, new],
        )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (SMALL_ORDER_KEY, ConsortiumCode.INVALID_KEY),
        ("zz" * 32, ConsortiumCode.INVALID_KEY_ENCODING),
        ("ab" * 31, ConsortiumCode.INVALID_KEY_ENCODING),
    ],
)
def test_add_key_with_invalid_key_is_refused(world: World, text: str, code: ConsortiumCode) -> None:
    with expect_code(code):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": text, "kind": "member"},
            [world.oem_admin],
        )


def test_add_key_with_uppercase_hex_is_refused(world: World) -> None:
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.INVALID_KEY_ENCODING):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": new.public_key.hex().upper(), "kind": "member"},
            [world.oem_admin, new],
        )


def test_add_key_args_refuse_unknown_fields() -> None:
    with pytest.raises(DecodeError):
        convert(
            {"org": "a", "public_key": "00", "kind": "admin", "extra": 1},
            SPEC.messages["add_key"].args_type,
        )


def test_add_key_spec_introduces_the_new_key_and_needs_no_role() -> None:
    spec = SPEC.messages["add_key"]
    key = KeyPair.generate().public_key
    args = convert({"org": "a", "public_key": key.hex(), "kind": "admin"}, spec.args_type)
    assert spec.introduced_keys(args) == [key]
    assert spec.roles(args) == ()
    assert SPEC.messages["revoke_key"].roles(args) == ()


def test_failed_add_key_leaves_no_state_change(world: World) -> None:
    before = world.state.items()
    new = KeyPair.generate()
    with expect_code(ConsortiumCode.NOT_ORG_ADMIN):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": new.public_key.hex(), "kind": "member"},
            [world.oem_member, new],
        )
    assert world.state.items() == before


# --- revoke_key -------------------------------------------------------------------------------


def test_admin_revokes_member_key_and_record_stays(world: World) -> None:
    events = run(
        world.state,
        "revoke_key",
        {"org": "oem_a", "public_key": world.oem_member.public_key.hex()},
        [world.oem_admin],
        height=7,
    )
    standing = resolve_key(world.state, world.oem_member.public_key)
    assert standing is not None and standing.status == KeyStatus.REVOKED
    assert world.oem_member.public_key not in active_keys_of(world.state, "oem_a")
    record = next(
        r
        for r in list_keys_of(world.state, "oem_a")
        if r.public_key == world.oem_member.public_key.hex()
    )
    assert (record.status, record.revoked_height) == ("revoked", 7)
    assert events[0].type == "consortium.key_revoked"


def test_revoked_key_cannot_be_added_again(world: World) -> None:
    run(
        world.state,
        "revoke_key",
        {"org": "oem_a", "public_key": world.oem_member.public_key.hex()},
        [world.oem_admin],
    )
    with expect_code(ConsortiumCode.KEY_IN_USE):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": world.oem_member.public_key.hex(), "kind": "member"},
            [world.oem_admin, world.oem_member],
        )


def test_revoking_already_revoked_key_is_refused(world: World) -> None:
    args = {"org": "oem_a", "public_key": world.oem_member.public_key.hex()}
    run(world.state, "revoke_key", args, [world.oem_admin])
    with expect_code(ConsortiumCode.KEY_ALREADY_REVOKED):
        run(world.state, "revoke_key", args, [world.oem_admin])


def test_revoking_last_admin_key_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.LAST_ADMIN_KEY):
        run(
            world.state,
            "revoke_key",
            {"org": "oem_a", "public_key": world.oem_admin.public_key.hex()},
            [world.oem_admin],
        )


def test_admin_key_can_be_revoked_once_another_admin_exists(world: World) -> None:
    second = KeyPair.generate()
    run(
        world.state,
        "add_key",
        {"org": "oem_a", "public_key": second.public_key.hex(), "kind": "admin"},
        [world.oem_admin, second],
    )
    run(
        world.state,
        "revoke_key",
        {"org": "oem_a", "public_key": world.oem_admin.public_key.hex()},
        [second],
    )
    standing = resolve_key(world.state, world.oem_admin.public_key)
    assert standing is not None and standing.status == KeyStatus.REVOKED
    with expect_code(ConsortiumCode.NOT_ORG_ADMIN):  # the revoked admin can no longer act
        run(
            world.state,
            "revoke_key",
            {"org": "oem_a", "public_key": world.oem_member.public_key.hex()},
            [world.oem_admin],
        )


def test_revoking_unknown_key_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.UNKNOWN_KEY):
        run(
            world.state,
            "revoke_key",
            {"org": "oem_a", "public_key": KeyPair.generate().public_key.hex()},
            [world.oem_admin],
        )


def test_revoking_key_of_another_org_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.KEY_NOT_IN_ORG):
        run(
            world.state,
            "revoke_key",
            {"org": "oem_a", "public_key": world.dealer_admin.public_key.hex()},
            [world.oem_admin],
        )


def test_revoke_key_by_non_admin_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.NOT_ORG_ADMIN):
        run(
            world.state,
            "revoke_key",
            {"org": "oem_a", "public_key": world.oem_member.public_key.hex()},
            [world.oem_member],
        )


def test_revoke_key_in_unknown_org_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.UNKNOWN_ORG):
        run(
            world.state,
            "revoke_key",
            {"org": "ghost", "public_key": world.oem_member.public_key.hex()},
            [world.oem_admin],
        )


def test_revoke_key_with_bad_hex_is_refused(world: World) -> None:
    with expect_code(ConsortiumCode.INVALID_KEY_ENCODING):
        run(world.state, "revoke_key", {"org": "oem_a", "public_key": "xyz"}, [world.oem_admin])


def test_messages_for_inactive_org_are_refused(world: World) -> None:
    from amchain.modules.consortium import keeper  # only to simulate a future suspension

    org = get_organisation(world.state, "oem_a")
    assert org is not None
    keeper.write_organisation(
        world.state,
        convert(
            {"id": org.id, "name": org.name, "roles": org.roles, "status": "suspended"}, type(org)
        ),
    )
    with expect_code(ConsortiumCode.ORG_INACTIVE):
        run(
            world.state,
            "revoke_key",
            {"org": "oem_a", "public_key": world.oem_member.public_key.hex()},
            [world.oem_admin],
        )


def test_add_key_known_to_another_module_is_refused(world: World) -> None:
    did_key = KeyPair.generate()
    standing = KeyStanding(status=KeyStatus.ACTIVE, did="did:amc:someone")
    with expect_code(ConsortiumCode.KEY_IN_USE):
        run(
            world.state,
            "add_key",
            {"org": "oem_a", "public_key": did_key.public_key.hex(), "kind": "member"},
            [world.oem_admin, did_key],
            extra_standings={did_key.public_key: standing},
        )
