"""The rewards module through the real runtime: an OEM's eco-driving programme, trips signed
by the car's on-board key, scored and paid to the owner from AMCT's mining pool, and every
refusal the issue lists (replay, wrong key, contradicting odometer, scrapped, over the cap)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from amchain.crypto import KeyPair
from amchain.ledger import Receipt
from amchain.modules import rewards, tokens
from amchain.modules.rewards import RewardsCode, score_trip
from tests.modules.runtime_chain import T0, RuntimeChain

AMCT = 1_000_000
VIN = "1HGCM82633A004352"


class RewardsChain(RuntimeChain):
    def __init__(self) -> None:
        super().__init__("rewards")
        self.car = KeyPair.generate()
        self.owner_key, self.owner = self.person()
        registered = self.send(
            "register_vehicle",
            {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2024,
             "vehicle_key": self.car.public_key.hex()},
            self.keys["oem"], module="vehicles",
        )  # fmt: skip
        assert registered.ok, registered.message
        sold = self.send("record_event",
                         {"vin": VIN, "event": {"type": "sold", "buyer": self.owner,
                                                "odometer_km": 1_000}},
                         self.keys["dealer"], module="vehicles")  # fmt: skip
        assert sold.ok, sold.message
        created = self.send("create_programme", {
            "programme_id": "eco", "name": "Eco coins",
            "bands": [{"min_score": 60, "minor_per_km": 10_000},
                      {"min_score": 90, "minor_per_km": 100_000}],
            "daily_cap_minor": 10 * AMCT, "budget_minor": 25 * AMCT,
        }, self.keys["oem"])  # fmt: skip
        assert created.ok, created.message

    def trip(self, trip_id: str, start: int, end: int, **changes: Any) -> dict[str, Any]:
        return {
            "programme_id": "eco", "vin": VIN, "trip_id": trip_id,
            "start_odometer_km": start, "end_odometer_km": end, "distance_km": end - start,
            "harsh_accelerations_per_100km": 0, "harsh_brakes_per_100km": 0,
            "coasting_share_bp": 3_000, "eco_mode_share_bp": 9_000, "speed_band": "50-90",
            "ended_at_ms": self.time_ms, **changes,
        }  # fmt: skip

    def owner_amct(self) -> int:
        return tokens.balance_of(self.state, "AMCT", self.owner)


def refused(receipt: Receipt, code: RewardsCode) -> None:
    assert not receipt.ok, "expected a refusal"
    assert (receipt.codespace, receipt.code) == ("rewards", int(code)), receipt.message


@pytest.fixture
def chain() -> RewardsChain:
    return RewardsChain()


def test_a_trip_signed_by_the_car_pays_its_owner_from_the_mining_pool(chain: RewardsChain) -> None:
    mining_before = tokens.keeper.read_pool(chain.state, "mining")
    receipt = chain.send("submit_trip", chain.trip("t1", 1_000, 1_050), chain.car)
    assert receipt.ok, receipt.message
    rewarded = next(e.attributes for e in receipt.events if e.type == "rewards.trip_rewarded")
    assert rewarded["score"] == 100 and rewarded["earned_minor"] == 50 * 100_000
    assert rewarded["reward_minor"] == 5 * AMCT and rewarded["owner"] == chain.owner
    assert chain.owner_amct() == 5 * AMCT
    mining = tokens.keeper.read_pool(chain.state, "mining")
    assert mining is not None and mining_before is not None
    assert mining.released_minor == mining_before.released_minor + 5 * AMCT
    released = next(e.attributes for e in receipt.events if e.type == "tokens.pool_released")
    assert released["pool"] == "mining" and released["purpose"] == "eco-driving eco"


def test_a_replayed_trip_and_a_trip_not_signed_by_the_car_are_refused(
    chain: RewardsChain,
) -> None:
    trip = chain.trip("t1", 1_000, 1_010)
    assert chain.send("submit_trip", trip, chain.car).ok
    refused(chain.send("submit_trip", trip, chain.car), RewardsCode.TRIP_REPLAYED)
    refused(chain.send("submit_trip", chain.trip("t2", 1_010, 1_020), chain.owner_key),
            RewardsCode.NOT_VEHICLE_KEY)  # fmt: skip
    # a key the chain does not know: the runtime refuses it before the module sees it
    unknown = chain.send("submit_trip", chain.trip("t3", 1_010, 1_020), KeyPair.generate())
    assert (unknown.ok, unknown.codespace) == (False, "tx")


def test_odometer_figures_that_contradict_the_history_are_refused(chain: RewardsChain) -> None:
    refused(
        chain.send("submit_trip", chain.trip("t1", 900, 990), chain.car),
        RewardsCode.ODOMETER_CONTRADICTS,
    )  # below the last reading (1,000 km)
    refused(chain.send("submit_trip", chain.trip("t1", 1_000, 1_050, distance_km=49), chain.car),
            RewardsCode.DISTANCE_MISMATCH)  # fmt: skip
    assert chain.send("submit_trip", chain.trip("t1", 1_000, 1_050), chain.car).ok
    refused(
        chain.send("submit_trip", chain.trip("t2", 1_040, 1_060), chain.car),
        RewardsCode.ODOMETER_CONTRADICTS,
    )  # starts before the last trip ended


def test_the_daily_cap_and_the_budget_hold(chain: RewardsChain) -> None:
    # 50 km at 100,000 minor a km = 5 AMCT a trip; the cap is 10 AMCT a day
    for n, start in enumerate((1_000, 1_050)):
        assert chain.send("submit_trip", chain.trip(f"t{n}", start, start + 50), chain.car).ok
    refused(chain.send("submit_trip", chain.trip("t2", 1_100, 1_150), chain.car),
            RewardsCode.DAILY_CAP_REACHED)  # fmt: skip
    assert chain.owner_amct() == 10 * AMCT
    chain.block([], at_ms=T0 + 86_400_000 * 2)  # a new day: 10 more, then the budget's last 5
    assert chain.send("submit_trip", chain.trip("t3", 1_100, 1_200), chain.car).ok
    assert chain.send("submit_trip",
                      chain.trip("t4", 1_200, 1_250, ended_at_ms=chain.time_ms + 86_400_000),
                      chain.car, at_ms=chain.time_ms + 86_400_000).ok  # fmt: skip
    assert chain.owner_amct() == 25 * AMCT
    refused(chain.send("submit_trip",
                       chain.trip("t5", 1_250, 1_300, ended_at_ms=chain.time_ms + 86_400_000),
                       chain.car, at_ms=chain.time_ms + 86_400_000),
            RewardsCode.BUDGET_EXHAUSTED)  # fmt: skip


def test_a_scrapped_car_earns_nothing(chain: RewardsChain) -> None:
    event = {"type": "scrapped", "certificate_hash": "cd" * 32}
    scrapped = chain.send(
        "record_event", {"vin": VIN, "event": event}, chain.keys["registry"], module="vehicles"
    )
    assert scrapped.ok, scrapped.message
    refused(chain.send("submit_trip", chain.trip("t1", 1_000, 1_010), chain.car),
            RewardsCode.VEHICLE_SCRAPPED)  # fmt: skip


def test_scores_follow_the_documented_formula() -> None:
    base = rewards.SubmitTripArgs(
        programme_id="p", vin=VIN, trip_id="t", start_odometer_km=0, end_odometer_km=10,
        distance_km=10, harsh_accelerations_per_100km=0, harsh_brakes_per_100km=0,
        coasting_share_bp=0, eco_mode_share_bp=0, speed_band="0-50", ended_at_ms=0,
    )  # fmt: skip

    def score(**changes: Any) -> int:
        return score_trip(msgspec.structs.replace(base, **changes))

    assert score() == 100
    assert score(harsh_accelerations_per_100km=3, harsh_brakes_per_100km=2) == 100 - 12 - 10
    assert score(harsh_accelerations_per_100km=50, harsh_brakes_per_100km=50) == 20
    assert score(harsh_accelerations_per_100km=5, coasting_share_bp=3_000,
                 eco_mode_share_bp=5_000) == 100 - 20 + 10 + 5  # fmt: skip
    assert (
        score(speed_band="120+", harsh_brakes_per_100km=20, harsh_accelerations_per_100km=20) == 5
    )
