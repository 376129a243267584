"""The car's side of delegated access: the on-board unit's agent.

The agent holds the vehicle's key and a cached **snapshot** of the chain state it needs —
the vehicle record (current owner, ownership epoch), its registered grants, the owner's and
grantees' DID records, the status-list chunks of those grants, its access-log head — taken
at one height, with the commit record signed by the node that served it. It refreshes the
snapshot whenever it has a connection and decides on access **offline**:

1. the car sends a challenge (a fresh nonce, the action asked for, its DID as the domain);
2. the grantee returns a presentation signed over that nonce, with the grant attached;
3. :meth:`VehicleAgent.decide` checks freshness of the snapshot, the presentation's and the
   grant's signatures, that the grant names this car and this holder, comes from the current
   owner in the current ownership epoch, is registered on chain, is neither revoked nor
   suspended, is inside its time window, covers the action and has uses left — and answers
   allow or deny with a stable reason.

Every decision is appended to a local log and uploaded (signed by the vehicle's key) on the
next refresh; the chain counts the uses.

**Proofs.** A snapshot is served with a commit certificate and an inclusion (or
non-inclusion) proof per entry; the car accepts it only with ``quorum`` signatures of the
consortium peer keys it was provisioned with (:func:`verify_snapshot`), and
:func:`verify_snapshot_entry` is the one place where an entry is checked against the
certified state root. A node can therefore neither hide a revocation nor forge an owner.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec

from amchain.codec import encode_canonical
from amchain.crypto import KeyPair, encode_multikey, sha256
from amchain.ledger import (
    BlockHeader,
    CommitCertificate,
    StateEntry,
    check_commit_signatures,
    compute_block_hash,
    encode_state_value,
    verify_state_proof,
)
from amchain.modules.consortium.keys import key_record_state_key
from amchain.modules.consortium.types import KeyRecord
from amchain.modules.credentials.keys import (
    access_log_head_key,
    chunk_key,
    did_record_key,
    grant_key,
    vehicle_record_key,
)
from amchain.modules.credentials.types import AccessLogHead, GrantRecord
from amchain.modules.identity.documents import document_from_record
from amchain.modules.identity.types import DidRecord
from amchain.modules.vehicles.types import VehicleRecord
from amchain.sdk._builder import build_tx
from amchain.sdk._errors import AmchainError
from amchain.sdk.credentials import now_ms
from amchain.vc import (
    ACCESS_GRANT,
    VcError,
    VcReason,
    chunk_position,
    credential_issuer,
    credential_status_refs,
    parse_list_url,
    read_bit,
    verify_presentation,
    verify_proof,
)

__all__ = [
    "DEFAULT_MAX_SNAPSHOT_AGE_MS",
    "Challenge",
    "Decision",
    "DenyReason",
    "Snapshot",
    "SnapshotError",
    "VehicleAgent",
    "verify_snapshot",
    "verify_snapshot_entry",
]

DEFAULT_MAX_SNAPSHOT_AGE_MS = 24 * 3_600_000
CHALLENGE_TTL_MS = 60_000
MAX_OPEN_CHALLENGES = 64


class DenyReason(StrEnum):
    """Why the car said no (stable: they reach the access log and the user's screen)."""

    OK = "ok"
    BAD_CHALLENGE = "bad_challenge"
    STALE = "stale"
    MALFORMED = "malformed"
    SIGNATURE = "signature"
    NO_GRANT = "no_grant"
    WRONG_VEHICLE = "wrong_vehicle"
    NOT_GRANTEE = "not_grantee"
    OWNER = "owner"
    UNKNOWN_GRANT = "unknown_grant"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    WINDOW = "window"
    SCOPE = "scope"
    USED_UP = "used_up"


class SnapshotError(AmchainError):
    """A snapshot the agent must not trust (bad signature, wrong vehicle, unproven entries)."""


# --- the snapshot ----------------------------------------------------------------------------

SNAPSHOT_FORMAT = "amchain-agent-snapshot/v1"


class _SnapshotWire(msgspec.Struct, frozen=True):
    format: str
    vin: str
    chain_id: str
    height: int
    header: BlockHeader
    certificate: CommitCertificate
    entries: list[StateEntry]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Proven chain state the car caches: decoded values by key, at one certified height.

    ``raw`` is the snapshot as the node served it (entries with their proofs), kept so the
    car can re-check it after a restart.
    """

    vin: str
    chain_id: str
    height: int
    time_ms: int
    state_root: str
    signers: tuple[str, ...]
    values: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    def value(self, key: str) -> Any:
        return self.values.get(key)

    def has(self, key: str) -> bool:
        return key in self.values


def verify_snapshot_entry(state_root: bytes, entry: StateEntry) -> None:
    """Check one snapshot entry: its value (or absence) is proven under ``state_root``.

    This is the one function that ties a cached value to the certified state.

    Raises:
        SnapshotError: the proof does not show that value (or absence) for that key.
    """
    try:
        value = encode_state_value(entry.value)
    except Exception:
        raise SnapshotError(
            f"snapshot entry {entry.key!r} holds a value that is not JSON"
        ) from None
    if not verify_state_proof(state_root, entry.key, value, entry.proof):
        raise SnapshotError(
            f"snapshot entry {entry.key!r}: the proof does not match the certified state root "
            "(value or proof altered)"
        )


def verify_snapshot(
    data: Mapping[str, Any],
    *,
    vin: str,
    trusted_peer_keys: Sequence[str | bytes],
    quorum: int = 1,
    chain_id: str | None = None,
) -> Snapshot:
    """Check a snapshot served by a node before the car relies on it.

    The commit certificate needs ``quorum`` valid signatures of ``trusted_peer_keys``; the
    block header must hash to the certified block (its time dates the snapshot); every
    entry's proof must check out under the certified state root.

    Raises:
        SnapshotError: malformed, another vehicle or chain, too few or bad signatures, a
            header that is not the certified one, or an entry whose proof fails.
    """
    try:
        wire = msgspec.convert(data, _SnapshotWire)
    except msgspec.ValidationError as exc:
        raise SnapshotError(f"malformed snapshot: {exc}") from None
    record = wire.certificate.record
    if wire.format != SNAPSHOT_FORMAT:
        raise SnapshotError(f"not an {SNAPSHOT_FORMAT} snapshot")
    if wire.vin != vin:
        raise SnapshotError(f"snapshot is for {wire.vin}, not {vin}")
    if chain_id is not None and record.chain_id != chain_id:
        raise SnapshotError(f"snapshot is from chain {record.chain_id}, not {chain_id}")
    if record.chain_id != wire.chain_id or record.height != wire.height:
        raise SnapshotError("snapshot commit record is for another height or chain")
    peers = [k.hex() if isinstance(k, bytes) else str(k).lower() for k in trusted_peer_keys]
    valid, invalid, _ = check_commit_signatures(wire.certificate, peers)
    if invalid:
        raise SnapshotError("a trusted peer's signature on the snapshot's commit is forged")
    if len(valid) < quorum:
        raise SnapshotError(
            f"the snapshot's commit is signed by {len(valid)} trusted peer(s); {quorum} needed"
        )
    if compute_block_hash(wire.header).hex() != record.block_hash:
        raise SnapshotError("the snapshot's block header is not the certified block")
    root = bytes.fromhex(record.state_root)
    for entry in wire.entries:
        verify_snapshot_entry(root, entry)
    return Snapshot(
        vin=wire.vin,
        chain_id=wire.chain_id,
        height=wire.height,
        time_ms=wire.header.time_ms,
        state_root=record.state_root,
        signers=tuple(valid),
        values={e.key: e.value for e in wire.entries},
        raw=dict(data),
    )


# --- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    """What the car sends first: a fresh nonce bound to an action and to the car."""

    nonce: str
    action: str
    domain: str
    expires_at_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "challenge",
            "nonce": self.nonce,
            "action": self.action,
            "domain": self.domain,
            "expires_at_ms": self.expires_at_ms,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The car's answer, with the reason (``ok`` when allowed)."""

    allowed: bool
    reason: DenyReason
    message: str
    action: str
    nonce: str
    grant_id: str | None = None
    grantee: str | None = None
    decided_at_ms: int = 0
    snapshot_height: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "decision",
            "allowed": self.allowed,
            "reason": self.reason.value,
            "message": self.message,
            "action": self.action,
            "nonce": self.nonce,
            "grant_id": self.grant_id,
            "grantee": self.grantee,
            "decided_at_ms": self.decided_at_ms,
            "snapshot_height": self.snapshot_height,
        }


class _Deny(Exception):
    def __init__(self, reason: DenyReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class _LocalLog:
    """Decisions since the snapshot's access-log head, not all uploaded yet."""

    entries: list[dict[str, Any]] = field(default_factory=list)


class VehicleAgent:
    """The on-board unit: vehicle key, cached snapshot, offline decisions, access log.

    ``clock`` returns the car's time in ms (injectable: a car's RTC; tests); ``state_path``
    keeps the snapshot, the open challenges and the unsent log across restarts.
    """

    def __init__(
        self,
        vin: str,
        key: KeyPair,
        *,
        max_snapshot_age_ms: int = DEFAULT_MAX_SNAPSHOT_AGE_MS,
        trusted_peer_keys: Sequence[str | bytes],
        quorum: int = 1,
        clock: Callable[[], int] = now_ms,
        state_path: Path | None = None,
    ) -> None:
        self.vin = vin
        self.did = "did:amc:vin:" + vin
        self.key = key
        self.max_snapshot_age_ms = max_snapshot_age_ms
        self.trusted_peer_keys = [
            k.hex() if isinstance(k, bytes) else str(k).lower() for k in trusted_peer_keys
        ]
        if not 1 <= quorum <= len(self.trusted_peer_keys):
            raise ValueError("the car needs trusted peer keys and a quorum among them")
        self.quorum = quorum
        self.clock = clock
        self.state_path = state_path
        self.snapshot: Snapshot | None = None
        self._challenges: dict[str, Challenge] = {}
        self._log = _LocalLog()
        self._log_base = 0  # access-log count the snapshot knows
        if state_path is not None and state_path.exists():
            self._load(state_path)

    # -- persistence ---------------------------------------------------------------------
    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        if data.get("snapshot"):
            self.snapshot = self._verify(data["snapshot"])
        self._challenges = {
            c["nonce"]: Challenge(c["nonce"], c["action"], c["domain"], c["expires_at_ms"])
            for c in data.get("challenges", [])
        }
        self._log = _LocalLog(list(data.get("log", [])))
        self._log_base = int(data.get("log_base", 0))

    def save(self) -> None:
        """Write the agent's state to ``state_path`` (atomically)."""
        if self.state_path is None:
            return
        data = {
            "vin": self.vin,
            "snapshot": None if self.snapshot is None else self.snapshot.raw,
            "challenges": [c.to_json() for c in self._challenges.values()],
            "log": self._log.entries,
            "log_base": self._log_base,
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.state_path)

    # -- snapshot ------------------------------------------------------------------------
    def _verify(self, data: Mapping[str, Any]) -> Snapshot:
        return verify_snapshot(
            data, vin=self.vin, trusted_peer_keys=self.trusted_peer_keys, quorum=self.quorum
        )

    def install_snapshot(self, data: Mapping[str, Any]) -> Snapshot:
        """Check and cache a snapshot; keep local log entries the chain does not have yet.

        Raises:
            SnapshotError: see :func:`verify_snapshot`.
        """
        snapshot = self._verify(data)
        if self.snapshot is not None and snapshot.height < self.snapshot.height:
            raise SnapshotError(
                f"snapshot of height {snapshot.height} is older than the cached one "
                f"({self.snapshot.height})"
            )
        head = snapshot.value(access_log_head_key(self.vin))
        base = 0 if head is None else msgspec.convert(head, AccessLogHead).count
        self._log.entries = [e for e in self._log.entries if e["seq"] >= base]
        self._log_base = base
        self.snapshot = snapshot
        return snapshot

    @property
    def pending_log(self) -> list[dict[str, Any]]:
        """Decisions made since the snapshot's log head (to upload with :meth:`log_tx`)."""
        return list(self._log.entries)

    def log_tx_args(self) -> dict[str, Any] | None:
        """Arguments of the ``credentials.log_access`` transaction for the pending log."""
        if not self._log.entries:
            return None
        return {"vin": self.vin, "entries": self._log.entries[:64]}

    def refresh(self, client: Any) -> Snapshot:
        """Online: upload the pending log (signed by the vehicle key), then take a snapshot.

        ``client`` is an :class:`amchain.sdk.Client`.
        """
        args = self.log_tx_args()
        if args is not None:
            tx = build_tx(
                chain_id=client.chain_id(),
                signers=self.key,
                module="credentials",
                message="log_access",
                args=args,
            )
            client.submit(tx, wait="commit")
        return self.install_snapshot(client.credentials.snapshot(self.vin))

    # -- challenge / response --------------------------------------------------------------
    def challenge(self, action: str) -> Challenge:
        """A fresh single-use nonce for ``action``, valid for a minute."""
        now = self.clock()
        self._challenges = {n: c for n, c in self._challenges.items() if c.expires_at_ms >= now}
        while len(self._challenges) >= MAX_OPEN_CHALLENGES:
            self._challenges.pop(next(iter(self._challenges)))
        nonce = secrets.token_hex(16)
        challenge = Challenge(nonce, action, self.did, now + CHALLENGE_TTL_MS)
        self._challenges[nonce] = challenge
        return challenge

    def decide(self, presentation: Mapping[str, Any]) -> Decision:
        """Decide on a presentation answering one of this car's challenges, offline; log it."""
        now = self.clock()
        proof = presentation.get("proof") if isinstance(presentation, Mapping) else None
        nonce = str(proof.get("challenge", "")) if isinstance(proof, Mapping) else ""
        challenge = self._challenges.pop(nonce, None)
        action = challenge.action if challenge is not None else "unknown"
        grant_id: str | None = None
        grantee: str | None = None
        try:
            if challenge is None or challenge.expires_at_ms < now:
                raise _Deny(DenyReason.BAD_CHALLENGE, "the presentation answers no open challenge")
            snapshot = self._fresh_snapshot(now)
            grant = self._grant_of(presentation)
            grant_id = str(grant.get("id"))
            self._check_owner(snapshot, grant)
            grantee = self._verified_holder(snapshot, presentation, nonce, grant)
            self._check_grant(snapshot, grant, grant_id, action, now)
            decision = Decision(True, DenyReason.OK, f"{action} allowed", action, nonce)
        except _Deny as deny:
            decision = Decision(False, deny.reason, deny.message, action, nonce)
        decision = Decision(
            allowed=decision.allowed,
            reason=decision.reason,
            message=decision.message,
            action=action,
            nonce=nonce if len(nonce) >= 16 else secrets.token_hex(16),
            grant_id=grant_id,
            grantee=grantee,
            decided_at_ms=now,
            snapshot_height=None if self.snapshot is None else self.snapshot.height,
        )
        self._record(decision)
        return decision

    # -- the checks, in order ----------------------------------------------------------------
    def _fresh_snapshot(self, now: int) -> Snapshot:
        snapshot = self.snapshot
        if snapshot is None:
            raise _Deny(DenyReason.STALE, "the car has no snapshot of the chain yet")
        age = now - snapshot.time_ms
        if age > self.max_snapshot_age_ms:
            hours = age / 3_600_000
            raise _Deny(
                DenyReason.STALE,
                f"the car's snapshot is {hours:.1f} h old (limit "
                f"{self.max_snapshot_age_ms / 3_600_000:g} h); it must reach the chain first",
            )
        return snapshot

    def _loader(self, snapshot: Snapshot) -> Callable[[str], Mapping[str, Any] | None]:
        def load(did: str) -> Mapping[str, Any] | None:
            if did.startswith("did:amc:org:"):
                return self._org_document(snapshot, did)
            value = snapshot.value(did_record_key(did))
            if value is None:
                return None
            resolved = document_from_record(msgspec.convert(value, DidRecord))
            document: Mapping[str, Any] = resolved["didDocument"]
            return document

        return load

    def _org_document(self, snapshot: Snapshot, did: str) -> Mapping[str, Any] | None:
        org = did[len("did:amc:org:") :]
        methods = []
        prefix = key_record_state_key("")
        for key, value in snapshot.values.items():
            if not key.startswith(prefix) or value is None:
                continue
            record = msgspec.convert(value, KeyRecord)
            if record.org == org and record.status == "active":
                multikey = encode_multikey(bytes.fromhex(record.public_key))
                methods.append(
                    {
                        "id": f"{did}#{multikey}",
                        "type": "Multikey",
                        "controller": did,
                        "publicKeyMultibase": multikey,
                    }
                )
        ids = [m["id"] for m in methods]
        return {
            "id": did,
            "verificationMethod": methods,
            "authentication": ids,
            "assertionMethod": ids,
        }

    def _grant_of(self, presentation: Mapping[str, Any]) -> Mapping[str, Any]:
        """The grant the presentation carries (its proofs are checked later)."""
        raw = presentation.get("verifiableCredential", [])
        credentials = raw if isinstance(raw, list) else [raw]
        grants = [
            c
            for c in credentials
            if isinstance(c, Mapping)
            and isinstance(c.get("type"), list)
            and ACCESS_GRANT in c["type"]
        ]
        if not grants:
            raise _Deny(DenyReason.NO_GRANT, "the presentation carries no VehicleAccessGrant")
        if not isinstance(grants[0].get("credentialSubject"), Mapping):
            raise _Deny(DenyReason.MALFORMED, "the grant has no credentialSubject")
        return grants[0]

    def _check_owner(self, snapshot: Snapshot, grant: Mapping[str, Any]) -> None:
        """The grant must name this car, its current owner and ownership epoch (a denial on
        unverified claims is safe: it can only refuse)."""
        subject: Mapping[str, Any] = grant["credentialSubject"]
        if subject.get("vin") != self.vin or subject.get("vehicle") != self.did:
            raise _Deny(DenyReason.WRONG_VEHICLE, f"the grant is for {subject.get('vin')}")
        raw_vehicle = snapshot.value(vehicle_record_key(self.vin))
        if raw_vehicle is None:
            raise _Deny(DenyReason.OWNER, "the snapshot holds no record of this vehicle")
        vehicle = msgspec.convert(raw_vehicle, VehicleRecord)
        issuer = credential_issuer(grant)
        if issuer != vehicle.owner or subject.get("ownerEpoch") != len(vehicle.owners):
            raise _Deny(
                DenyReason.OWNER,
                f"the grant was issued by {issuer} for ownership epoch "
                f"{subject.get('ownerEpoch')}; the car is owned by {vehicle.owner} "
                f"(epoch {len(vehicle.owners)})",
            )

    def _verified_holder(
        self,
        snapshot: Snapshot,
        presentation: Mapping[str, Any],
        nonce: str,
        grant: Mapping[str, Any],
    ) -> str:
        """Verify the presentation over the challenge; its holder must be the grantee."""
        grantee = grant["credentialSubject"].get("id")
        if presentation.get("holder") != grantee:
            raise _Deny(
                DenyReason.NOT_GRANTEE,
                f"the grant is for {grantee}, not for the presenter {presentation.get('holder')}",
            )
        try:
            proof, _ = verify_presentation(
                presentation, load=self._loader(snapshot), challenge=nonce, domain=self.did
            )
        except VcError as exc:
            reason = (
                DenyReason.MALFORMED if exc.reason == VcReason.MALFORMED else (DenyReason.SIGNATURE)
            )
            raise _Deny(reason, f"presentation refused: {exc.message}") from None
        holder = proof.verification_method.split("#", 1)[0]
        if grant["credentialSubject"].get("id") != holder:
            raise _Deny(
                DenyReason.NOT_GRANTEE,
                f"the grant is for {grant['credentialSubject'].get('id')}, not for the "
                f"presenter {holder}",
            )
        return holder

    def _check_grant(
        self, snapshot: Snapshot, grant: Mapping[str, Any], grant_id: str, action: str, now: int
    ) -> None:
        issuer = credential_issuer(grant)
        try:
            grant_proof = verify_proof(
                grant, load=self._loader(snapshot), expected_purpose="assertionMethod"
            )
        except VcError as exc:
            raise _Deny(DenyReason.SIGNATURE, f"the grant's proof: {exc.message}") from None
        if grant_proof.verification_method.split("#", 1)[0] != issuer:
            raise _Deny(DenyReason.SIGNATURE, "the grant is not signed by its issuer")
        raw_grant = snapshot.value(grant_key(self.vin, grant_id))
        if raw_grant is None:
            raise _Deny(
                DenyReason.UNKNOWN_GRANT,
                "the grant is not registered on chain (as of the car's last refresh)",
            )
        record = msgspec.convert(raw_grant, GrantRecord)
        if record.digest != sha256(encode_canonical(dict(grant))).hex():
            raise _Deny(DenyReason.UNKNOWN_GRANT, "the grant differs from the one on chain")
        self._check_status(snapshot, grant)
        start, end = record.valid_from_ms, record.valid_until_ms
        if not start <= now <= end:
            raise _Deny(
                DenyReason.WINDOW,
                "the grant is not valid now (valid "
                f"{grant.get('validFrom')} to {grant.get('validUntil')})",
            )
        if action not in record.scopes:
            raise _Deny(
                DenyReason.SCOPE,
                f"the grant allows {', '.join(record.scopes)}, not {action}",
            )
        if record.max_uses is not None:
            local = sum(
                1 for e in self._log.entries if e["allowed"] and e.get("grant_id") == grant_id
            )
            if record.uses + local >= record.max_uses:
                raise _Deny(DenyReason.USED_UP, f"the grant's {record.max_uses} uses are used up")

    def _check_status(self, snapshot: Snapshot, grant: Mapping[str, Any]) -> None:
        try:
            refs = credential_status_refs(grant)
        except VcError as exc:
            raise _Deny(DenyReason.MALFORMED, exc.message) from None
        for purpose, url, index in refs:
            issuer, name = parse_list_url(url)
            chunk, offset = chunk_position(index)
            key = chunk_key(issuer, name, chunk)
            if not snapshot.has(key):
                raise _Deny(
                    DenyReason.UNKNOWN_GRANT,
                    f"the car's snapshot does not hold the {purpose} status of this grant",
                )
            stored = snapshot.value(key)
            data = b"" if stored is None else base64.b64decode(str(stored))
            if read_bit(data, offset):
                reason = DenyReason.REVOKED if purpose == "revocation" else DenyReason.SUSPENDED
                raise _Deny(reason, f"the grant is {reason.value} (status list {url})")

    # -- the log -------------------------------------------------------------------------------
    def _record(self, decision: Decision) -> None:
        seq = self._log_base + len(self._log.entries)
        self._log.entries.append(
            {
                "seq": seq,
                "nonce": decision.nonce,
                "action": decision.action
                if decision.action.replace("_", "").isalpha()
                else "unknown",
                "allowed": decision.allowed,
                "reason": decision.reason.value,
                "decided_at_ms": decision.decided_at_ms,
                "grant_id": decision.grant_id,
                "grantee": decision.grantee,
            }
        )
