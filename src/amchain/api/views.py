"""Shapes of API answers built from stored data (kept apart from routing)."""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.ledger import StateReader
from amchain.modules import consortium, vehicles
from amchain.runtime import ModuleRegistry
from amchain.storage import BlockStore, StoredBlock, StoredTx


def block_json(block: StoredBlock) -> dict[str, Any]:
    return {
        "height": block.header.height,
        "hash": block.hash,
        "header": msgspec.to_builtins(block.header),
        "commit": msgspec.to_builtins(block.commit),
        "tx_hashes": block.tx_hashes,
    }


def tx_json(stored: StoredTx) -> dict[str, Any]:
    return {
        "status": "committed",
        "hash": stored.hash,
        "height": stored.height,
        "index": stored.index,
        "transaction": msgspec.json.decode(stored.tx),
        "receipt": msgspec.to_builtins(stored.receipt),
    }


def _who(registry: ModuleRegistry, state: StateReader, signer_hex: str) -> dict[str, Any]:
    standing = registry.resolve_key(state, bytes.fromhex(signer_hex))
    who: dict[str, Any] = {"public_key": signer_hex}
    if standing is not None:
        who.update({"org": standing.org, "did": standing.did, "roles": list(standing.roles)})
    return who


def refused_rollbacks(
    store: BlockStore, registry: ModuleRegistry, state: StateReader, vin: str
) -> list[dict[str, Any]]:
    """The vehicle's refused odometer rollbacks, from failed receipts kept on chain."""
    attempts = []
    for stored in store.indexed_txs("vehicle", vin, limit=100_000, failed_only=True):
        receipt = stored.receipt
        if receipt.codespace != vehicles.VehiclesError.codespace:
            continue
        if receipt.code != int(vehicles.VehiclesCode.ODOMETER_ROLLBACK):
            continue
        header = store.get_header(stored.height)
        tx = msgspec.json.decode(stored.tx)
        attempts.append(
            {
                "tx_hash": stored.hash,
                "height": stored.height,
                "time_ms": header.time_ms if header else None,
                "attempted_km": receipt.details.get("attempted_km"),
                "last_km": receipt.details.get("last_km"),
                "message": receipt.message,
                "tried_by": [_who(registry, state, s) for s in tx["body"]["signers"]],
            }
        )
    return attempts


def history_summary_line(flags: dict[str, Any], rollbacks: list[dict[str, Any]]) -> str:
    owners = int(flags.get("owners_count", 0))
    accidents = flags.get("accidents", 0)
    accident_count = accidents if isinstance(accidents, int) else int(accidents.get("count", 0))
    parts = [f"{owners} owner{'s' if owners != 1 else ''}"]
    parts.append(f"{accident_count} accident{'s' if accident_count != 1 else ''}")
    if rollbacks:
        parts.append(f"odometer rollback attempt refused ({len(rollbacks)}×)")
    else:
        parts.append("odometer consistent")
    if flags.get("stolen"):
        parts.append("REPORTED STOLEN")
    if flags.get("open_recalls"):
        parts.append(f"{len(flags['open_recalls'])} open recall(s)")
    if flags.get("scrapped"):
        parts.append("scrapped")
    return " · ".join(parts)


def organisations_json(state: StateReader) -> list[dict[str, Any]]:
    result = []
    for org in consortium.list_organisations(state):
        data: dict[str, Any] = msgspec.to_builtins(org)
        data["did"] = consortium.org_did(org.id)
        data["keys"] = [msgspec.to_builtins(k) for k in consortium.list_keys_of(state, org.id)]
        result.append(data)
    return result
