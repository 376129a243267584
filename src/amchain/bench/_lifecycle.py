"""Realistic signed vehicle-lifecycle transactions for the benchmarks.

Every vehicle goes through four transactions, in this order: ``register_vehicle`` (signed by
the manufacturer, owned by a person), an ``odometer`` reading (the registry), a ``serviced``
event with work items and a report hash (a service centre), and an ``ownership_transferred``
event to another person, signed by both the seller and the buyer (two signatures). Persons
are DIDs created beforehand (``identity.create_did``, sponsored by the dealer).

Vehicle numbers are disjoint per client (``client`` selects the block of VINs), so clients
never touch each other's vehicles and each client submits a vehicle's events in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from amchain.crypto import KeyPair
from amchain.ledger import Transaction
from amchain.sdk import build_tx, did_for_key
from amchain.sdk._builder import DEFAULT_EXPIRES_IN_MS

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # ISO 3779: no I, O, Q
TX_KINDS = ("register", "odometer", "serviced", "transfer")
WORK_ITEMS = ("oil_change", "oil_filter", "brake_fluid", "cabin_filter", "tyre_rotation")


@dataclass(frozen=True)
class Actors:
    """The signing keys a workload uses (seeds travel to client processes as hex)."""

    chain_id: str
    oem: KeyPair
    registry: KeyPair
    service_center: KeyPair
    dealer: KeyPair

    def to_seeds(self) -> dict[str, str]:
        return {
            "chain_id": self.chain_id,
            "oem": self.oem.seed.hex(),
            "registry": self.registry.seed.hex(),
            "service_center": self.service_center.seed.hex(),
            "dealer": self.dealer.seed.hex(),
        }

    @classmethod
    def from_seeds(cls, seeds: dict[str, str]) -> Actors:
        def key(name: str) -> KeyPair:
            return KeyPair.from_seed(bytes.fromhex(seeds[name]))

        return cls(
            chain_id=seeds["chain_id"],
            oem=key("oem"),
            registry=key("registry"),
            service_center=key("service_center"),
            dealer=key("dealer"),
        )


def person_key(client: int, index: int) -> KeyPair:
    """The deterministic key of person ``index`` of ``client`` (benchmark keys only)."""
    seed = hashlib.sha256(f"amchain-bench/person/{client}/{index}".encode()).digest()
    return KeyPair.from_seed(seed)


def make_vin(client: int, number: int) -> str:
    """A valid European VIN (no check digit region), unique per (client, number)."""
    value = client * 10**12 + number
    chars = []
    for _ in range(14):
        value, digit = divmod(value, len(VIN_ALPHABET))
        chars.append(VIN_ALPHABET[digit])
    return "WVW" + "".join(reversed(chars))


def fake_hash(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def create_person_txs(actors: Actors, persons: list[KeyPair]) -> list[Transaction]:
    """One ``identity.create_did`` per person, sponsored by the dealer (both sign)."""
    return [
        build_tx(
            chain_id=actors.chain_id,
            signers=[actors.dealer, person],
            module="identity",
            message="create_did",
            args={"public_key": person.public_key.hex()},
        )
        for person in persons
    ]


def lifecycle_txs(
    actors: Actors,
    persons: list[KeyPair],
    *,
    client: int,
    first_vehicle: int,
    vehicles: int,
    kinds: tuple[str, ...] = TX_KINDS,
    expires_in_ms: int = DEFAULT_EXPIRES_IN_MS,
) -> Iterator[tuple[str, Transaction]]:
    """Yield ``(kind, signed tx)`` for ``vehicles`` vehicles, each through ``kinds`` in order."""
    for number in range(first_vehicle, first_vehicle + vehicles):
        vin = make_vin(client, number)
        seller = persons[number % len(persons)]
        buyer = persons[(number + 1) % len(persons)]
        odometer = 1_000 + number % 50_000
        for kind in kinds:
            tx = _lifecycle_tx(actors, kind, vin, number, seller, buyer, odometer, expires_in_ms)
            yield kind, tx


def _lifecycle_tx(
    actors: Actors,
    kind: str,
    vin: str,
    number: int,
    seller: KeyPair,
    buyer: KeyPair,
    odometer: int,
    expires_in_ms: int,
) -> Transaction:
    chain_id = actors.chain_id
    if kind == "register":
        return build_tx(
            chain_id=chain_id,
            signers=[actors.oem],
            module="vehicles",
            message="register_vehicle",
            args={
                "vin": vin,
                "make": "Volkswagen",
                "model": "ID.3 Pro S",
                "model_year": 2024,
                "owner": did_for_key(seller.public_key),
                "plant": "Zwickau",
                "battery_id": f"BAT-{number:012d}",
            },
            expires_in_ms=expires_in_ms,
        )
    if kind == "odometer":
        event = {"type": "odometer", "odometer_km": odometer, "source": "registry"}
        signers = [actors.registry]
    elif kind == "serviced":
        event = {
            "type": "serviced",
            "odometer_km": odometer + 150,
            "work_items": list(WORK_ITEMS[: 2 + number % 3]),
            "report_hash": fake_hash("service", vin),
        }
        signers = [actors.service_center]
    elif kind == "transfer":
        event = {
            "type": "ownership_transferred",
            "new_owner": did_for_key(buyer.public_key),
            "odometer_km": odometer + 300,
            "contract_hash": fake_hash("contract", vin),
        }
        signers = [seller, buyer]
    else:
        raise ValueError(f"unknown transaction kind {kind!r}")
    return build_tx(
        chain_id=chain_id,
        signers=signers,
        module="vehicles",
        message="record_event",
        args={"vin": vin, "event": event},
        expires_in_ms=expires_in_ms,
    )
