"""etcd ordering: an etcd cluster (Raft) orders blocks for a consortium of peers.

Keys under ``/amchain/<chain id>/``:

| key | value |
|---|---|
| ``blocks/<height, 12 digits>`` | a block: header and signed transactions, zlib-compressed |
| ``commits/<height>/<peer key hex>`` | a peer's signed commit record for that height |
| ``cutter`` | the current block cutter (JSON: name, url, key), attached to its lease |

**Cutting.** Peers admit client transactions and pass them to the current cutter (over its
HTTP API), keeping each until it is committed or expires, and passing it again if it is not
committed in time (a cutter that died loses nothing a peer admitted). The cutter is
elected with a lease (``create_revision == 0`` on ``cutter``), but the lease is never
trusted for exclusivity: block ``N`` is appended with a transaction guarded by
``create_revision == 0`` on ``blocks/N``, so a height is written exactly once even if two
cutters race. A cutter that loses such a race (or just won an election) re-synchronises:
it waits until its own peer has applied every block in etcd, so it never orders a
transaction twice, then cuts on top of the latest block.

**Peers.** Every peer (the cutter too) reads blocks from etcd in height order: a watch for
new ones, range reads to fill gaps, and the block source of the node (other peers' APIs)
when etcd no longer holds a height. Duplicates (a height already applied) are ignored.

**Retention.** etcd is not the archive: the cutter deletes block and commit keys more than
``keep_blocks`` below the quorum-final height and compacts etcd's history.

This module orders; it does not execute. The node supplies a :class:`PeerHooks` (apply a
block, read the head, fetch from other peers, hear about finality) — see
``amchain.node.peer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import msgspec

from amchain.codec import encode_canonical
from amchain.consensus.etcdv3 import (
    Compare,
    EtcdClient,
    EtcdCompacted,
    EtcdUnavailable,
    KeyValue,
    prefix_end,
    put_op,
)
from amchain.consensus.solo import MempoolFull
from amchain.ledger import (
    BlockHeader,
    SignedCommit,
    Transaction,
    TxError,
    compute_block_hash,
    decode_transaction_bytes,
    make_block_header,
    validate_transaction_window,
    verify_transaction_signatures,
)

log = logging.getLogger(__name__)

HEIGHT_DIGITS = 12
PAUSE_S = 5.0  # a wait for a block event that overran this much means the process was paused
ETCD_REQUEST_LIMIT = 1536 * 1024  # etcd's default --max-request-bytes (1.5 MiB)
BLOCK_VALUE_LIMIT = 16 * 1024 * 1024  # the most a block value in etcd may inflate to
# A peer catching up (further behind than this) commits up to this many blocks that are
# final already with one COMMIT (see EtcdOrderer._apply_in_writes).
BLOCKS_PER_WRITE = 16
CATCH_UP_READ_BLOCKS = 4 * BLOCKS_PER_WRITE  # blocks per range read (values ≤ 1.5 MiB each)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- blocks on the wire ---------------------------------------------------------------------


class _BlockWire(msgspec.Struct, forbid_unknown_fields=True):
    header: BlockHeader
    txs: list[msgspec.Raw]


@dataclass(frozen=True, slots=True)
class OrderedBlock:
    """A block as the ordering service carries it: header and signed transactions."""

    header: BlockHeader
    txs: list[Transaction]
    hash: str
    verified: frozenset[bytes] = frozenset()
    """Hashes of transactions whose signatures this peer already checked (at admission)."""

    @property
    def height(self) -> int:
        return self.header.height


class BlockDecodeError(ValueError):
    """Bytes that are not a well-formed block (a peer refusing them halts)."""


def encode_block(header: BlockHeader, signed_txs: Iterable[bytes]) -> bytes:
    """Canonical bytes of a block: ``{"header": …, "txs": [signed tx, …]}``.

    Each transaction is given as its canonical signed bytes (its Merkle leaf), so peers
    re-derive every hash from these bytes.
    """
    return b'{"header":' + encode_canonical(header) + b',"txs":[' + b",".join(signed_txs) + b"]}"


def decode_block(
    data: bytes, admitted: Callable[[bytes], Transaction | None] | None = None
) -> OrderedBlock:
    """Strictly decode a block; every transaction is re-decoded from its bytes.

    ``admitted(signed_bytes)`` may return a transaction this peer itself admitted with
    exactly these canonical bytes: it is reused as is (decoded, hashed and its signatures
    checked at admission), and marked in :attr:`OrderedBlock.verified`.

    Raises:
        BlockDecodeError: not a block, or a transaction that does not decode.
    """
    try:
        wire = msgspec.json.decode(data, type=_BlockWire)
        txs: list[Transaction] = []
        verified: set[bytes] = set()
        for raw in wire.txs:
            signed = bytes(raw)
            known = admitted(signed) if admitted is not None else None
            if known is not None and known.canonical == signed:
                txs.append(known)
                verified.add(known.hash)
            else:
                txs.append(decode_transaction_bytes(signed))
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise BlockDecodeError(f"undecodable block: {exc}") from None
    except TxError as exc:
        raise BlockDecodeError(f"block holds an undecodable transaction: {exc.message}") from None
    return OrderedBlock(
        wire.header, txs, compute_block_hash(wire.header).hex(), frozenset(verified)
    )


def pack_block_value(block: bytes) -> bytes:
    """The value a cutter stores in etcd for a block: its canonical bytes, zlib-compressed
    (level 1). etcd's JSON gateway moves every value base64-encoded, once for the put and
    once per watching peer; compressed, a block is about a third of the bytes. The block
    hash is over the header and every transaction is re-hashed from its bytes, so the
    compression is not part of what peers verify."""
    return zlib.compress(block, 1)


def unpack_block_value(value: bytes) -> bytes:
    """The canonical bytes of a block stored in etcd: a zlib-compressed block (what
    :func:`pack_block_value` writes) or, as before compression, the block itself (``{``).

    Raises:
        BlockDecodeError: empty, neither, a truncated stream, or more than ``BLOCK_VALUE_LIMIT``
            bytes once inflated.
    """
    if value[:1] == b"{":
        return value
    if not value:
        raise BlockDecodeError("block value is empty")
    inflater = zlib.decompressobj()
    try:
        block = inflater.decompress(value, BLOCK_VALUE_LIMIT)
    except zlib.error as exc:
        raise BlockDecodeError(
            f"block value is neither a block nor a zlib-compressed block: {exc}"
        ) from None
    if inflater.unconsumed_tail:
        raise BlockDecodeError(f"block value inflates to more than {BLOCK_VALUE_LIMIT} bytes")
    if not inflater.eof or inflater.unused_data:
        raise BlockDecodeError("block value is a truncated or padded zlib stream")
    return block


# -- keys -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterKeys:
    """The etcd key layout of one chain."""

    prefix: bytes

    @classmethod
    def for_chain(cls, chain_id: str) -> ClusterKeys:
        return cls(f"/amchain/{chain_id}/".encode())

    @property
    def blocks(self) -> bytes:
        return self.prefix + b"blocks/"

    @property
    def commits(self) -> bytes:
        return self.prefix + b"commits/"

    @property
    def cutter(self) -> bytes:
        return self.prefix + b"cutter"

    def block(self, height: int) -> bytes:
        return self.blocks + str(height).zfill(HEIGHT_DIGITS).encode()

    def commit(self, height: int, signer_hex: str) -> bytes:
        return self.commits + str(height).zfill(HEIGHT_DIGITS).encode() + b"/" + signer_hex.encode()

    def commits_of(self, height: int) -> bytes:
        return self.commits + str(height).zfill(HEIGHT_DIGITS).encode() + b"/"

    def height_of(self, key: bytes) -> int:
        """The height named by a ``blocks/`` or ``commits/`` key."""
        rest = key[len(self.blocks) :] if key.startswith(self.blocks) else key[len(self.commits) :]
        return int(rest[:HEIGHT_DIGITS])


# -- what the node provides -----------------------------------------------------------------


class PeerHooks(Protocol):
    """What the ordering adapter needs from the peer it serves."""

    def applied(self) -> tuple[int, str, int]:
        """(height, hash, time_ms) of the last block this peer committed."""
        ...

    def committed_among(self, tx_hashes: list[bytes]) -> set[bytes]:
        """Those of ``tx_hashes`` that are in blocks this peer committed."""
        ...

    def halted(self) -> str | None:
        """Why this peer stopped, or None while it runs."""
        ...

    def halt(self, reason: str) -> None:
        """Stop this peer: it serves no reads or writes and says ``reason``."""
        ...

    async def apply(self, blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]]) -> None:
        """Validate, execute and commit the next blocks, in height order, each with the
        quorum certificate it came with, if any (halting the peer at an invalid one)."""
        ...

    async def fetch(self, height: int, count: int) -> list[tuple[OrderedBlock, list[SignedCommit]]]:
        """Blocks from ``height`` on, with quorum certificates, from other peers."""
        ...

    def on_commit_record(self, commit: SignedCommit) -> None:
        """A peer's signed commit record arrived."""
        ...

    def final_height(self) -> int:
        """The highest height known to be final (signed by a quorum)."""
        ...

    def dropped(self, tx_hash: bytes, error: TxError) -> None:
        """A waiting transaction will never be ordered (expired)."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class EtcdOrderingConfig:
    endpoints: list[str]
    name: str
    url: str
    node_key_hex: str
    max_block_txs: int = 2000
    max_block_bytes: int = 1024 * 1024
    max_block_wait_ms: int = 50
    max_pending: int = 50_000
    lease_ttl_s: int = 3
    keep_blocks: int = 200
    compact_every: int = 50
    max_blocks_ahead: int = 4
    forward_interval_ms: int = 10
    resend_after_ms: int = 3000
    etcd_timeout_s: float = 1.5

    def __post_init__(self) -> None:
        if self.max_block_bytes > ETCD_REQUEST_LIMIT - 64 * 1024:
            raise ValueError(
                f"max_block_bytes {self.max_block_bytes} is too close to etcd's request "
                f"limit of {ETCD_REQUEST_LIMIT} bytes"
            )


@dataclass(slots=True)
class _Waiting:
    tx: Transaction
    sent_to: str = ""
    sent_at: float = 0.0


@dataclass(slots=True)
class CutterInfo:
    name: str = ""
    url: str = ""
    key: str = ""


class EtcdOrderer:
    """The etcd ordering adapter of one peer: mempool, forwarding, election, cutting,
    block intake and commit-record exchange. Same interface as the solo orderer towards
    the node (``add``, ``knows``, ``len``, ``run``, ``stop``)."""

    def __init__(self, config: EtcdOrderingConfig, *, chain_id: str, hooks: PeerHooks) -> None:
        self.config = config
        self.chain_id = chain_id
        self.hooks = hooks
        self.keys = ClusterKeys.for_chain(chain_id)
        self.etcd = EtcdClient(config.endpoints, timeout_s=config.etcd_timeout_s)
        self._http = httpx.AsyncClient(timeout=5)
        self._pending: OrderedDict[bytes, _Waiting] = OrderedDict()
        self._by_bytes: dict[bytes, Transaction] = {}  # admitted here, by canonical bytes
        self._ordered: dict[bytes, int] = {}  # tx hash -> height of a block not yet applied
        self._arrived = asyncio.Event()
        self._fresh = asyncio.Event()  # new transactions to pass to the cutter
        self._fresh_hashes: list[bytes] = []
        self._applied_event = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[Any]] = []
        self.is_cutter = False
        self.cutter = CutterInfo()
        self._lease = 0
        self._last_keepalive = 0.0
        self._cutter_revision = 0  # mod revision of the cutter key another peer holds
        self._cut_head: tuple[int, str, int] | None = None
        self.latest_seen = -1  # highest block height seen in etcd
        self.etcd_ok = True
        self.etcd_error = ""
        self._compacted_below = 0
        self._compaction: asyncio.Task[None] | None = None
        self._publish: asyncio.Queue[SignedCommit] = asyncio.Queue()
        self._prepare_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare")
        self._prepared: dict[tuple[int, int], asyncio.Future[OrderedBlock]] = {}
        self.blocks_cut = 0
        self.duplicates_ignored = 0
        self._resumed_at = 0.0  # loop time when a pause of this process was noticed
        self.races_lost = 0

    # -- the node-facing interface ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self._pending)

    def knows(self, tx_hash: bytes) -> bool:
        return tx_hash in self._pending or tx_hash in self._ordered

    def add(self, tx: Transaction) -> bool:
        """Queue an admitted transaction; False if it is already waiting or ordered.

        Raises:
            MempoolFull: ``max_pending`` transactions are waiting.
        """
        if self.knows(tx.hash):
            return False
        if len(self._pending) >= self.config.max_pending:
            raise MempoolFull(f"{len(self._pending)} transactions are waiting; retry shortly")
        self._pending[tx.hash] = _Waiting(tx)
        self._by_bytes[tx.canonical] = tx
        self._fresh_hashes.append(tx.hash)
        self._fresh.set()
        self._arrived.set()
        return True

    def unavailable_reason(self) -> str | None:
        """Why submissions should be refused now (etcd unreachable or without quorum)."""
        if not self.etcd_ok:
            return (
                "the ordering service (etcd) has no quorum or cannot be reached; "
                f"retry when it is back ({self.etcd_error[:300]})"
            )
        return None

    async def run(self) -> None:
        """Run every loop until :meth:`stop`."""
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("health", self._health_loop),
            ("election", self._election_loop),
            ("cutter", self._cutter_loop),
            ("forwarder", self._forward_loop),
            ("blocks", self._block_loop),
            ("commits", self._commit_loop),
            ("publisher", self._publish_loop),
        ]
        self._tasks = [asyncio.create_task(self._guard(n, f), name=f"etcd-{n}") for n, f in loops]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks)

    async def _guard(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run a loop; restart it after an unexpected error (logged), until stopping."""
        while not self._stopping:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("etcd %s loop failed; restarting it", name)
                await asyncio.sleep(0.5)

    def stop(self) -> None:
        self._stopping = True
        self._arrived.set()
        for task in self._tasks:
            task.cancel()

    async def aclose(self) -> None:
        """Give up the cutter role and close connections (after :meth:`stop`)."""
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.resign()
        await self.etcd.aclose()
        await self._http.aclose()
        self._prepare_pool.shutdown(wait=True, cancel_futures=True)

    async def resign(self) -> None:
        """Stop cutting and release the cutter key so another peer takes over at once."""
        was = self.is_cutter
        self.is_cutter = False
        self._cut_head = None
        if self._lease and was:
            with contextlib.suppress(Exception):
                await self.etcd.revoke_lease(self._lease)
        self._lease = 0

    # -- hearing about applied blocks ------------------------------------------------------
    def block_applied(self, block: OrderedBlock) -> None:
        """The node committed ``block``: its transactions stop waiting."""
        for tx in block.txs:
            self._pending.pop(tx.hash, None)
            self._ordered.pop(tx.hash, None)
            self._by_bytes.pop(tx.canonical, None)
        self._applied_event.set()

    def publish(self, commit: SignedCommit) -> None:
        """Publish this peer's signed commit record (asynchronously)."""
        self._publish.put_nowait(commit)

    # -- health ----------------------------------------------------------------------------
    def _mark_etcd(self, ok: bool, error: str = "") -> None:
        if ok:
            if not self.etcd_ok:
                log.warning("etcd is reachable again")
            self.etcd_ok = True
            self.etcd_error = ""
            return
        self.etcd_error = error
        if self.etcd_ok:
            log.warning("etcd unavailable: %s", error)
        self.etcd_ok = False

    async def _health_loop(self) -> None:
        """A linearizable read every 0.5 s; a failure marks ordering unavailable at once."""
        while not self._stopping:
            if time.monotonic() - self.etcd.last_ok < 0.5 and self.etcd_ok:
                await self._sleep_noting_pauses(0.5)  # another call just proved etcd answers
                continue
            try:
                await self.etcd.range(self.keys.cutter, count_only=True, timeout_s=1.0)
                self._mark_etcd(True)
            except (EtcdUnavailable, RuntimeError) as exc:
                self._mark_etcd(False, str(exc))
            await self._sleep_noting_pauses(0.5)

    async def _sleep_noting_pauses(self, seconds: float) -> None:
        """Sleep; if the sleep overran by more than PAUSE_S, the process was paused."""
        loop = asyncio.get_running_loop()
        before = loop.time()
        await asyncio.sleep(seconds)
        if loop.time() - before > seconds + PAUSE_S:
            log.warning("this process was paused for %.0f s", loop.time() - before)
            self._resumed_at = loop.time()

    # -- election --------------------------------------------------------------------------
    def _me(self) -> bytes:
        return json.dumps(
            {"name": self.config.name, "url": self.config.url, "key": self.config.node_key_hex},
            separators=(",", ":"),
        ).encode()

    async def _election_loop(self) -> None:
        ttl = self.config.lease_ttl_s
        while not self._stopping:
            if self.hooks.halted() is not None:
                await self.resign()
                await asyncio.sleep(1)
                continue
            try:
                if not self.is_cutter:
                    await self._campaign()
                else:
                    remaining = await self.etcd.keep_alive(self._lease)
                    self._mark_etcd(True)
                    if remaining <= 0:
                        log.warning("cutter lease expired; no longer cutting")
                        self.is_cutter = False
                        self._cut_head = None
                        self._lease = 0
                    else:
                        self._last_keepalive = time.monotonic()
            except (EtcdUnavailable, RuntimeError) as exc:
                self._mark_etcd(False, str(exc))
                if self.is_cutter and time.monotonic() - self._last_keepalive > ttl / 2:
                    # Not trusted for exclusivity anyway, but a cutter that cannot reach etcd
                    # steps down before its lease can have expired.
                    log.warning("cutter lost etcd for %.1f s; stepping down", ttl / 2)
                    self.is_cutter = False
                    self._cut_head = None
                    self._lease = 0
            if self.is_cutter:
                await asyncio.sleep(ttl / 3)
            elif self._cutter_revision:
                await self._await_vacancy(self._cutter_revision)
            else:
                await asyncio.sleep(0.3)

    async def _await_vacancy(self, revision: int) -> None:
        """Wait (a watch, not polling) until the cutter key changes, or 5 s at most."""

        async def watch() -> None:
            async for events in self.etcd.watch(
                self.keys.cutter, None, start_revision=revision + 1
            ):
                if events:
                    return

        started = time.monotonic()
        with contextlib.suppress(TimeoutError, EtcdUnavailable, EtcdCompacted, httpx.HTTPError):
            await asyncio.wait_for(watch(), 5.0)
        self._cutter_revision = 0
        if time.monotonic() - started < 0.3:
            await asyncio.sleep(0.3)  # the watch broke at once: do not spin

    async def _campaign(self) -> None:
        self._cutter_revision = 0
        current = await self.etcd.get(self.keys.cutter)
        if current is not None:
            self._cutter_revision = current.mod_revision
            info = json.loads(current.value)
            if info.get("key") != self.cutter.key:
                self.cutter = CutterInfo(info.get("name", ""), info.get("url", ""), info["key"])
            # Our own key (we stepped down while etcd was unreachable, or restarted): take
            # the role back if its lease still lives. Safe, since heights are written with
            # create_revision == 0 whoever cuts.
            own = info.get("key") == self.config.node_key_hex and current.lease
            if own and await self.etcd.keep_alive(current.lease) > 0:
                self._become_cutter(current.lease)
            return
        lease = await self.etcd.grant_lease(self.config.lease_ttl_s)
        won, _, _ = await self.etcd.txn(
            [Compare(self.keys.cutter, "CREATE", 0)],
            [put_op(self.keys.cutter, self._me(), lease=lease)],
        )
        if not won:
            with contextlib.suppress(Exception):
                await self.etcd.revoke_lease(lease)
            return
        self._become_cutter(lease)

    def _become_cutter(self, lease: int) -> None:
        self._lease = lease
        self._last_keepalive = time.monotonic()
        self.is_cutter = True
        self._cut_head = None  # re-synchronise before the first cut
        self.cutter = CutterInfo(self.config.name, self.config.url, self.config.node_key_hex)
        log.info("%s is the block cutter now", self.config.name)
        self._arrived.set()

    # -- forwarding (peers that are not the cutter) ----------------------------------------
    async def _forward_loop(self) -> None:
        """Pass new transactions to the cutter as they arrive (batched over
        ``forward_interval_ms``); once a second, pass again whatever the cutter has not
        committed within ``resend_after_ms`` (it may have died) and drop expired ones."""
        interval = self.config.forward_interval_ms / 1000
        resend = self.config.resend_after_ms / 1000
        last_sweep = 0.0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._fresh.wait(), 0.5)
            self._fresh.clear()
            await asyncio.sleep(interval)  # let a batch gather
            now = time.monotonic()
            sweep = now - last_sweep > 1.0
            if sweep:
                last_sweep = now
                self._drop_expired()
            fresh, self._fresh_hashes = self._fresh_hashes, []
            if self.is_cutter or not self._pending or not self.cutter.url:
                continue
            if self.cutter.key == self.config.node_key_hex:
                continue  # our own stale key: wait for the next election
            target = self.cutter.url
            if sweep:
                batch = [
                    w
                    for w in self._pending.values()
                    if w.sent_to != target or now - w.sent_at > resend
                ]
            else:
                waiting = (self._pending.get(h) for h in fresh)
                batch = [w for w in waiting if w is not None and w.sent_to != target]
            for start in range(0, len(batch), 2000):
                if not await self._send(target, batch[start : start + 2000], now):
                    await asyncio.sleep(0.2)
                    break

    async def _send(self, target: str, batch: list[_Waiting], now: float) -> bool:
        body = b'{"txs":[' + b",".join(w.tx.canonical for w in batch) + b"]}"
        try:
            response = await self._http.post(
                f"{target}/v1/cluster/txs",
                content=body,
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            log.debug("forwarding to %s failed: %s", target, exc)
            return False
        if response.status_code != 202:
            log.debug("cutter %s answered %s", target, response.status_code)
            return False
        for w in batch:
            w.sent_to = target
            w.sent_at = now
        return True

    def _drop_expired(self) -> None:
        now = now_ms()
        expired = [h for h, w in self._pending.items() if w.tx.body.expires_at_ms <= now]
        for tx_hash in expired:
            waiting = self._pending.pop(tx_hash)
            self._by_bytes.pop(waiting.tx.canonical, None)
            try:
                validate_transaction_window(waiting.tx, chain_id=self.chain_id, now_ms=now)
            except TxError as error:
                self.hooks.dropped(tx_hash, error)

    # -- cutting (the elected cutter) ------------------------------------------------------
    async def _resync(self) -> bool:
        """Wait until this peer applied every block in etcd; then cut on top of it."""
        latest = await self._latest_height()
        while self.hooks.applied()[0] < latest and not self._stopping:
            if self.hooks.halted() is not None or not self.is_cutter:
                return False
            self._applied_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._applied_event.wait(), 0.5)
        self._cut_head = self.hooks.applied()
        return True

    async def _latest_height(self) -> int:
        kvs, _ = await self.etcd.range(
            self.keys.blocks, prefix_end(self.keys.blocks), limit=1, descending=True, keys_only=True
        )
        if not kvs:
            return self.hooks.applied()[0] if self.latest_seen < 0 else self.latest_seen
        height = self.keys.height_of(kvs[0].key)
        self.latest_seen = max(self.latest_seen, height)
        return height

    def _take(self, block_time_ms: int) -> list[Transaction]:
        candidates: list[Transaction] = []
        expired: list[bytes] = []
        for tx_hash, waiting in self._pending.items():
            if len(candidates) >= self.config.max_block_txs:
                break
            if tx_hash in self._ordered:
                continue
            tx = waiting.tx
            try:
                # Exactly the check every peer makes at the block's time.
                validate_transaction_window(tx, chain_id=self.chain_id, now_ms=block_time_ms)
            except TxError as error:
                expired.append(tx_hash)
                self.hooks.dropped(tx_hash, error)
                continue
            candidates.append(tx)
        # One query for the block: a transaction already in a block (passed again by a peer
        # that had not heard of its commit yet) is forgotten quietly; the block is smaller.
        committed = self.hooks.committed_among([tx.hash for tx in candidates])
        batch: list[Transaction] = []
        size = 0
        for tx in candidates:
            if tx.hash in committed:
                expired.append(tx.hash)
                continue
            if batch and size + len(tx.canonical) + 1 > self.config.max_block_bytes - 4096:
                break
            batch.append(tx)
            size += len(tx.canonical) + 1
        for tx_hash in expired:
            gone = self._pending.pop(tx_hash, None)
            if gone is not None:
                self._by_bytes.pop(gone.tx.canonical, None)
        return batch

    def _ready(self) -> bool:
        if not self._pending:
            return False
        if len(self._pending) - len(self._ordered) >= self.config.max_block_txs:
            return True
        return any(h not in self._ordered for h in self._pending)

    async def _cutter_loop(self) -> None:
        wait_s = self.config.max_block_wait_ms / 1000
        while not self._stopping:
            if not self.is_cutter or self.hooks.halted() is not None:
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), 0.5)
                continue
            if self._cut_head is None:
                try:
                    if not await self._resync():
                        continue
                except (EtcdUnavailable, RuntimeError) as exc:
                    self._mark_etcd(False, str(exc))
                    await asyncio.sleep(0.3)
                    continue
            assert self._cut_head is not None
            # Back-pressure: never run more than max_blocks_ahead blocks ahead of our peer.
            if self._cut_head[0] - self.hooks.applied()[0] >= self.config.max_blocks_ahead:
                self._applied_event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._applied_event.wait(), 0.5)
                continue
            if not self._ready():
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), 0.5)
                continue
            # Let a block fill for up to max_block_wait_ms.
            deadline = time.monotonic() + wait_s
            while (
                len(self._pending) - len(self._ordered) < self.config.max_block_txs
                and time.monotonic() < deadline
                and not self._stopping
            ):
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            await self._cut_one()

    async def _cut_one(self) -> None:
        assert self._cut_head is not None
        height, prev_hash, prev_time = self._cut_head
        block_time = max(now_ms(), prev_time)
        txs = self._take(block_time)
        if not txs:
            return
        header = make_block_header(
            chain_id=self.chain_id,
            height=height + 1,
            prev_hash=prev_hash,
            time_ms=block_time,
            txs=txs,
            proposer=bytes.fromhex(self.config.node_key_hex),
        )
        data = pack_block_value(encode_block(header, (tx.canonical for tx in txs)))
        key = self.keys.block(header.height)
        try:
            won, revision, _ = await self.etcd.txn([Compare(key, "CREATE", 0)], [put_op(key, data)])
        except (EtcdUnavailable, RuntimeError) as exc:
            # Unknown outcome: re-synchronise from etcd before cutting again.
            self._mark_etcd(False, str(exc))
            self._cut_head = None
            await asyncio.sleep(0.2)
            return
        if not won:
            self.races_lost += 1
            log.warning("height %d was already written by another cutter; resyncing", height + 1)
            self._cut_head = None
            return
        self._mark_etcd(True)
        block_hash = compute_block_hash(header).hex()
        for tx in txs:
            self._ordered[tx.hash] = header.height
        self._cut_head = (header.height, block_hash, block_time)
        self.latest_seen = max(self.latest_seen, header.height)
        self.blocks_cut += 1
        if header.height % self.config.compact_every == 0:
            self._compaction = asyncio.create_task(self._compact(revision))

    async def _compact(self, revision: int) -> None:
        """Delete block and commit keys below ``final − keep_blocks``; compact history."""
        floor = self.hooks.final_height() - self.config.keep_blocks
        if floor <= self._compacted_below:
            return
        try:
            await self.etcd.delete_range(self.keys.blocks, self.keys.block(floor))
            await self.etcd.delete_range(self.keys.commits, self.keys.commits_of(floor))
            _, current = await self.etcd.range(self.keys.cutter, count_only=True)
            await self.etcd.compact(current)
            self._compacted_below = floor
            log.info("etcd: removed blocks below %d, compacted at revision %d", floor, current)
        except (EtcdUnavailable, RuntimeError) as exc:
            log.warning("etcd compaction failed: %s", exc)

    # -- block intake (every peer) ---------------------------------------------------------
    async def _block_loop(self) -> None:
        """Apply blocks in height order: range reads to catch up, then a watch."""
        while not self._stopping:
            if self.hooks.halted() is not None:
                await asyncio.sleep(1)
                continue
            try:
                revision = await self._catch_up()
                await self._follow(revision)
            except (EtcdUnavailable, EtcdCompacted) as exc:
                log.info("block intake: %s; catching up again", exc)
                await asyncio.sleep(0.3)

    async def _catch_up(self) -> int:
        """Apply every block etcd (or, below its history, another peer) holds; return the
        etcd revision to watch from.

        Blocks are read ``CATCH_UP_READ_BLOCKS`` at a time; while one read's blocks are
        applied, the next read is under way and its first blocks are prepared, so the block
        writer does not stop between reads.
        """
        ahead: asyncio.Task[tuple[list[KeyValue], int]] | None = None
        ahead_from = 0  # the height the read ahead starts at
        try:
            while not self._stopping and self.hooks.halted() is None:
                applied = self.hooks.applied()[0]
                kvs: list[KeyValue] = []
                if ahead is not None:
                    task, ahead = ahead, None
                    if ahead_from == applied + 1:
                        kvs, revision = await task
                        if not kvs:
                            return revision  # nothing after this peer's head: watch
                    else:  # read for a head this peer did not reach: read again
                        task.cancel()
                        with contextlib.suppress(BaseException):
                            await task
                if not kvs:
                    kvs, revision = await self._read_blocks(applied + 1)
                if not kvs:
                    return revision
                self.latest_seen = max(self.latest_seen, self.keys.height_of(kvs[-1].key))
                first = self.keys.height_of(kvs[0].key)
                if first > applied + 1:
                    await self._fetch_from_peers(applied + 1, first - applied - 1)
                    continue
                if len(kvs) == CATCH_UP_READ_BLOCKS:  # more may follow
                    ahead_from = self.keys.height_of(kvs[-1].key) + 1
                    ahead = asyncio.create_task(self._read_blocks(ahead_from))
                await self._offer_in_writes(kvs, ahead)
            return 0
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    await ahead

    async def _read_blocks(self, height: int) -> tuple[list[KeyValue], int]:
        """Up to ``CATCH_UP_READ_BLOCKS`` blocks from ``height`` on, and etcd's revision."""
        return await self.etcd.range(
            self.keys.block(height), prefix_end(self.keys.blocks), limit=CATCH_UP_READ_BLOCKS
        )

    async def _fetch_from_peers(self, height: int, count: int) -> None:
        blocks = await self.hooks.fetch(height, min(count, 64))
        if not blocks:
            await asyncio.sleep(0.5)
            return
        # The blocks that follow on from this peer's head, in order.
        run: list[tuple[OrderedBlock, list[SignedCommit] | None]] = []
        for block, certificate in blocks:
            if block.height != height + len(run):
                break
            run.append((block, certificate))
        await self._apply_in_writes(run)

    async def _apply_in_writes(
        self, blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]]
    ) -> None:
        """Have the peer apply consecutive ``blocks``: while it is more than
        ``BLOCKS_PER_WRITE`` blocks behind the network and they are final already, up to
        that many to one write; otherwise one block to a write.

        A final block is one a quorum of other peers signed, so this peer's commit record
        cannot make it final any sooner, and a peer that far behind is catching up: one
        COMMIT for many blocks gets it back faster. A peer a few blocks behind writes each
        block alone, so that neither its record nor its clients' answers wait for the blocks
        after it.
        """
        start = 0
        while start < len(blocks) and self.hooks.halted() is None:
            final = self.hooks.final_height()
            end = start + 1
            # How far the network is ahead: the highest block read from etcd, or the final
            # height the other peers' records show (a read of etcd may not reach the head).
            behind = max(self.latest_seen, final) - self.hooks.applied()[0]
            if behind > BLOCKS_PER_WRITE and _is_final(blocks[start], final):
                while (
                    end < len(blocks)
                    and end - start < BLOCKS_PER_WRITE
                    and _is_final(blocks[end], final)
                ):
                    end += 1
            await self.hooks.apply(blocks[start:end])
            start = end

    async def _offer_in_writes(
        self,
        kvs: list[KeyValue],
        ahead: asyncio.Task[tuple[list[KeyValue], int]] | None = None,
    ) -> bool:
        """Offer ``kvs`` a write's worth at a time, preparing the next write's blocks while
        one is applied (past the end of ``kvs``, the first of the read ``ahead`` once it
        has arrived). Returns False where :meth:`_offer` does."""
        for start in range(0, len(kvs), BLOCKS_PER_WRITE):
            window = kvs[start : start + 2 * BLOCKS_PER_WRITE]
            if len(window) < 2 * BLOCKS_PER_WRITE and _succeeded(ahead):
                assert ahead is not None
                window += ahead.result()[0][: 2 * BLOCKS_PER_WRITE - len(window)]
            for kv in window:
                self._prefetch(kv)
            if not await self._offer(kvs[start : start + BLOCKS_PER_WRITE]):
                return False
        return True

    async def _offer(self, kvs: list[KeyValue]) -> bool:
        """Hand block events to the node: ignore old heights, apply the next ones, as many
        to a write as are prepared already (the block writer does not wait for a whole
        write's worth while the first are ready). Returns False at a gap (the caller catches
        up first) or a halt."""
        applied = self.hooks.applied()[0]
        for stale in [k for k in self._prepared if k[0] <= applied]:
            self._prepared.pop(stale).cancel()
        next_height = applied + 1
        blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]] = []
        for kv in kvs:
            height = self.keys.height_of(kv.key)
            self.latest_seen = max(self.latest_seen, height)
            if height < next_height:
                self.duplicates_ignored += 1
                log.info(
                    "ignoring a block event for height %d (already at %d)", height, next_height - 1
                )
                continue
            if height > next_height:
                break  # a gap: apply what follows on, then catch up
            future = self._prepared.pop((height, kv.mod_revision), None)
            if future is None:
                future = self._start_prepare(kv)
            if blocks and not future.done():
                await self._apply_in_writes(blocks)  # while this one is being prepared
                blocks = []
                if self.hooks.halted() is not None:
                    return False
            try:
                blocks.append((await future, None))
            except BlockDecodeError as exc:
                await self._apply_in_writes(blocks)
                self.hooks.halt(f"block {height} in etcd is invalid: {exc}")
                return False
            next_height += 1
        else:
            await self._apply_in_writes(blocks)
            return self.hooks.halted() is None
        await self._apply_in_writes(blocks)
        return False

    def _prepare(self, data: bytes) -> OrderedBlock:
        """Decode a block and check its signatures (worker thread: decoding re-hashes every
        transaction, and the event loop serves the API). A signature that does not verify
        is left unmarked: the peer checks it again and halts with the reason."""
        block = decode_block(unpack_block_value(data), self._by_bytes.get)
        verified = set(block.verified)
        for tx in block.txs:
            if tx.hash not in verified:
                with contextlib.suppress(TxError):
                    verify_transaction_signatures(tx)
                    verified.add(tx.hash)
        return dataclasses.replace(block, verified=frozenset(verified))

    def _start_prepare(self, kv: KeyValue) -> asyncio.Future[OrderedBlock]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._prepare_pool, self._prepare, kv.value)

    def _prefetch(self, kv: KeyValue) -> None:
        """Start preparing a block that will be applied soon (while the ones before it
        execute), at most two writes' worth ahead."""
        height = self.keys.height_of(kv.key)
        if height <= self.hooks.applied()[0] or len(self._prepared) >= 2 * BLOCKS_PER_WRITE:
            return
        key = (height, kv.mod_revision)
        if key not in self._prepared:
            self._prepared[key] = self._start_prepare(kv)

    async def _follow(self, revision: int) -> None:
        """Watch for new blocks from ``revision``; return to catch up on a gap or silence."""
        if revision == 0:
            return
        queue: asyncio.Queue[list[KeyValue] | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for events in self.etcd.watch(
                    self.keys.blocks, prefix_end(self.keys.blocks), start_revision=revision + 1
                ):
                    await queue.put([e.kv for e in events if not e.deleted])
            except (EtcdUnavailable, EtcdCompacted) as exc:
                log.info("block watch ended: %s", exc)
            except httpx.HTTPError as exc:
                log.info("block watch broke: %s", exc)
            finally:
                await queue.put(None)

        task = asyncio.create_task(pump())
        following_since = asyncio.get_running_loop().time()
        try:
            while not self._stopping and self.hooks.halted() is None:
                try:
                    kvs = await asyncio.wait_for(queue.get(), 2.0)
                except TimeoutError:
                    return  # quiet for 2 s: look again with a range read
                if kvs is None:
                    return
                if self._resumed_at > following_since:
                    # This process was paused (SIGSTOP, a suspended VM): what the stream
                    # buffered meanwhile may be cut short or cancelled by etcd. Start over
                    # from a range read (and other peers, below etcd's history).
                    log.warning("resumed after a pause; re-reading blocks")
                    return
                ended = False
                while not queue.empty():  # a backlog (after a pause): prepare ahead
                    more = queue.get_nowait()
                    if more is None:
                        ended = True
                        break
                    kvs.extend(more)
                if not await self._offer_in_writes(kvs):
                    return
                if ended:
                    return
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- commit records --------------------------------------------------------------------
    async def _publish_loop(self) -> None:
        while not self._stopping:
            commit = await self._publish.get()
            batch = [commit]
            while not self._publish.empty() and len(batch) < 64:
                batch.append(self._publish.get_nowait())
            ops = [
                put_op(
                    self.keys.commit(c.record.height, c.signer),
                    encode_canonical(c),
                )
                for c in batch
            ]
            while not self._stopping:
                try:
                    await self.etcd.txn([], ops)
                    break
                except (EtcdUnavailable, RuntimeError) as exc:
                    self._mark_etcd(False, str(exc))
                    await asyncio.sleep(0.3)

    async def _commit_loop(self) -> None:
        while not self._stopping:
            try:
                start = max(self.hooks.final_height() + 1, 0)
                kvs, revision = await self.etcd.range(
                    self.keys.commits_of(start), prefix_end(self.keys.commits)
                )
                for kv in kvs:
                    self._commit_event(kv)

                async def follow(revision: int = revision) -> None:
                    async for events in self.etcd.watch(
                        self.keys.commits, prefix_end(self.keys.commits), start_revision=revision
                    ):
                        for event in events:
                            if not event.deleted:
                                self._commit_event(event.kv)

                # Re-read at least every 10 s: a member that lost quorum keeps a watch open
                # but silent.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(follow(revision + 1), 10.0)
                await asyncio.sleep(0.05)  # a watch that ended at once must not spin
            except (EtcdUnavailable, EtcdCompacted, httpx.HTTPError) as exc:
                log.info("commit watch: %s", exc)
                await asyncio.sleep(0.3)

    def _commit_event(self, kv: KeyValue) -> None:
        try:
            commit = msgspec.json.decode(kv.value, type=SignedCommit)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("ignoring an undecodable commit record at %r", kv.key)
            return
        self.hooks.on_commit_record(commit)


def _succeeded(task: asyncio.Task[Any] | None) -> bool:
    """Whether ``task`` finished with a result (not cancelled, no exception)."""
    return task is not None and task.done() and not task.cancelled() and task.exception() is None


def _is_final(entry: tuple[OrderedBlock, list[SignedCommit] | None], final_height: int) -> bool:
    """Whether a block is final: at or below the final height this peer knows, or come with
    a quorum certificate (fetched from another peer; the peer checks it before applying)."""
    block, certificate = entry
    return certificate is not None or block.height <= final_height
