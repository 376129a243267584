"""Delegated car access end to end: a real node over HTTP, the SDK, and the car's agent
deciding offline on its cached snapshot (the issue's "done when" journeys)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from amchain.crypto import KeyPair
from amchain.modules.vehicles.validation import compute_vin_check_digit
from amchain.sdk import Client, Signer
from amchain.sdk.credentials import sign_presentation_as
from amchain.sdk.vehicle_agent import DenyReason, SnapshotError, VehicleAgent
from tests.support import RunningNode

HOUR = 3_600_000


def _vin(serial: int) -> str:
    draft = f"1HGCM826X3A{serial:06d}"
    return draft[:8] + compute_vin_check_digit(draft) + draft[9:]


class Clock:
    """The car's real-time clock, which a test may move forward."""

    def __init__(self) -> None:
        from amchain.sdk.credentials import now_ms

        self._now = now_ms
        self.offset_ms = 0

    def __call__(self) -> int:
        return self._now() + self.offset_ms


@dataclass
class World:
    client: Client
    node: RunningNode
    vin: str
    owner: Signer
    courier: Signer
    car: VehicleAgent
    clock: Clock

    def person(self) -> Signer:
        signer = Signer(KeyPair.generate())
        dealer = Signer.for_org(self.node.key("dealer"), "dealer")
        self.client.identity.create_did(dealer, signer)
        return signer

    def ask(self, who: Signer, action: str, grant: dict[str, Any]) -> Any:
        challenge = self.car.challenge(action)
        vp = sign_presentation_as(who, [grant], challenge=challenge.nonce, domain=challenge.domain)
        return self.car.decide(vp)


_serial = iter(range(100, 999))


@pytest.fixture
def world(node: RunningNode) -> Iterator[World]:
    with Client(node.url) as client:
        vin = _vin(next(_serial))
        car_key = KeyPair.generate()
        oem = Signer.for_org(node.key("oem"), "oem")
        dealer = Signer.for_org(node.key("dealer"), "dealer")
        client.vehicles.register(
            oem,
            vin=vin,
            make="Honda",
            model="Accord",
            model_year=2023,
            vehicle_key=car_key.public_key,
        )
        w = World(
            client,
            node,
            vin,
            Signer(KeyPair.generate()),
            Signer(KeyPair.generate()),
            VehicleAgent(vin, car_key, trusted_peer_keys=[client.status().node_key]),
            Clock(),
        )
        w.car.clock = w.clock
        for person in (w.owner, w.courier):
            client.identity.create_did(dealer, person)
        client.vehicles.record_event(dealer, vin, {"type": "sold", "buyer": w.owner.did})
        yield w


def test_courier_opens_the_trunk_and_the_use_is_logged_on_chain(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["trunk"], hours=2
    )
    world.car.refresh(world.client)
    decision = world.ask(world.courier, "trunk", grant)
    assert decision.allowed and decision.reason == DenyReason.OK
    world.car.refresh(world.client)  # uploads the log, signed by the vehicle's key
    log = world.client.credentials.access_log(world.vin)
    assert log["count"] == 1
    entry = log["entries"][0]
    assert entry["allowed"] is True and entry["action"] == "trunk"
    assert entry["grantee"] == world.courier.did and entry["grant_id"] == grant["id"]
    grants = world.client.credentials.grants(world.vin)["grants"]
    assert grants[0]["uses"] == 1 and grants[0]["standing"] == "active"


def test_courier_may_not_start_the_car(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["trunk"], hours=2
    )
    world.car.refresh(world.client)
    decision = world.ask(world.courier, "start", grant)
    assert not decision.allowed and decision.reason == DenyReason.SCOPE


def test_a_revoked_grant_is_denied_once_the_car_has_refreshed(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["trunk"], hours=2
    )
    world.car.refresh(world.client)
    world.client.credentials.revoke(world.owner, grant)
    # offline, the car still knows only its snapshot from before the revocation
    assert world.ask(world.courier, "trunk", grant).allowed
    world.car.refresh(world.client)
    decision = world.ask(world.courier, "trunk", grant)
    assert not decision.allowed and decision.reason == DenyReason.REVOKED


def test_a_suspended_grant_is_denied_until_resumed(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["unlock"], hours=2
    )
    world.client.credentials.suspend(world.owner, grant)
    world.car.refresh(world.client)
    assert world.ask(world.courier, "unlock", grant).reason == DenyReason.SUSPENDED
    world.client.credentials.resume(world.owner, grant)
    world.car.refresh(world.client)
    assert world.ask(world.courier, "unlock", grant).allowed


def test_an_offline_car_with_a_snapshot_older_than_the_limit_denies(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["trunk"], hours=48
    )
    world.car.refresh(world.client)
    world.clock.offset_ms = 25 * HOUR  # a day offline, and then some
    decision = world.ask(world.courier, "trunk", grant)
    assert not decision.allowed and decision.reason == DenyReason.STALE
    world.car.max_snapshot_age_ms = 48 * HOUR  # an owner who accepts older caches
    assert world.ask(world.courier, "trunk", grant).allowed


def test_a_grant_of_the_previous_owner_is_denied_after_a_transfer(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["unlock"], hours=2
    )
    buyer = world.person()
    world.client.vehicles.transfer(world.owner, buyer, vin=world.vin)
    world.car.refresh(world.client)
    decision = world.ask(world.courier, "unlock", grant)
    assert not decision.allowed and decision.reason == DenyReason.OWNER


def test_someone_else_presenting_the_grant_is_denied(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["unlock"], hours=2
    )
    world.car.refresh(world.client)
    thief = world.person()
    assert world.ask(thief, "unlock", grant).reason == DenyReason.NOT_GRANTEE


def test_a_presentation_is_good_for_one_challenge_only(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["unlock"], hours=2
    )
    world.car.refresh(world.client)
    challenge = world.car.challenge("unlock")
    vp = sign_presentation_as(
        world.courier, [grant], challenge=challenge.nonce, domain=challenge.domain
    )
    assert world.car.decide(vp).allowed
    assert world.car.decide(vp).reason == DenyReason.BAD_CHALLENGE


def test_a_use_count_runs_out(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner,
        vin=world.vin,
        grantee=world.courier.did,
        scopes=["trunk"],
        hours=2,
        max_uses=2,
    )
    world.car.refresh(world.client)
    assert world.ask(world.courier, "trunk", grant).allowed
    assert world.ask(world.courier, "trunk", grant).allowed
    assert world.ask(world.courier, "trunk", grant).reason == DenyReason.USED_UP
    world.car.refresh(world.client)  # the chain counted the two uses
    assert world.ask(world.courier, "trunk", grant).reason == DenyReason.USED_UP
    assert world.client.credentials.grants(world.vin)["grants"][0]["uses"] == 2


def test_the_car_refuses_a_snapshot_signed_by_an_untrusted_node(world: World) -> None:
    picky = VehicleAgent(world.vin, KeyPair.generate(), trusted_peer_keys=[b"\x01" * 32])
    with pytest.raises(SnapshotError, match="trusted peer"):
        picky.install_snapshot(world.client.credentials.snapshot(world.vin))


def test_the_car_refuses_a_snapshot_that_hides_a_revocation(world: World) -> None:
    grant, _ = world.client.credentials.grant_access(
        world.owner, vin=world.vin, grantee=world.courier.did, scopes=["trunk"], hours=2
    )
    world.client.credentials.revoke(world.owner, grant)
    snapshot = world.client.credentials.snapshot(world.vin)
    chunks = [e for e in snapshot["entries"] if e["key"].startswith("credentials/chunk/")]
    revoked = next(e for e in chunks if "/revocation/" in e["key"])
    revoked["value"] = None  # a node pretending the chunk was never written
    with pytest.raises(SnapshotError, match="proof does not match"):
        world.car.install_snapshot(snapshot)


def test_the_car_refuses_a_snapshot_with_a_forged_owner(world: World) -> None:
    snapshot = world.client.credentials.snapshot(world.vin)
    vehicle = next(e for e in snapshot["entries"] if e["key"].startswith("vehicles/v/"))
    vehicle["value"]["owner"] = world.courier.did
    with pytest.raises(SnapshotError, match="proof does not match"):
        world.car.install_snapshot(snapshot)


def test_api_issue_verify_and_publish_a_status_list(world: World) -> None:
    oem = Signer.for_org(world.node.key("oem"), "oem")
    credential, result = world.client.credentials.issue(
        oem, "VehicleBirthCertificate", vin=world.vin
    )
    assert result.committed
    verdict = world.client.credentials.verify_on_node(credential)
    assert verdict["verified"] and verdict["issuer"] == "did:amc:org:oem"
    anchored = world.client.credentials.get(credential["id"])
    assert anchored["credential"] == credential and anchored["record"]["subject"].endswith(
        world.vin
    )
    world.client.credentials.revoke(oem, credential["id"])
    assert world.client.credentials.verify_on_node(credential)["reason"] == "revoked"
    url, index = (
        credential["credentialStatus"][0]["statusListCredential"],
        int(credential["credentialStatus"][0]["statusListIndex"]),
    )
    listed = world.node.get(f"/v1/credentials/status-lists/{url}").json()
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    from amchain.vc import decode_encoded_list, read_bit

    bits = decode_encoded_list(listed["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == 131_072 and read_bit(bits, index)
    proven = world.node.get("/v1/credentials/status", list=url, index=index, proof="true").json()
    assert proven["value"] is True and proven["proof"]["kind"] == "state"
    from amchain.sdk.light import LightClient

    light = LightClient(trusted_peers=[world.client.status().node_key], quorum=1)
    assert light.verify_bundle(proven["proof"]).facts["key"] == proven["chunk"]["key"]
