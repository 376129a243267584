"""Light client: check what a node says without trusting it, with no network access.

A :class:`LightClient` is configured with the consortium's peer keys and a quorum. It
accepts a state root, a block hash or a receipts root only when at least ``quorum`` distinct
trusted peers signed the same commit record; below that record it checks Merkle paths. A node
that drops, alters or reorders anything it serves makes verification fail with a
:class:`ProofError` that says what did not match::

    from amchain.sdk.light import LightClient, ProofError

    light = LightClient(trusted_peers=[peer_key_hex], quorum=1)
    try:
        result = light.verify_bundle(bundle)        # dict or JSON bytes from ?proof=true
    except ProofError as error:
        print(error.code, error)                    # e.g. 7: history is incomplete ...

Bundles (``"format": "amchain-proof/v1"``) come from ``?proof=true`` on
``GET /v1/state/{key}``, ``/v1/vehicles/{vin}/history``, ``/v1/dids/{did}`` and
``/v1/txs/{hash}``. Error codes (codespace ``proof``) are stable; see :class:`ProofCode`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import msgspec

from amchain.codec import DecodeError, convert, decode_json, encode_canonical
from amchain.ledger import (
    CommitCertificate,
    CommitRecord,
    StateEntry,
    TxInclusion,
    check_commit_signatures,
    compute_block_hash,
    compute_tx_hash,
    decode_transaction,
    encode_state_value,
    verify_merkle_proof,
    verify_state_proof,
)
from amchain.modules.identity.documents import document_from_record
from amchain.modules.identity.keys import did_record_state_key
from amchain.modules.identity.types import DidRecord
from amchain.modules.vehicles.history import compute_history_entry_hash
from amchain.modules.vehicles.keys import vehicle_record_state_key
from amchain.modules.vehicles.types import EMPTY_HISTORY_HEAD, HistoryEntry, VehicleRecord
from amchain.sdk._errors import AmchainError

__all__ = [
    "BUNDLE_FORMAT",
    "LightClient",
    "ProofCode",
    "ProofError",
    "VerifiedBundle",
    "check_history_chain",
]

BUNDLE_FORMAT = "amchain-proof/v1"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


class ProofCode(IntEnum):
    """Why a proof was refused (codespace ``proof``); numbers never change meaning."""

    MALFORMED = 1
    UNSUPPORTED_FORMAT = 2
    WRONG_CHAIN = 3
    NOT_ENOUGH_SIGNATURES = 4
    BAD_SIGNATURE = 5
    STATE_PROOF_INVALID = 6
    HISTORY_INCOMPLETE = 7
    HISTORY_ALTERED = 8
    HISTORY_OUT_OF_ORDER = 9
    WRONG_KEY = 10
    TX_PROOF_INVALID = 11
    RECEIPT_PROOF_INVALID = 12
    HEADER_MISMATCH = 13
    DOCUMENT_MISMATCH = 14
    HEIGHT_MISMATCH = 15


class ProofError(AmchainError):
    """A proof did not check out; ``code`` is a :class:`ProofCode`."""

    codespace = "proof"

    def __init__(self, code: ProofCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    """What a bundle proved: its kind, the certified record and the checked facts."""

    kind: str
    record: CommitRecord
    signers: list[str]
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)


class _Bundle(msgspec.Struct, frozen=True):
    format: str
    kind: str
    chain_id: str
    height: int
    certificate: CommitCertificate


class _StateBundle(_Bundle, frozen=True):
    entry: StateEntry


class _HistoryBundle(_Bundle, frozen=True):
    vin: str
    record: StateEntry
    events: list[dict[str, Any]]


class _DidBundle(_Bundle, frozen=True):
    did: str
    resolution: dict[str, Any]
    record: StateEntry


class _TxBundle(_Bundle, frozen=True):
    tx_hash: str
    inclusion: TxInclusion


_KINDS: dict[str, type[_Bundle]] = {
    "state": _StateBundle,
    "vehicle-history": _HistoryBundle,
    "did": _DidBundle,
    "tx": _TxBundle,
}


class LightClient:
    """Verifies proof bundles against trusted peer keys (see the module docstring)."""

    def __init__(
        self,
        *,
        trusted_peers: Sequence[str | bytes],
        quorum: int | None = None,
        chain_id: str | None = None,
    ) -> None:
        """Trust ``trusted_peers`` (Ed25519 public keys, bytes or hex); require ``quorum``
        of them (default: a majority) on a commit record; with ``chain_id``, accept only
        that chain's records.

        Raises:
            ValueError: no peers, a key that is not 32 bytes, or a quorum out of range.
        """
        peers: list[str] = []
        for key in trusted_peers:
            text = key.hex() if isinstance(key, bytes) else str(key).strip().lower()
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise ValueError(f"peer key {text[:20]!r} is not hex") from None
            if len(raw) != 32:
                raise ValueError(f"peer key {text[:20]}… is not a 32-byte Ed25519 key")
            if text not in peers:
                peers.append(text)
        if not peers:
            raise ValueError("a light client needs at least one trusted peer key")
        majority = len(peers) // 2 + 1
        self.quorum = majority if quorum is None else quorum
        if not 1 <= self.quorum <= len(peers):
            raise ValueError(f"quorum must be between 1 and {len(peers)}, got {self.quorum}")
        self.trusted_peers = peers
        self.chain_id = chain_id

    # -- the certificate -----------------------------------------------------------------
    def verify_certificate(self, certificate: CommitCertificate) -> list[str]:
        """Check a commit certificate; return the trusted peers whose signatures count.

        Raises:
            ProofError: WRONG_CHAIN, BAD_SIGNATURE (a trusted peer's signature does not
                match the record: forged or altered) or NOT_ENOUGH_SIGNATURES.
        """
        record = certificate.record
        if self.chain_id is not None and record.chain_id != self.chain_id:
            raise ProofError(
                ProofCode.WRONG_CHAIN,
                f"the commit record is for chain {record.chain_id!r}, not {self.chain_id!r}",
            )
        valid, invalid, untrusted = check_commit_signatures(certificate, self.trusted_peers)
        if invalid:
            raise ProofError(
                ProofCode.BAD_SIGNATURE,
                f"the commit signature of peer {invalid[0][:16]}… does not match the commit "
                f"record of height {record.height}: it is forged, or the record was altered",
            )
        if len(valid) < self.quorum:
            others = (
                f" (also signed by {len(untrusted)} key(s) you do not trust: "
                f"{', '.join(k[:16] + '…' for k in untrusted[:3])})"
                if untrusted
                else ""
            )
            raise ProofError(
                ProofCode.NOT_ENOUGH_SIGNATURES,
                f"the commit record of height {record.height} is signed by {len(valid)} "
                f"trusted peer(s); {self.quorum} are required{others}",
            )
        return valid

    # -- bundles -------------------------------------------------------------------------
    def verify_bundle(self, bundle: dict[str, Any] | bytes | str) -> VerifiedBundle:
        """Verify any proof bundle (or an API answer carrying one under ``"proof"``).

        Raises:
            ProofError: what did not check out (see :class:`ProofCode`).
        """
        data = _parse(bundle)
        if "format" not in data and isinstance(data.get("proof"), dict):
            data = data["proof"]
        if data.get("format") != BUNDLE_FORMAT:
            raise ProofError(
                ProofCode.UNSUPPORTED_FORMAT,
                f"not an {BUNDLE_FORMAT} proof bundle (format is {data.get('format')!r})",
            )
        kind = data.get("kind")
        bundle_type = _KINDS.get(kind) if isinstance(kind, str) else None
        if bundle_type is None:
            raise ProofError(ProofCode.UNSUPPORTED_FORMAT, f"unknown proof kind {kind!r}")
        try:
            typed = convert(data, bundle_type, what="proof bundle")
        except DecodeError as error:
            raise ProofError(ProofCode.MALFORMED, f"malformed {kind} bundle: {error}") from None
        signers = self._check_bundle_header(typed)
        if isinstance(typed, _StateBundle):
            return self._verify_state(typed, signers)
        if isinstance(typed, _HistoryBundle):
            return self._verify_history(typed, signers)
        if isinstance(typed, _DidBundle):
            return self._verify_did(typed, signers)
        assert isinstance(typed, _TxBundle)
        return self._verify_tx(typed, signers)

    def _check_bundle_header(self, bundle: _Bundle) -> list[str]:
        record = bundle.certificate.record
        if bundle.chain_id != record.chain_id:
            raise ProofError(
                ProofCode.WRONG_CHAIN, "the bundle's chain id differs from its commit record's"
            )
        if bundle.height != record.height:
            raise ProofError(
                ProofCode.HEIGHT_MISMATCH,
                f"the bundle claims height {bundle.height}, its commit record is for "
                f"height {record.height}",
            )
        return self.verify_certificate(bundle.certificate)

    def _check_entry(self, entry: StateEntry, record: CommitRecord, what: str) -> bytes | None:
        try:
            value = encode_state_value(entry.value)
        except Exception:
            raise ProofError(ProofCode.MALFORMED, f"{what}: the value is not JSON") from None
        if not verify_state_proof(bytes.fromhex(record.state_root), entry.key, value, entry.proof):
            claim = "is absent" if value is None else "holds this value"
            raise ProofError(
                ProofCode.STATE_PROOF_INVALID,
                f"{what}: the proof does not show that {entry.key!r} {claim} under the "
                f"certified state root of height {record.height} (value or proof altered)",
            )
        return value

    def _verify_state(self, bundle: _StateBundle, signers: list[str]) -> VerifiedBundle:
        record = bundle.certificate.record
        value = self._check_entry(bundle.entry, record, "state entry")
        state = "absent" if value is None else f"{len(value)} bytes"
        return VerifiedBundle(
            "state",
            record,
            signers,
            f"state {bundle.entry.key!r} at height {record.height}: {state}",
            {"key": bundle.entry.key, "value": bundle.entry.value},
        )

    def _verify_history(self, bundle: _HistoryBundle, signers: list[str]) -> VerifiedBundle:
        record = bundle.certificate.record
        vin = bundle.vin
        if bundle.record.key != vehicle_record_state_key(vin):
            raise ProofError(
                ProofCode.WRONG_KEY,
                f"the bundle proves {bundle.record.key!r}, not the record of vehicle {vin}",
            )
        if self._check_entry(bundle.record, record, f"vehicle {vin}") is None:
            raise ProofError(
                ProofCode.STATE_PROOF_INVALID,
                f"vehicle {vin} is not registered at height {record.height}",
            )
        try:
            vehicle = convert(bundle.record.value, VehicleRecord, what="vehicle record")
            entries = [convert(e, HistoryEntry, what="history entry") for e in bundle.events]
        except DecodeError as error:
            raise ProofError(ProofCode.MALFORMED, f"malformed history: {error}") from None
        check_history_chain(entries, vehicle, raw_events=bundle.events)
        return VerifiedBundle(
            "vehicle-history",
            record,
            signers,
            f"vehicle {vin}: {len(entries)} events, complete and in order, certified at "
            f"height {record.height}",
            {"vin": vin, "event_count": len(entries), "history_head": vehicle.history_head},
        )

    def _verify_did(self, bundle: _DidBundle, signers: list[str]) -> VerifiedBundle:
        record = bundle.certificate.record
        if bundle.record.key != did_record_state_key(bundle.did):
            raise ProofError(
                ProofCode.WRONG_KEY,
                f"the bundle proves {bundle.record.key!r}, not the record of {bundle.did}",
            )
        if self._check_entry(bundle.record, record, bundle.did) is None:
            raise ProofError(
                ProofCode.STATE_PROOF_INVALID, f"{bundle.did} is not stored at that height"
            )
        try:
            did_record = convert(bundle.record.value, DidRecord, what="DID record")
        except DecodeError as error:
            raise ProofError(ProofCode.MALFORMED, f"malformed DID record: {error}") from None
        rebuilt = document_from_record(did_record)
        if encode_canonical(rebuilt) != encode_canonical(bundle.resolution):
            raise ProofError(
                ProofCode.DOCUMENT_MISMATCH,
                f"the DID document served for {bundle.did} is not the one its proven record gives",
            )
        return VerifiedBundle(
            "did",
            record,
            signers,
            f"{bundle.did}: document matches its proven record at height {record.height}",
            {"did": bundle.did, "document": rebuilt["didDocument"]},
        )

    def _verify_tx(self, bundle: _TxBundle, signers: list[str]) -> VerifiedBundle:
        record = bundle.certificate.record
        inc = bundle.inclusion
        if compute_block_hash(inc.header).hex() != record.block_hash:
            raise ProofError(
                ProofCode.HEADER_MISMATCH,
                f"the block header does not hash to the certified block of height {record.height}",
            )
        try:
            tx = decode_transaction(inc.tx)
        except Exception as error:
            raise ProofError(ProofCode.MALFORMED, f"malformed transaction: {error}") from None
        if tx.hash_hex != bundle.tx_hash or compute_tx_hash(tx.body).hex() != bundle.tx_hash:
            raise ProofError(
                ProofCode.TX_PROOF_INVALID,
                f"the transaction's content does not hash to {bundle.tx_hash[:16]}…",
            )
        size = inc.header.tx_count
        tx_path = _hashes(inc.tx_path, "tx_path")
        if not verify_merkle_proof(
            tx.canonical, inc.index, size, tx_path, bytes.fromhex(inc.header.tx_root)
        ):
            raise ProofError(
                ProofCode.TX_PROOF_INVALID,
                f"transaction {bundle.tx_hash[:16]}… is not at index {inc.index} of block "
                f"{record.height}",
            )
        receipt_path = _hashes(inc.receipt_path, "receipt_path")
        receipts = size if inc.receipt_count is None else inc.receipt_count
        if (inc.receipt.tx_hash != bundle.tx_hash or receipts < size) or not verify_merkle_proof(
            encode_canonical(inc.receipt),
            inc.index,
            receipts,
            receipt_path,
            bytes.fromhex(record.receipts_root),
        ):
            raise ProofError(
                ProofCode.RECEIPT_PROOF_INVALID,
                f"the receipt (outcome and events) of {bundle.tx_hash[:16]}… is not the one "
                f"certified for block {record.height}",
            )
        outcome = "ok" if inc.receipt.ok else f"refused {inc.receipt.codespace}/{inc.receipt.code}"
        return VerifiedBundle(
            "tx",
            record,
            signers,
            f"transaction {bundle.tx_hash[:16]}… in block {record.height} at index "
            f"{inc.index}: {outcome}, {len(inc.receipt.events)} event(s)",
            {"tx_hash": bundle.tx_hash, "ok": inc.receipt.ok, "height": record.height},
        )


def check_history_chain(
    entries: list[HistoryEntry],
    vehicle: VehicleRecord,
    *,
    raw_events: list[dict[str, Any]] | None = None,
) -> None:
    """Check that ``entries`` are exactly the vehicle's complete history, in order.

    With ``raw_events`` (the entries as received), hashes are computed over exactly what was
    received, so a field added to an entry is caught too.

    Raises:
        ProofError: HISTORY_INCOMPLETE (fewer or more entries than the proven record
            counts), HISTORY_OUT_OF_ORDER (seqs or links out of order) or HISTORY_ALTERED (an
            entry whose content no longer matches its hash, or a chain that does not end at
            the proven head).
    """
    vin = vehicle.vin
    if len(entries) != vehicle.event_count:
        raise ProofError(
            ProofCode.HISTORY_INCOMPLETE,
            f"history of {vin} is incomplete: the bundle has {len(entries)} events but the "
            f"certified vehicle record counts {vehicle.event_count}",
        )
    prev = EMPTY_HISTORY_HEAD
    for index, entry in enumerate(entries):
        if entry.seq != index or entry.prev_hash != prev:
            raise ProofError(
                ProofCode.HISTORY_OUT_OF_ORDER,
                f"history of {vin}: event {index} (seq {entry.seq}, {entry.type}) does not "
                "follow the event before it: events were removed, inserted or reordered",
            )
        hashed = entry if raw_events is None else raw_events[index]
        if compute_history_entry_hash(hashed) != entry.entry_hash:
            raise ProofError(
                ProofCode.HISTORY_ALTERED,
                f"history of {vin}: event {entry.seq} ({entry.type}) was altered: its content "
                "does not match its hash",
            )
        prev = entry.entry_hash
    if prev != vehicle.history_head:
        raise ProofError(
            ProofCode.HISTORY_ALTERED,
            f"history of {vin} does not end at the certified head "
            f"{vehicle.history_head[:16]}…: events were altered or replaced",
        )


def _hashes(values: list[str], what: str) -> list[bytes]:
    try:
        out = [bytes.fromhex(v) for v in values]
    except ValueError:
        raise ProofError(ProofCode.MALFORMED, f"{what} holds something that is not hex") from None
    if any(len(h) != 32 for h in out):
        raise ProofError(ProofCode.MALFORMED, f"{what} holds a hash that is not 32 bytes")
    return out


def _parse(bundle: dict[str, Any] | bytes | str) -> dict[str, Any]:
    if isinstance(bundle, dict):
        return bundle
    raw = bundle.encode() if isinstance(bundle, str) else bundle
    try:
        data = decode_json(raw, max_bytes=MAX_BUNDLE_BYTES)
    except DecodeError as error:
        raise ProofError(ProofCode.MALFORMED, f"the bundle is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ProofError(ProofCode.MALFORMED, "a proof bundle is a JSON object")
    return data
