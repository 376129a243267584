"""How a trip is scored: pure integer arithmetic on the summary the car signed.

``score = 100 − min(40, 4 × harsh accelerations per 100 km) − min(40, 5 × harsh brakes per
100 km) + min(10, coasting share in bp ÷ 300) + min(10, eco-mode share in bp ÷ 1,000) −
the speed band's penalty (0-50: 0, 50-90: 0, 90-120: 5, 120+: 15)``, kept within 0 to 100.
The trip earns ``distance × minor_per_km`` of the highest band whose ``min_score`` it
reaches (nothing below every band).
"""

from __future__ import annotations

from collections.abc import Sequence

from amchain.modules.rewards.types import Band, SubmitTripArgs

__all__ = ["SPEED_PENALTY", "earned_minor", "score_trip"]

SPEED_PENALTY: dict[str, int] = {"0-50": 0, "50-90": 0, "90-120": 5, "120+": 15}


def score_trip(trip: SubmitTripArgs) -> int:
    """The trip's eco-driving score, 0 to 100."""
    score = 100
    score -= min(40, 4 * trip.harsh_accelerations_per_100km)
    score -= min(40, 5 * trip.harsh_brakes_per_100km)
    score += min(10, trip.coasting_share_bp // 300)
    score += min(10, trip.eco_mode_share_bp // 1_000)
    score -= SPEED_PENALTY[trip.speed_band]
    return max(0, min(100, score))


def earned_minor(score: int, distance_km: int, bands: Sequence[Band]) -> int:
    """What the score earns over ``distance_km`` by the programme's bands."""
    reached = [band for band in bands if band.min_score <= score]
    if not reached:
        return 0
    best = max(reached, key=lambda band: band.min_score)
    return distance_km * best.minor_per_km
