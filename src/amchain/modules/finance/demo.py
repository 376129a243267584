"""The ``finance`` part of ``amchain up --demo``: a voucher issued by the OEM to its tier-1
supplier, split in three down the tiers, one piece discounted to the financier, redeemed at
maturity (an early redemption refused first); a loan on a demo car whose lien refuses a
transfer without the financier and whose instalments the block hook collects; a standing
order for an insurance premium."""

from __future__ import annotations

from amchain.modules.base import DemoStep, DemoWorld
from amchain.modules.finance.errors import FinanceCode

__all__ = ["demo_steps"]

CNY = 100  # minor units per CNY-e
SECOND_MS = 1_000
LIEN_HOLDER_SIGNATURE_MISSING = 23  # vehicles/23
PAYABLE_HASH = "5e" * 32  # the demo's payable document, by its hash


def demo_steps(world: DemoWorld) -> list[DemoStep]:
    """The demo's finance traffic, from what the demo made (organisations, people, cars)."""
    orgs = world.orgs
    if not {"oem", "supplier", "financier", "fleet", "charging_operator", "insurer"} <= set(orgs):
        return []
    oem, supplier, financier = orgs["oem"], orgs["supplier"], orgs["financier"]
    now = world.time_ms
    voucher = f"V-{now}"
    maturity = now + 20 * SECOND_MS
    steps = [
        DemoStep(
            "mint",
            {"denom": "CNY-e", "to": financier, "amount_minor": 1_000_000 * CNY},
            (financier,),
            module="tokens",
            note="the financier mints CNY-e it will lend and pay discounts with",
        ),
        DemoStep(
            "issue_voucher",
            {
                "voucher_id": voucher,
                "supplier": supplier,
                "denom": "CNY-e",
                "face_minor": 300_000 * CNY,
                "maturity_ms": maturity,
                "payable_ref_hash": PAYABLE_HASH,
            },
            (oem,),
            note="the OEM confirms a 300,000 CNY-e payable to its tier-1 supplier as a voucher",
        ),
        DemoStep(
            "split_piece",
            {
                "voucher_id": voucher,
                "piece_no": 0,
                "parts": [
                    {"to": supplier, "amount_minor": 100_000 * CNY},
                    {"to": orgs["fleet"], "amount_minor": 120_000 * CNY},
                    {"to": orgs["charging_operator"], "amount_minor": 80_000 * CNY},
                ],
            },
            (supplier,),
            note="the supplier splits it in three and passes two down the tiers",
        ),
        DemoStep(
            "split_piece",
            {
                "voucher_id": voucher,
                "piece_no": 1,
                "parts": [
                    {"to": supplier, "amount_minor": 60_000 * CNY},
                    {"to": supplier, "amount_minor": 30_000 * CNY},
                ],
            },
            (supplier,),
            note="a split whose pieces do not add up",
            refused_with=("finance", FinanceCode.SPLIT_MISMATCH),
        ),
        DemoStep(
            "discount_piece",
            {
                "voucher_id": voucher,
                "piece_no": 1,
                "financier": financier,
                "price_minor": 98_000 * CNY,
            },
            (supplier, financier),
            note="the supplier discounts its piece to the financier for 98,000 CNY-e",
        ),
        DemoStep(
            "discount_piece",
            {
                "voucher_id": voucher,
                "piece_no": 2,
                "financier": financier,
                "price_minor": 100_000 * CNY,
            },
            (supplier, financier),
            note="discounting a piece one does not hold",
            refused_with=("finance", FinanceCode.NOT_HOLDER),
        ),
        DemoStep(
            "redeem_voucher",
            {"voucher_id": voucher},
            (oem,),
            note="redeeming before maturity",
            refused_with=("finance", FinanceCode.NOT_MATURE),
        ),
    ]
    people = set(world.people)
    owned = [(vin, owner) for vin, owner in world.vehicles.items() if owner in people]
    if owned:
        vin, owner = owned[0]
        buyer = next((p for p in world.people if p != owner), None)
        loan = f"L-{now}"
        steps.append(
            DemoStep(
                "record_loan",
                {
                    "loan_id": loan,
                    "borrower": owner,
                    "vin": vin,
                    "denom": "CNY-e",
                    "principal_minor": 60_000 * CNY,
                    "rate_bp": 600,
                    "instalments": 3,
                    "first_due_ms": now + 40 * SECOND_MS,
                    "period_ms": 20 * SECOND_MS,
                    "grace_ms": 60 * SECOND_MS,
                },
                (financier, owner),
                note=f"the financier lends 60,000 CNY-e against {vin} (a lien in its history)",
            )
        )
        if buyer is not None:
            steps.append(
                DemoStep(
                    "record_event",
                    {"vin": vin, "event": {"type": "ownership_transferred", "new_owner": buyer}},
                    (owner, buyer),
                    module="vehicles",
                    note="selling the pledged car without the financier",
                    refused_with=("vehicles", LIEN_HOLDER_SIGNATURE_MISSING),
                )
            )
        steps.append(
            DemoStep(
                "create_standing_order",
                {
                    "order_id": f"premium-{now}",
                    "payee": orgs["insurer"],
                    "denom": "CNY-e",
                    "amount_minor": 100 * CNY,
                    "first_due_ms": now + 40 * SECOND_MS,
                    "period_ms": 30 * SECOND_MS,
                    "count": 3,
                    "purpose": f"insurance premium for {vin}",
                },
                (owner,),
                note="the owner pays the insurance premium by standing order",
            )
        )
    # last: the one step that waits for its time
    steps += [
        DemoStep(
            "redeem_voucher",
            {"voucher_id": voucher},
            (oem,),
            note="at maturity the OEM pays every piece's holder",
            not_before_ms=maturity + SECOND_MS,
        ),
        DemoStep(
            "redeem_voucher",
            {"voucher_id": voucher},
            (oem,),
            note="redeeming twice",
            refused_with=("finance", FinanceCode.ALREADY_REDEEMED),
        ),
    ]
    return steps
