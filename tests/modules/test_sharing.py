"""The sharing module through the real runtime: a co-owned car, its sessions, bills split
by share and usage, decisions k of n (a sale with too few approvals refused, a sale that
pays every member and moves the car), and the group's lien on the vehicle."""

from __future__ import annotations

from typing import Any

import pytest

from amchain.crypto import KeyPair
from amchain.ledger import Receipt
from amchain.modules import sharing, tokens, vehicles
from amchain.modules.sharing import SharingCode, keeper
from tests.modules.runtime_chain import RuntimeChain, org

CNY = 100
VIN = "1HGCM82633A004352"


class SharingChain(RuntimeChain):
    def __init__(self) -> None:
        super().__init__("sharing")
        self.people = [self.person() for _ in range(4)]
        (self.a_key, self.a), (self.b_key, self.b), (self.c_key, self.c) = self.people[:3]
        self.buyer_key, self.buyer = self.people[3]
        assert self.send("register_vehicle", {"vin": VIN, "make": "Honda", "model": "Jazz",
                                              "model_year": 2025},
                         self.keys["oem"], module="vehicles").ok  # fmt: skip
        assert self.send("record_event", {"vin": VIN, "event": {"type": "sold", "buyer": self.a}},
                         self.keys["dealer"], module="vehicles").ok  # fmt: skip
        funded = self.block([
            self.tx("mint", {"denom": "CNY-e", "to": did, "amount_minor": 100_000 * CNY},
                    self.keys["financier"], module="tokens")
            for _, did in self.people
        ])  # fmt: skip
        assert all(r.ok for r in funded)

    def create(self, **changes: Any) -> Receipt:
        args = {"group_id": "G", "vin": VIN, "threshold": 2, "share_weight_bp": 5_000,
                "members": [{"did": self.a, "share_bp": 5_000}, {"did": self.b, "share_bp": 3_000},
                            {"did": self.c, "share_bp": 2_000}], **changes}  # fmt: skip
        return self.send("create_group", args, self.a_key, self.b_key, self.c_key)

    def decide(self, proposal_id: str, action: dict[str, Any], *approvers: KeyPair) -> None:
        first, *rest = approvers
        assert self.send("propose", {"group_id": "G", "proposal_id": proposal_id,
                                     "action": action}, first).ok  # fmt: skip
        for key in rest:
            assert self.send("approve", {"group_id": "G", "proposal_id": proposal_id}, key).ok

    def cny(self, did: str) -> int:
        return tokens.balance_of(self.state, "CNY-e", did)

    def group(self) -> sharing.Group:
        group = keeper.read_group(self.state, "G")
        assert group is not None
        return group


def refused(receipt: Receipt, code: SharingCode) -> None:
    assert not receipt.ok, "expected a refusal"
    assert (receipt.codespace, receipt.code) == ("sharing", int(code)), receipt.message


@pytest.fixture
def chain() -> SharingChain:
    return SharingChain()


def test_a_group_needs_the_owner_and_every_member(chain: SharingChain) -> None:
    refused(chain.send("create_group", {"group_id": "G", "vin": VIN, "threshold": 1,
                                        "share_weight_bp": 10_000,
                                        "members": [{"did": chain.a, "share_bp": 6_000},
                                                    {"did": chain.b, "share_bp": 4_000}]},
                       chain.a_key), SharingCode.MEMBER_SIGNATURE_MISSING)  # fmt: skip
    refused(chain.create(members=[{"did": chain.b, "share_bp": 10_000}], threshold=1),
            SharingCode.NOT_OWNER)  # fmt: skip
    refused(chain.create(members=[{"did": chain.a, "share_bp": 5_000},
                                  {"did": chain.b, "share_bp": 4_000}]),
            SharingCode.INVALID_SHARES)  # fmt: skip
    refused(chain.create(threshold=4), SharingCode.INVALID_THRESHOLD)
    assert chain.create().ok
    record = vehicles.get_vehicle(chain.state, VIN)
    assert record is not None
    (lien,) = record.liens
    assert (lien.needed, sorted(lien.cosigners)) == (2, sorted([chain.a, chain.b, chain.c]))
    refused(chain.create(group_id="G2"), SharingCode.VEHICLE_SHARED)


def test_bills_split_by_share_and_by_usage(chain: SharingChain) -> None:
    assert chain.create().ok
    chain.decide("payee", {"type": "authorise_payee", "payee": org("insurer")}, chain.a_key,
                 chain.b_key)  # fmt: skip
    refused(
        chain.send(
            "bill",
            {
                "group_id": "G",
                "bill_id": "b0",
                "denom": "CNY-e",
                "amount_minor": 100,
                "kind": "insurance",
            },
            chain.keys["insurer"],
        ),
        SharingCode.NOT_PAYEE,
    )  # not executed yet
    assert chain.send("execute", {"group_id": "G", "proposal_id": "payee"}, chain.c_key).ok
    assert chain.send("start_session", {"group_id": "G", "session_id": "s1"}, chain.b_key).ok
    refused(chain.send("start_session", {"group_id": "G", "session_id": "s2"}, chain.c_key),
            SharingCode.CAR_IN_USE)  # fmt: skip
    assert chain.send("end_session", {"group_id": "G", "session_id": "s1", "distance_km": 300},
                      chain.b_key).ok  # fmt: skip
    before = {did: chain.cny(did) for did in (chain.a, chain.b, chain.c, org("insurer"))}
    billed = chain.send("bill", {"group_id": "G", "bill_id": "b1", "denom": "CNY-e",
                                 "amount_minor": 1_000 * CNY, "kind": "insurance"},
                        chain.keys["insurer"])  # fmt: skip
    assert billed.ok, billed.message
    # half by share (50/30/20 % of 500), half by usage (b drove everything)
    expected = {chain.a: 250 * CNY, chain.b: (150 + 500) * CNY, chain.c: 100 * CNY}
    for did, part in expected.items():
        assert before[did] - chain.cny(did) == part
    assert chain.cny(org("insurer")) - before[org("insurer")] == 1_000 * CNY
    assert all(m.usage_km == 0 for m in chain.group().members)  # usage restarts after a bill
    refused(chain.send("bill", {"group_id": "G", "bill_id": "b1", "denom": "CNY-e",
                                "amount_minor": 1, "kind": "insurance"},
                       chain.keys["insurer"]), SharingCode.BILL_EXISTS)  # fmt: skip


def test_split_bill_leaves_nothing_behind() -> None:
    group = sharing.Group(
        id="G", vin=VIN, threshold=1, share_weight_bp=3_333, payees=[], active_session=None,
        status="active", created_height=0,
        members=[sharing.Member(did=f"did:amc:{i}", share_bp=bp, usage_km=km, total_km=0,
                                total_ms=0)
                 for i, (bp, km) in enumerate([(3_334, 7), (3_333, 0), (3_333, 11)])],
    )  # fmt: skip
    for amount in (1, 2, 3, 999, 10_001, 123_456_789):
        parts = sharing.split_bill(group, amount)
        assert sum(p.amount_minor for p in parts) == amount
        assert all(p.amount_minor >= 0 for p in parts)


def test_a_sale_needs_k_of_n_then_pays_every_member_and_moves_the_car(
    chain: SharingChain,
) -> None:
    assert chain.create().ok
    sale = {"type": "sell", "buyer": chain.buyer, "denom": "CNY-e", "price_minor": 10_000 * CNY}
    chain.decide("sale", sale, chain.a_key)
    refused(chain.send("execute", {"group_id": "G", "proposal_id": "sale"}, chain.buyer_key),
            SharingCode.NOT_ENOUGH_APPROVALS)  # fmt: skip
    refused(chain.send("approve", {"group_id": "G", "proposal_id": "sale"}, chain.a_key),
            SharingCode.DUPLICATE_APPROVAL)  # fmt: skip
    # a private transfer around the group is refused by the vehicle's lien
    transfer = {"vin": VIN, "event": {"type": "ownership_transferred", "new_owner": chain.buyer}}
    lien = chain.send("record_event", transfer, chain.a_key, chain.buyer_key, module="vehicles")
    assert (lien.ok, lien.codespace, lien.code) == (False, "vehicles", 23)
    assert chain.send("approve", {"group_id": "G", "proposal_id": "sale"}, chain.c_key).ok
    refused(chain.send("execute", {"group_id": "G", "proposal_id": "sale"}, chain.a_key),
            SharingCode.BUYER_SIGNATURE_MISSING)  # fmt: skip
    before = {did: chain.cny(did) for did in (chain.a, chain.b, chain.c, chain.buyer)}
    sold = chain.send("execute", {"group_id": "G", "proposal_id": "sale"}, chain.buyer_key)
    assert sold.ok, sold.message
    assert chain.cny(chain.buyer) == before[chain.buyer] - 10_000 * CNY
    for did, share in ((chain.a, 5_000), (chain.b, 3_000), (chain.c, 2_000)):
        assert chain.cny(did) - before[did] == 10_000 * CNY * share // 10_000
    record = vehicles.get_vehicle(chain.state, VIN)
    assert record is not None and record.owner == chain.buyer and record.liens == []
    assert chain.group().status == "sold"
    refused(chain.send("start_session", {"group_id": "G", "session_id": "s9"}, chain.a_key),
            SharingCode.GROUP_CLOSED)  # fmt: skip


def test_admitting_a_member_takes_a_share_and_widens_the_lien(chain: SharingChain) -> None:
    assert chain.create().ok
    admit = {"type": "admit_member", "did": chain.buyer, "share_bp": 1_000, "from_member": chain.a}
    chain.decide("admit", admit, chain.a_key, chain.b_key)
    refused(chain.send("execute", {"group_id": "G", "proposal_id": "admit"}, chain.a_key),
            SharingCode.NEW_MEMBER_SIGNATURE_MISSING)  # fmt: skip
    assert chain.send("execute", {"group_id": "G", "proposal_id": "admit"}, chain.buyer_key).ok
    shares = {m.did: m.share_bp for m in chain.group().members}
    assert shares == {chain.a: 4_000, chain.b: 3_000, chain.c: 2_000, chain.buyer: 1_000}
    record = vehicles.get_vehicle(chain.state, VIN)
    assert record is not None and chain.buyer in record.liens[0].cosigners
    refused(chain.send("execute", {"group_id": "G", "proposal_id": "admit"}, chain.buyer_key),
            SharingCode.PROPOSAL_CLOSED)  # fmt: skip
