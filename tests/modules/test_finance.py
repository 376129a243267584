"""The finance module through the real runtime: an e-voucher issued, split, passed on,
discounted and redeemed (its invariants under any sequence, hypothesis); a loan whose lien
stands in the vehicle's history, refuses a transfer without the financier, is collected by
the block hook and released at zero; overdue and default; standing orders."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amchain.crypto import KeyPair
from amchain.ledger import Receipt
from amchain.modules import finance, tokens, vehicles
from amchain.modules.base import QueryContext
from amchain.modules.finance import FinanceCode
from tests.modules.runtime_chain import T0, RuntimeChain, org

CNY = 100
DAY_MS = 86_400_000
VIN = "1HGCM82633A004352"
HASH = "ab" * 32


class FinanceChain(RuntimeChain):
    def __init__(self) -> None:
        super().__init__("finance")
        financier = self.keys["financier"]
        funded = self.block([
            self.tx("mint", {"denom": "CNY-e", "to": org(role), "amount_minor": 1_000_000 * CNY},
                    financier, module="tokens")
            for role in ("oem", "financier")
        ])  # fmt: skip
        assert all(r.ok for r in funded)

    def balance(self, account: str, denom: str = "CNY-e") -> int:
        return tokens.balance_of(self.state, denom, account)

    def voucher(self, voucher_id: str) -> finance.VoucherView:
        view = finance.SPEC.queries["voucher"].handler(self.query(), _voucher(voucher_id))
        assert view is not None
        return view  # type: ignore[no-any-return]

    def loan(self, loan_id: str) -> finance.LoanView:
        view = finance.SPEC.queries["loan"].handler(self.query(), _loan(loan_id))
        assert view is not None
        return view  # type: ignore[no-any-return]

    def query(self) -> QueryContext:
        return QueryContext(
            chain_id="test", state=self.state, latest=self.state, height=self.height,
            time_ms=self.time_ms, now_ms=self.time_ms, chain=None,  # type: ignore[arg-type]
        )  # fmt: skip

    def issue(self, voucher_id: str = "V1", face: int = 300_000 * CNY,
              maturity: int | None = None) -> Receipt:  # fmt: skip
        return self.send("issue_voucher", {
            "voucher_id": voucher_id, "supplier": org("supplier"), "denom": "CNY-e",
            "face_minor": face, "maturity_ms": maturity or T0 + 30 * DAY_MS,
            "payable_ref_hash": HASH,
        }, self.keys["oem"])  # fmt: skip


def _voucher(voucher_id: str) -> Any:
    return finance.SPEC.queries["voucher"].params_type(voucher_id=voucher_id)


def _loan(loan_id: str) -> Any:
    return finance.SPEC.queries["loan"].params_type(loan_id=loan_id)


def refused(receipt: Receipt, codespace: str, code: int) -> None:
    assert not receipt.ok, "expected a refusal"
    assert (receipt.codespace, receipt.code) == (codespace, int(code)), receipt.message


@pytest.fixture
def chain() -> FinanceChain:
    return FinanceChain()


# --- vouchers -----------------------------------------------------------------------------------


def test_a_voucher_is_split_discounted_and_every_piece_redeemed(chain: FinanceChain) -> None:
    supplier, financier, oem = (chain.keys[r] for r in ("supplier", "financier", "oem"))
    assert chain.issue().ok
    parts = [{"to": org("supplier"), "amount_minor": 100_000 * CNY},
             {"to": org("fleet"), "amount_minor": 120_000 * CNY},
             {"to": org("charging_operator"), "amount_minor": 80_000 * CNY}]  # fmt: skip
    split = chain.send("split_piece", {"voucher_id": "V1", "piece_no": 0, "parts": parts},
                       supplier)  # fmt: skip
    assert split.ok and split.events[0].attributes["into"] == [1, 2, 3]
    discount = {"voucher_id": "V1", "piece_no": 1, "financier": org("financier"),
                "price_minor": 98_000 * CNY}  # fmt: skip
    before = chain.balance(org("supplier")), chain.balance(org("financier"))
    assert chain.send("discount_piece", discount, supplier, financier).ok
    assert chain.balance(org("supplier")) == before[0] + 98_000 * CNY
    assert chain.balance(org("financier")) == before[1] - 98_000 * CNY
    view = chain.voucher("V1")
    assert view.held_minor == 300_000 * CNY
    assert [(p.no, p.holder, p.status) for p in view.pieces] == [
        (0, org("supplier"), "split"), (1, org("financier"), "held"),
        (2, org("fleet"), "held"), (3, org("charging_operator"), "held"),
    ]  # fmt: skip
    refused(chain.send("redeem_voucher", {"voucher_id": "V1"}, oem),
            "finance", FinanceCode.NOT_MATURE)  # fmt: skip
    oem_before = chain.balance(org("oem"))
    holders = {a: chain.balance(a) for a in (org("financier"), org("fleet"),
                                              org("charging_operator"))}  # fmt: skip
    redeemed = chain.send("redeem_voucher", {"voucher_id": "V1"}, oem, at_ms=T0 + 30 * DAY_MS)
    assert redeemed.ok, redeemed.message
    assert chain.balance(org("oem")) == oem_before - 300_000 * CNY
    assert chain.balance(org("financier")) == holders[org("financier")] + 100_000 * CNY
    assert chain.balance(org("fleet")) == holders[org("fleet")] + 120_000 * CNY
    assert (
        chain.balance(org("charging_operator")) == holders[org("charging_operator")] + 80_000 * CNY
    )
    refused(chain.send("redeem_voucher", {"voucher_id": "V1"}, oem),
            "finance", FinanceCode.ALREADY_REDEEMED)  # fmt: skip
    assert chain.balances_sum("CNY-e") == tokens.supply_of(chain.state, "CNY-e")


def test_voucher_refusals_name_what_is_wrong(chain: FinanceChain) -> None:
    supplier, financier = chain.keys["supplier"], chain.keys["financier"]
    assert chain.issue().ok
    refused(chain.issue(), "finance", FinanceCode.VOUCHER_EXISTS)
    not_a_supplier = chain.send("issue_voucher", {
        "voucher_id": "V2", "supplier": org("dealer"), "denom": "CNY-e", "face_minor": 10,
        "maturity_ms": T0 + DAY_MS, "payable_ref_hash": HASH}, chain.keys["oem"])  # fmt: skip
    refused(not_a_supplier, "finance", FinanceCode.NOT_A_SUPPLIER)
    by_supplier = chain.send("issue_voucher", {
        "voucher_id": "V3", "supplier": org("supplier"), "denom": "CNY-e", "face_minor": 10,
        "maturity_ms": T0 + DAY_MS, "payable_ref_hash": HASH}, supplier)  # fmt: skip
    assert (by_supplier.ok, by_supplier.codespace) == (False, "tx")  # the oem role
    uneven = [{"to": org("supplier"), "amount_minor": 1}, {"to": org("fleet"), "amount_minor": 2}]
    refused(chain.send("split_piece", {"voucher_id": "V1", "piece_no": 0, "parts": uneven},
                       supplier), "finance", FinanceCode.SPLIT_MISMATCH)  # fmt: skip
    refused(chain.send("split_piece", {"voucher_id": "V1", "piece_no": 0, "parts": uneven[:1]},
                       supplier), "finance", FinanceCode.INVALID_SPLIT)  # fmt: skip
    refused(chain.send("transfer_piece", {"voucher_id": "V1", "piece_no": 0, "to": org("fleet")},
                       chain.keys["fleet"]), "finance", FinanceCode.NOT_HOLDER)  # fmt: skip
    discount = {"voucher_id": "V1", "piece_no": 0, "financier": org("financier"),
                "price_minor": 1}  # fmt: skip
    refused(chain.send("discount_piece", discount, supplier),
            "finance", FinanceCode.FINANCIER_SIGNATURE_MISSING)  # fmt: skip
    refused(chain.send("discount_piece", {**discount, "financier": org("insurer")},
                       supplier, chain.keys["insurer"]),
            "finance", FinanceCode.NOT_A_FINANCIER)  # fmt: skip
    refused(chain.send("discount_piece", {**discount, "price_minor": 300_000 * CNY + 1},
                       supplier, financier), "finance", FinanceCode.INVALID_PRICE)  # fmt: skip
    refused(chain.send("transfer_piece", {"voucher_id": "V1", "piece_no": 7, "to": org("fleet")},
                       supplier), "finance", FinanceCode.UNKNOWN_PIECE)  # fmt: skip


def test_an_unredeemed_voucher_is_flagged_overdue_a_day_after_maturity(
    chain: FinanceChain,
) -> None:
    assert chain.issue(maturity=T0 + DAY_MS).ok
    chain.block([], at_ms=T0 + 2 * DAY_MS - 1)
    assert not chain.voucher("V1").voucher.overdue
    chain.block([], at_ms=T0 + 2 * DAY_MS)
    assert chain.voucher("V1").voucher.overdue
    assert chain.hook_events("finance") == [
        ("finance.voucher_overdue",
         {"voucher_id": "V1", "issuer": org("oem"), "maturity_ms": T0 + DAY_MS})
    ]  # fmt: skip


ACTORS = ("supplier", "fleet", "charging_operator", "financier")


@st.composite
def voucher_ops(draw: st.DrawFn) -> list[tuple[str, int, str, list[int]]]:
    kinds = st.sampled_from(("split", "transfer", "discount", "redeem"))
    ops = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        ops.append((draw(kinds), draw(st.integers(min_value=0, max_value=8)),
                    draw(st.sampled_from(ACTORS)),
                    draw(st.lists(st.integers(min_value=0, max_value=200_000), min_size=1,
                                  max_size=4))))  # fmt: skip
    return ops


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(voucher_ops())
def test_voucher_pieces_always_add_up_to_the_face_value(ops: list[Any]) -> None:
    chain = FinanceChain()
    face = 300_000
    assert chain.issue(face=face).ok
    redeemed = 0
    for kind, no, actor, amounts in ops:
        held = [p for p in chain.voucher("V1").pieces if p.status == "held"]
        if kind == "redeem" or not held:
            receipt = chain.send("redeem_voucher", {"voucher_id": "V1"}, chain.keys["oem"],
                                 at_ms=T0 + 31 * DAY_MS)  # fmt: skip
            redeemed += int(receipt.ok)
            continue
        piece = held[no % len(held)]
        signer = chain.keys[piece.holder.rsplit(":", 1)[1]]
        ref = {"voucher_id": "V1", "piece_no": piece.no}
        if kind == "split" and piece.amount_minor >= 3:
            count = 2 + amounts[0] % 2
            share = piece.amount_minor // count
            cuts = [share] * (count - 1) + [piece.amount_minor - share * (count - 1)]
            cuts[-1] += int(amounts[0] % 5 == 0)  # now and then pieces that do not add up
            parts = [{"to": org(ACTORS[(no + i) % len(ACTORS)]), "amount_minor": cut}
                     for i, cut in enumerate(cuts)]  # fmt: skip
            chain.send("split_piece", {**ref, "parts": parts}, signer)
        elif kind == "transfer":
            chain.send("transfer_piece", {**ref, "to": org(actor)}, signer)
        elif kind == "discount" and piece.holder != org("financier"):
            price = 1 + amounts[0] % piece.amount_minor
            chain.send("discount_piece", {**ref, "financier": org("financier"),
                                          "price_minor": price},
                       signer, chain.keys["financier"])  # fmt: skip
        view = chain.voucher("V1")
        leaves = [p for p in view.pieces if p.status in ("held", "redeemed")]
        assert sum(p.amount_minor for p in leaves) == face
        for p in view.pieces:  # a split piece's children add up to it
            children = [c for c in view.pieces if c.parent == p.no]
            if p.status == "split":
                assert sum(c.amount_minor for c in children) == p.amount_minor
            else:
                assert not children
        assert redeemed <= 1
        assert (view.voucher.status == "redeemed") == (redeemed == 1)
        if redeemed:
            assert all(p.status != "held" for p in view.pieces)


# --- loans --------------------------------------------------------------------------------------


def _car_with_owner(chain: FinanceChain) -> tuple[KeyPair, str]:
    owner_key, owner = chain.person()
    registered = chain.send("register_vehicle", {"vin": VIN, "make": "Honda", "model": "Accord",
                                                 "model_year": 2003},
                            chain.keys["oem"], module="vehicles")  # fmt: skip
    assert registered.ok, registered.message
    sold = chain.send("record_event", {"vin": VIN, "event": {"type": "sold", "buyer": owner}},
                      chain.keys["dealer"], module="vehicles")  # fmt: skip
    assert sold.ok, sold.message
    return owner_key, owner


def _loan_args(owner: str, **changes: Any) -> dict[str, Any]:
    return {"loan_id": "L1", "borrower": owner, "vin": VIN, "denom": "CNY-e",
            "principal_minor": 60_000 * CNY, "rate_bp": 1_000, "instalments": 3,
            "first_due_ms": T0 + 30 * DAY_MS, "period_ms": 30 * DAY_MS,
            "grace_ms": 10 * DAY_MS, **changes}  # fmt: skip


def test_a_loan_liens_the_car_is_collected_and_releases_the_lien_at_zero(
    chain: FinanceChain,
) -> None:
    owner_key, owner = _car_with_owner(chain)
    financier = chain.keys["financier"]
    recorded = chain.send("record_loan", _loan_args(owner), financier, owner_key)
    assert recorded.ok, recorded.message
    record = vehicles.get_vehicle(chain.state, VIN)
    assert record is not None and [lien.holder for lien in record.liens] == [org("financier")]
    history = vehicles.get_history(chain.state, VIN)
    assert history[-1].type == "lien_placed"
    assert chain.balance(owner) == 60_000 * CNY  # the principal, paid out
    loan = chain.loan("L1").loan
    # flat interest: 10 % a year over 90 days
    assert loan.total_due_minor == 60_000 * CNY + 60_000 * CNY * 1_000 * 90 // (10_000 * 365)
    assert loan.last_instalment_minor >= loan.instalment_minor

    buyer_key, buyer = chain.person()
    transfer = {"vin": VIN, "event": {"type": "ownership_transferred", "new_owner": buyer}}
    refused(chain.send("record_event", transfer, owner_key, buyer_key, module="vehicles"),
            "vehicles", vehicles.VehiclesCode.LIEN_HOLDER_SIGNATURE_MISSING)  # fmt: skip

    # the borrower needs the interest on top of the principal it holds
    chain.send("transfer", {"denom": "CNY-e", "to": owner, "amount_minor": 2_000 * CNY},
               chain.keys["oem"], module="tokens")  # fmt: skip
    for n in range(1, 4):
        chain.block([], at_ms=T0 + n * 30 * DAY_MS)
        collected = [
            a for t, a in chain.hook_events("finance") if t == "finance.instalment_collected"
        ]
        assert len(collected) == 1, chain.hook_events("finance")
    assert chain.loan("L1").loan.status == "closed"
    record = vehicles.get_vehicle(chain.state, VIN)
    assert record is not None and record.liens == []
    assert vehicles.get_history(chain.state, VIN)[-1].type == "lien_released"
    assert chain.send("record_event", transfer, owner_key, buyer_key, module="vehicles").ok


def test_a_missed_instalment_is_overdue_then_default_and_a_repayment_cures_it(
    chain: FinanceChain,
) -> None:
    owner_key, owner = _car_with_owner(chain)
    assert chain.send("record_loan", _loan_args(owner), chain.keys["financier"], owner_key).ok
    # the borrower spends the principal: nothing left when the instalment falls due
    chain.send("transfer", {"denom": "CNY-e", "to": org("dealer"), "amount_minor": 60_000 * CNY},
               owner_key, module="tokens")  # fmt: skip
    chain.block([], at_ms=T0 + 30 * DAY_MS)
    assert [t for t, _ in chain.hook_events("finance")] == ["finance.instalment_missed"]
    assert chain.loan("L1").loan.status == "overdue"
    chain.block([], at_ms=T0 + 40 * DAY_MS)  # the grace period ends
    assert chain.loan("L1").loan.status == "default"
    assert "finance.loan_defaulted" in [t for t, _ in chain.hook_events("finance")]
    view = chain.loan("L1")
    chain.send("transfer", {"denom": "CNY-e", "to": owner, "amount_minor": view.arrears_minor},
               chain.keys["oem"], module="tokens")  # fmt: skip
    repaid = chain.send("repay_loan", {"loan_id": "L1", "amount_minor": view.arrears_minor},
                        owner_key)  # fmt: skip
    assert repaid.ok, repaid.message
    assert chain.loan("L1").loan.status == "active" and chain.loan("L1").arrears_minor == 0
    refused(chain.send("repay_loan", {"loan_id": "L1", "amount_minor": 10**12}, owner_key),
            "finance", FinanceCode.OVERPAYMENT)  # fmt: skip
    refused(chain.send("repay_loan", {"loan_id": "L1", "amount_minor": 1},
                       chain.keys["dealer"]), "finance", FinanceCode.NOT_BORROWER)  # fmt: skip


def test_a_loan_needs_the_owner_as_borrower_and_its_signature(chain: FinanceChain) -> None:
    owner_key, owner = _car_with_owner(chain)
    stranger_key, stranger = chain.person()
    financier = chain.keys["financier"]
    refused(chain.send("record_loan", _loan_args(stranger), financier, stranger_key),
            "finance", FinanceCode.NOT_VEHICLE_OWNER)  # fmt: skip
    refused(chain.send("record_loan", _loan_args(owner), financier),
            "finance", FinanceCode.BORROWER_SIGNATURE_MISSING)  # fmt: skip
    refused(chain.send("record_loan", _loan_args(owner, instalments=0), financier, owner_key),
            "finance", FinanceCode.INVALID_TERMS)  # fmt: skip
    by_dealer = chain.send("record_loan", _loan_args(owner), chain.keys["dealer"], owner_key)
    assert (by_dealer.ok, by_dealer.codespace) == (False, "tx")  # the financier role


# --- standing orders ----------------------------------------------------------------------------


def test_a_standing_order_pays_when_due_misses_without_balance_and_stops(
    chain: FinanceChain,
) -> None:
    payer_key, payer = chain.person()
    chain.send("transfer", {"denom": "CNY-e", "to": payer, "amount_minor": 250 * CNY},
               chain.keys["oem"], module="tokens")  # fmt: skip
    order = {"order_id": "premium", "payee": org("insurer"), "denom": "CNY-e",
             "amount_minor": 100 * CNY, "first_due_ms": T0 + DAY_MS, "period_ms": DAY_MS,
             "count": 4, "purpose": "insurance premium"}  # fmt: skip
    assert chain.send("create_standing_order", order, payer_key).ok
    outcomes = []
    for day in range(1, 6):
        chain.block([], at_ms=T0 + day * DAY_MS)
        outcomes += [a["paid"] for t, a in chain.hook_events("finance")
                     if t == "finance.standing_order_paid"]  # fmt: skip
    assert outcomes == [True, True, False, False]  # 250 pays two premiums; count 4, then done
    assert chain.balance(org("insurer")) == 200 * CNY
    refused(chain.send("cancel_standing_order", {"order_id": "premium"}, payer_key),
            "finance", FinanceCode.ORDER_NOT_ACTIVE)  # fmt: skip


def test_a_cancelled_standing_order_pays_nothing_more(chain: FinanceChain) -> None:
    payer_key, _ = chain.person()
    order = {"order_id": "parking", "payee": org("fleet"), "denom": "CNY-e",
             "amount_minor": 1, "first_due_ms": T0 + DAY_MS, "period_ms": DAY_MS}  # fmt: skip
    assert chain.send("create_standing_order", order, payer_key).ok
    refused(chain.send("cancel_standing_order", {"order_id": "parking"}, chain.keys["fleet"]),
            "finance", FinanceCode.NOT_PAYER)  # fmt: skip
    assert chain.send("cancel_standing_order", {"order_id": "parking"}, payer_key).ok
    chain.block([], at_ms=T0 + 3 * DAY_MS)
    assert chain.hook_events("finance") == []
    assert not list(chain.state.iter_prefix("finance/due/"))
