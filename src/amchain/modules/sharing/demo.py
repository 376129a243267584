"""The ``sharing`` part of ``amchain up --demo``: three demo people co-own a car (shares
50/30/20 %, 2 of 3 decide), authorise the insurer to bill them, drive it, pay the premium
split half by share and half by usage, and see a sale with one approval refused."""

from __future__ import annotations

from amchain.modules.base import DemoStep, DemoWorld
from amchain.modules.sharing.errors import SharingCode

__all__ = ["demo_steps"]

CNY = 100


def demo_steps(world: DemoWorld) -> list[DemoStep]:
    """The demo's co-ownership traffic: a car of a person, with two more people."""
    if not {"oem", "insurer"} <= set(world.orgs):
        return []
    people = list(world.people)
    owned = [vin for vin, owner in world.vehicles.items() if owner in people]
    if len(owned) < 2 or len(people) < 3:
        return []
    vin = owned[1]  # the finance demo pledges the first one
    owner = world.vehicles[vin]
    others = [p for p in people if p != owner][:2]
    members = [owner, *others]
    group = f"G-{world.time_ms}"
    insurer, oem = world.orgs["insurer"], world.orgs["oem"]
    steps = [
        DemoStep(
            "transfer",
            {"denom": "CNY-e", "to": member, "amount_minor": 1_000 * CNY},
            (oem,),
            module="tokens",
            note="the OEM pays each co-owner a loyalty credit",
        )
        for member in members
    ]
    steps += [
        DemoStep(
            "create_group",
            {
                "group_id": group,
                "vin": vin,
                "members": [
                    {"did": owner, "share_bp": 5_000},
                    {"did": others[0], "share_bp": 3_000},
                    {"did": others[1], "share_bp": 2_000},
                ],
                "threshold": 2,
                "share_weight_bp": 5_000,
            },
            tuple(members),
            note=f"three people co-own {vin}: 50/30/20 %, 2 of 3 decide",
        ),
        DemoStep(
            "propose",
            {
                "group_id": group,
                "proposal_id": "insurer",
                "action": {"type": "authorise_payee", "payee": insurer},
            },
            (owner,),
        ),
        DemoStep("approve", {"group_id": group, "proposal_id": "insurer"}, (others[0],)),
        DemoStep(
            "execute",
            {"group_id": group, "proposal_id": "insurer"},
            (owner,),
            note="the group lets the insurer bill it (2 of 3 approved)",
        ),
        DemoStep("start_session", {"group_id": group, "session_id": "s1"}, (others[0],)),
        DemoStep(
            "end_session",
            {"group_id": group, "session_id": "s1", "distance_km": 120},
            (others[0],),
            note="a co-owner drives it 120 km",
        ),
        DemoStep(
            "bill",
            {
                "group_id": group,
                "bill_id": "premium-1",
                "denom": "CNY-e",
                "amount_minor": 300 * CNY,
                "kind": "insurance",
            },
            (insurer,),
            note="the insurer bills 300 CNY-e: half by share, half by usage, paid at once",
        ),
        DemoStep(
            "propose",
            {
                "group_id": group,
                "proposal_id": "sell",
                "action": {
                    "type": "sell",
                    "buyer": oem,
                    "denom": "CNY-e",
                    "price_minor": 10_000 * CNY,
                },
            },
            (owner,),
        ),
        DemoStep(
            "execute",
            {"group_id": group, "proposal_id": "sell"},
            (oem,),
            note="a sale with 1 of the 2 approvals it needs",
            refused_with=("sharing", SharingCode.NOT_ENOUGH_APPROVALS),
        ),
    ]
    return steps
