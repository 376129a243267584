"""Read-only queries: a vehicle, its history, and a history report summary."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import msgspec

from amchain.codec import to_builtins
from amchain.ledger import StateReader
from amchain.modules.base import QueryContext
from amchain.modules.vehicles import keeper
from amchain.modules.vehicles.errors import VehiclesCode, VehiclesError
from amchain.modules.vehicles.history import verify_history_chain
from amchain.modules.vehicles.keys import vehicle_record_state_key
from amchain.modules.vehicles.types import (
    AccidentSummary,
    HistoryEntry,
    HistoryFlags,
    HistoryReport,
    RefusedRollback,
    Signatory,
    VehicleParams,
    VehicleRecord,
    VehicleView,
)
from amchain.modules.vehicles.validation import validate_vin

__all__ = [
    "get_history",
    "get_vehicle",
    "query_history",
    "query_vehicle",
    "summarize_history",
    "summary_line",
    "vehicle_to_json",
]


def _is_vin(vin: str) -> bool:
    try:
        validate_vin(vin)
    except VehiclesError:
        return False
    return True


def get_vehicle(state: StateReader, vin: str) -> VehicleRecord | None:
    """Return the vehicle record, or None (also for a string that is not a valid VIN)."""
    if not _is_vin(vin):
        return None
    return keeper.get_vehicle(state, vin)


def get_history(
    state: StateReader, vin: str, *, start_seq: int = 0, limit: int | None = None
) -> list[HistoryEntry]:
    """Return history entries from ``start_seq`` on (at most ``limit``), in seq order.

    An unknown vehicle has an empty history.
    """
    record = get_vehicle(state, vin)
    if record is None:
        return []
    start = max(start_seq, 0)
    stop = record.event_count if limit is None else min(record.event_count, start + max(limit, 0))
    entries: list[HistoryEntry] = []
    for seq in range(start, stop):
        entry = keeper.get_history_entry(state, vin, seq)
        if entry is None:  # cannot happen in a consistent state; stop at the gap
            break
        entries.append(entry)
    return entries


def summarize_history(record: VehicleRecord, entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    """Return a history report's headline facts as plain JSON.

    Pass the complete history (``get_history(state, vin)``): ``complete`` is True only when
    the entries form the hash chain the record commits to (``history_head``, ``event_count``).
    ``odometer_consistent`` is True when readings never go down and the last one is the
    record's ``last_odometer_km``.
    """
    accident_seqs = [e.seq for e in entries if e.type == "accident"]
    readings = [e.odometer_km for e in entries if e.odometer_km is not None]
    non_decreasing = all(a <= b for a, b in pairwise(readings))
    last_matches = (readings[-1] if readings else 0) == record.last_odometer_km
    return {
        "vin": record.vin,
        "did": record.did,
        "make": record.make,
        "model": record.model,
        "model_year": record.model_year,
        "manufacturer": record.manufacturer,
        "owner": record.owner,
        "owners_count": len(record.owners),
        "owners": list(record.owners),
        "accidents": {"count": len(accident_seqs), "seqs": accident_seqs},
        "stolen": record.status == "stolen",
        "scrapped": record.status == "scrapped",
        "open_recalls": list(record.open_recalls),
        "odometer_consistent": non_decreasing and last_matches,
        "last_odometer_km": record.last_odometer_km,
        "event_count": record.event_count,
        "complete": verify_history_chain(entries, record.history_head, record.event_count),
    }


def vehicle_to_json(record: VehicleRecord) -> dict[str, Any]:
    """Return the vehicle record as plain JSON."""
    plain: dict[str, Any] = to_builtins(record)
    return plain


# --- queries served by the API (see SPEC.queries) ------------------------------------------------


def query_vehicle(ctx: QueryContext, params: VehicleParams) -> VehicleView | None:
    """The vehicle's current record (None: no such vehicle)."""
    record = get_vehicle(ctx.state, params.vin.upper())
    if record is None:
        return None
    return VehicleView(**msgspec.structs.asdict(record), owners_count=len(record.owners))


def _signatory(ctx: QueryContext, public_key_hex: str) -> Signatory:
    standing = ctx.chain.resolve_key(bytes.fromhex(public_key_hex))
    if standing is None:
        return Signatory(public_key=public_key_hex)
    return Signatory(
        public_key=public_key_hex, org=standing.org, did=standing.did, roles=list(standing.roles)
    )


def refused_rollbacks(ctx: QueryContext, vin: str) -> list[RefusedRollback]:
    """The vehicle's refused odometer rollbacks up to the query's height, from the failed
    receipts kept on chain, with who tried."""
    attempts: list[RefusedRollback] = []
    for tx in ctx.chain.indexed_txs("vehicle", vin, failed_only=True, limit=100_000):
        receipt = tx.receipt
        if tx.height > ctx.height or receipt.codespace != VehiclesError.codespace:
            continue
        if receipt.code != int(VehiclesCode.ODOMETER_ROLLBACK):
            continue
        attempts.append(
            RefusedRollback(
                tx_hash=tx.hash,
                height=tx.height,
                time_ms=tx.time_ms,
                attempted_km=receipt.details.get("attempted_km"),
                last_km=receipt.details.get("last_km"),
                message=receipt.message,
                tried_by=[_signatory(ctx, signer) for signer in tx.signers],
            )
        )
    return attempts


def summary_line(flags: HistoryFlags) -> str:
    """The report's one-line summary: owners, accidents, odometer, theft, recalls, end."""
    owners = flags.owners_count
    accidents = flags.accidents.count
    parts = [f"{owners} owner{'s' if owners != 1 else ''}"]
    parts.append(f"{accidents} accident{'s' if accidents != 1 else ''}")
    rollbacks = flags.refused_odometer_rollbacks
    if rollbacks:
        parts.append(f"odometer rollback attempt refused ({len(rollbacks)}×)")
    else:
        parts.append("odometer consistent")
    if flags.stolen:
        parts.append("REPORTED STOLEN")
    if flags.open_recalls:
        parts.append(f"{len(flags.open_recalls)} open recall(s)")
    if flags.liens:
        holders = ", ".join(lien.holder for lien in flags.liens)
        parts.append(f"lien held by {holders}")
    if flags.scrapped:
        parts.append("scrapped")
    return " · ".join(parts)


def query_history(ctx: QueryContext, params: VehicleParams) -> HistoryReport | None:
    """The vehicle's history in order, with flags (refused rollbacks included), at the
    query's height; with a proof, the report is also a bundle proving it complete.

    The record is read at the query's height; its first ``event_count`` entries are read
    from the latest state: history entries are written once and never changed, so they
    are exactly the history at that height.

    Raises:
        RuntimeError: stored history is shorter than its record says (a storage fault).
    """
    vin = params.vin.upper()
    record = get_vehicle(ctx.state, vin)
    if record is None:
        return None
    raw_events = keeper.read_history_entries_raw(ctx.latest, vin, record.event_count)
    if len(raw_events) != record.event_count:
        raise RuntimeError(
            f"vehicle {vin} has {record.event_count} history entries in its record but "
            f"{len(raw_events)} in state"
        )
    entries = msgspec.json.decode(b"[" + b",".join(raw_events) + b"]", type=list[HistoryEntry])
    facts = summarize_history(record, entries)
    facts["accidents"] = AccidentSummary(**facts["accidents"])
    flags = HistoryFlags(
        **facts, refused_odometer_rollbacks=refused_rollbacks(ctx, vin), liens=list(record.liens)
    )
    events = [msgspec.Raw(e) for e in raw_events]
    bundle: dict[str, Any] = {}
    if ctx.prove:
        bundle = ctx.chain.bundle(
            "vehicle-history",
            vin=vin,
            record=ctx.chain.prove(vehicle_record_state_key(vin)),
        )
        bundle.pop("vin")
    return HistoryReport(
        vin=record.vin,
        did=record.did,
        make=record.make,
        model=record.model,
        model_year=record.model_year,
        summary=summary_line(flags),
        flags=flags,
        history_head=record.history_head,
        event_count=record.event_count,
        events=events,
        as_of_height=ctx.height,
        **bundle,
    )
