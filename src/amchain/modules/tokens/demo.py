"""The ``tokens`` part of ``amchain up --demo``: settlement tokens minted, paid and burnt,
AMCT handed out from the IDO pool, an allowance spent, an operations release approved 2 of
3, and the refusals people should see (beyond a balance, a mint by a non-issuer, a pool
released by hand, a release with too few approvals, an approval given twice)."""

from __future__ import annotations

from amchain.modules.base import DemoStep, DemoWorld
from amchain.modules.tokens.errors import TokensCode

CODESPACE = "tokens"

__all__ = ["demo_steps"]

AMCT = 1_000_000  # minor units per AMCT
CNY = 100  # minor units per CNY-e


def demo_steps(world: DemoWorld) -> list[DemoStep]:
    """The demo's token traffic, built from the organisations and people the demo made."""
    orgs = world.orgs
    if not {"financier", "oem", "dealer", "regulator"} <= set(orgs):
        return []
    financier, oem, dealer = orgs["financier"], orgs["oem"], orgs["dealer"]
    people = list(world.people)
    proposal = f"ops-{world.time_ms}"  # unique per run: a restarted demo proposes again
    steps = [
        DemoStep(
            "mint",
            {"denom": "CNY-e", "to": oem, "amount_minor": 5_000_000 * CNY},
            (financier,),
            note="the financier mints CNY-e against money the OEM deposited",
        ),
        DemoStep(
            "mint",
            {"denom": "CNY-e", "to": oem, "amount_minor": 1_000 * CNY},
            (oem,),
            note="a mint by someone who is not the issuer",
            refused_with=(CODESPACE, TokensCode.NOT_ISSUER),
        ),
        DemoStep(
            "transfer",
            {"denom": "CNY-e", "to": financier, "amount_minor": 20_000 * CNY},
            (oem,),
            note="the OEM pays the financier back",
        ),
        DemoStep(
            "burn",
            {"denom": "CNY-e", "amount_minor": 20_000 * CNY},
            (financier,),
            note="the financier burns what it paid out in money",
        ),
        DemoStep(
            "transfer",
            {"denom": "AMCT", "to": "did:amc:org:nobody", "amount_minor": AMCT},
            (financier,),
            note="a transfer to an account that does not exist",
            refused_with=(CODESPACE, TokensCode.UNKNOWN_ACCOUNT),
        ),
        DemoStep(
            "release_pool",
            {"pool": "mining"},
            (oem,),
            note="the mining pool released by hand",
            refused_with=(CODESPACE, TokensCode.RELEASED_BY_RULES_ONLY),
        ),
        DemoStep(
            "release_pool",
            {"pool": "technology"},
            (oem,),
            note="a technology release before it falls due",
            refused_with=(CODESPACE, TokensCode.RELEASE_NOT_DUE),
        ),
        DemoStep(
            "propose_release",
            {
                "proposal_id": proposal,
                "pool": "operations",
                "to": dealer,
                "amount_minor": 250_000 * AMCT,
                "purpose": "dealer network onboarding grants",
            },
            (oem,),
            note="the OEM proposes an operations release (its approval counts)",
        ),
        DemoStep(
            "execute_release",
            {"proposal_id": proposal},
            (oem,),
            note="an operations release with 1 of the 2 approvals it needs",
            refused_with=(CODESPACE, TokensCode.NOT_ENOUGH_APPROVALS),
        ),
        DemoStep(
            "approve_release",
            {"proposal_id": proposal},
            (oem,),
            note="the same approval twice",
            refused_with=(CODESPACE, TokensCode.DUPLICATE_APPROVAL),
        ),
        DemoStep("approve_release", {"proposal_id": proposal}, (financier,)),
        DemoStep(
            "execute_release",
            {"proposal_id": proposal},
            (financier,),
            note="the operations release with 2 of 3 foundation approvals",
        ),
    ]
    for index, person in enumerate(people[:3]):
        steps.append(
            DemoStep(
                "transfer",
                {"denom": "AMCT", "to": person, "amount_minor": (1_000 + 500 * index) * AMCT},
                (financier,),
                note="AMCT from the IDO's distribution account",
            )
        )
    if people:
        buyer = people[0]
        steps += [
            DemoStep(
                "transfer",
                {"denom": "CNY-e", "to": buyer, "amount_minor": 1_200 * CNY},
                (oem,),
                note="the OEM refunds a warranty repair in CNY-e",
            ),
            DemoStep(
                "approve",
                {"denom": "AMCT", "spender": dealer, "amount_minor": 100 * AMCT},
                (buyer,),
                note="an owner lets the dealer take up to 100 AMCT",
            ),
            DemoStep(
                "transfer_from",
                {"denom": "AMCT", "owner": buyer, "to": dealer, "amount_minor": 40 * AMCT},
                (dealer,),
                note="the dealer takes 40 AMCT for a service plan",
            ),
            DemoStep(
                "transfer_from",
                {"denom": "AMCT", "owner": buyer, "to": dealer, "amount_minor": 80 * AMCT},
                (dealer,),
                note="the dealer takes more than it may",
                refused_with=(CODESPACE, TokensCode.INSUFFICIENT_ALLOWANCE),
            ),
            DemoStep(
                "transfer",
                {"denom": "AMCT", "to": dealer, "amount_minor": 1_000_000 * AMCT},
                (buyer,),
                note="an owner pays more AMCT than it holds",
                refused_with=(CODESPACE, TokensCode.INSUFFICIENT_BALANCE),
            ),
        ]
    return steps
