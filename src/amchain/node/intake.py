"""Transaction intake: admission of submitted transactions into the orderer's queue.

Admission (size → decode → signature → replay → permission) runs in worker threads, off the
event loop and on every core, or in worker processes (:mod:`amchain.node.admission_pool`)
outside the node's GIL. A batch is queued in the order it was sent, whatever order the
workers finished in: dependent transactions (odometer readings, say) execute as sent.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import msgspec

from amchain.codec import DecodeError, DecodeErrorCode
from amchain.consensus import MempoolFull, Orderer, QuotaExceeded
from amchain.ledger import LedgerError, StateReader, Transaction, TxCode, TxError
from amchain.node.admission_pool import (
    admit_part,
    error_from_refusal,
    init_worker,
    parse_submission,
    transaction_from_admitted,
    warm_up,
)
from amchain.node.cache import StateCache
from amchain.node.config import NodeConfig
from amchain.node.metrics import NodeMetrics
from amchain.runtime import ModuleRegistry, admit_transaction, replay_refusal
from amchain.storage import BlockStore

__all__ = ["NodeUnavailable", "SubmitOutcome", "TxIntake", "split_submission"]

log = logging.getLogger(__name__)

ADMISSION_CACHE_ENTRIES = 20_000
Admitted = tuple[int, Transaction | None, Exception | None]


class NodeUnavailable(RuntimeError):
    """The node cannot take transactions now (mempool full, shutting down);
    ``retry_after_s`` says when to try again (longer the fuller the mempool)."""

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class SubmitOutcome:
    """The answer to one submitted transaction: admitted (with its hash) or refused."""

    index: int
    tx_hash: str | None = None
    error: LedgerError | DecodeError | None = None
    accepted: bool = False


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    txs: list[msgspec.Raw]


def batch_too_long(count: int, max_txs: int) -> DecodeError:
    """The refusal of a batch of ``count`` transactions, more than ``max_txs`` (TOO_LARGE)."""
    return DecodeError(
        DecodeErrorCode.TOO_LARGE,
        f"a batch holds at most {max_txs} transactions, this one {count}: "
        "send it as several requests",
    )


def check_batch_length(raw: bytes, *, max_txs: int) -> None:
    """Refuse a batch of more than ``max_txs`` elements, or one whose elements are not all
    objects, before any element is parsed into a value.

    Elements are separated by commas, so a body with fewer commas than ``max_txs`` is
    short enough. Otherwise msgspec's C parser walks the array, making an empty struct per
    object and no value of any field (about 16 bytes and 50 ns an element), and stops at
    the first element that is not an object.

    Raises:
        DecodeError: TOO_LARGE (too many elements), WRONG_TYPE (an element not an object).
    """
    if raw.count(b",") < max_txs:
        return
    try:
        batch = msgspec.json.decode(raw, type=_ObjectsOnly)
    except msgspec.ValidationError as exc:
        raise DecodeError(
            DecodeErrorCode.WRONG_TYPE,
            f"txs must be an array of signed transactions (objects): {exc}",
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        return  # not JSON or not a batch: the strict parser says why
    if len(batch.txs) > max_txs:
        raise batch_too_long(len(batch.txs), max_txs)


def parse_bounded_submission(
    raw: bytes, *, max_bytes: int, max_depth: int, max_txs: int
) -> tuple[list[Any], bool]:
    """:func:`~amchain.node.admission_pool.parse_submission` with the batch cap: the
    length is checked before the elements are parsed, and again on what was parsed.

    Raises:
        DecodeError: TOO_LARGE (more than ``max_txs`` transactions), or see
            :func:`check_batch_length` and ``parse_submission``.
    """
    check_batch_length(raw, max_txs=max_txs)
    values, is_batch = parse_submission(raw, max_bytes=max_bytes, max_depth=max_depth)
    if len(values) > max_txs:
        raise batch_too_long(len(values), max_txs)
    return values, is_batch


class _AnyObject(msgspec.Struct, gc=False):
    """Any JSON object, none of its fields kept."""


class _ObjectsOnly(msgspec.Struct):
    txs: list[_AnyObject]


def split_submission(
    raw: bytes, *, max_bytes: int, max_depth: int, max_txs: int
) -> tuple[list[bytes], bool]:
    """Split a ``POST /v1/txs`` body into each transaction's JSON, and say if it was a batch.

    A compact ``{"txs": [...]}`` (what the SDK sends) is split without parsing the
    transactions: each admission worker then decodes only its own share, strictly. Any
    other body is parsed strictly here once, and each transaction handed on re-encoded.

    Raises:
        DecodeError: see :func:`parse_bounded_submission`.
    """
    check_batch_length(raw, max_txs=max_txs)  # before the compact split makes every element
    if raw.startswith(b'{"txs":[') and len(raw) <= max_bytes:
        try:
            batch = msgspec.json.decode(raw, type=_Batch)
        except (msgspec.DecodeError, UnicodeDecodeError):
            # msgspec raises UnicodeDecodeError for invalid UTF-8 in an object's key (found
            # by bench/fuzz_admission.py); the strict parser below refuses it with a code.
            batch = None
        # Re-encoding gives the same bytes only for a compact envelope without a duplicate
        # or unknown key: exactly what the strict decoder would accept around the txs.
        if batch is not None and batch.txs and msgspec.json.encode(batch) == raw:
            return [bytes(tx) for tx in batch.txs], True
    values, is_batch = parse_bounded_submission(
        raw, max_bytes=max_bytes, max_depth=max_depth, max_txs=max_txs
    )
    return [msgspec.json.encode(value) for value in values], is_batch


class TxIntake:
    """Admits transactions for one node and queues them in its orderer.

    ``orderer()`` returns the orderer while the node runs (None before); ``head_height()``
    the height readers see (admission reads committed state through a cache per height).
    """

    def __init__(
        self,
        *,
        config: NodeConfig,
        store: BlockStore,
        registry: ModuleRegistry,
        chain_id: str,
        orderer: Callable[[], Orderer | None],
        head_height: Callable[[], int],
        now_ms: Callable[[], int],
        metrics: NodeMetrics | None = None,
    ) -> None:
        self._config = config
        self._metrics = metrics or NodeMetrics()
        self._store = store
        self._registry = registry
        self._chain_id = chain_id
        self._orderer = orderer
        self._head_height = head_height
        self._now_ms = now_ms
        self._threads = ThreadPoolExecutor(
            max_workers=config.admission_threads, thread_name_prefix="admission"
        )
        self._processes: ProcessPoolExecutor | None = None
        self._local = threading.local()

    # -- lifecycle ---------------------------------------------------------------------
    async def start_processes(self) -> None:
        """Start the admission worker processes and wait until each has imported the code."""
        count = self._config.admission_processes
        self._processes = ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(str(self._config.db_path), self._chain_id, os.getpid()),
        )
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._processes, warm_up) for _ in range(count))
        )

    def shutdown(self) -> None:
        self._threads.shutdown(wait=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True, cancel_futures=True)

    # -- admission ---------------------------------------------------------------------
    def _admission_state(self) -> StateReader:
        """Committed state for an admission thread, through a cache of its own that lives
        while the head stays at one height (the keys every transaction reads, consortium
        keys and organisations, are read once per block), as in the admission processes."""
        local = self._local
        height = self._head_height()
        if getattr(local, "height", None) != height:
            local.cache = StateCache(ADMISSION_CACHE_ENTRIES)
            local.height = height
        cache: StateCache = local.cache
        return cache.reader(self._store.state())

    def _admit_chunk(self, items: list[tuple[int, Any]]) -> list[Admitted]:
        state = self._admission_state()
        now = self._now_ms()
        orderer = self._orderer()
        out: list[Admitted] = []
        # The replay check against committed blocks is one query for the chunk: the pipeline
        # asks only the orderer, notes each transaction that reached the check, and those
        # the query finds committed are refused as REPLAYED (whatever a later step said,
        # exactly as if the check had refused them in place).
        reached: list[tuple[int, bytes]] = []

        def is_pending(tx_hash: bytes) -> bool:
            if orderer is not None and orderer.knows(tx_hash):
                return True
            reached.append((len(out), tx_hash))
            return False

        for index, value in items:
            try:
                tx = admit_transaction(
                    value,
                    registry=self._registry,
                    state=state,
                    chain_id=self._chain_id,
                    now_ms=now,
                    is_known=is_pending,
                )
                out.append((index, tx, None))
            except (LedgerError, DecodeError) as error:
                out.append((index, None, error))
        if reached:
            committed = self._store.known_txs([tx_hash for _, tx_hash in reached])
            for position, tx_hash in reached:
                if tx_hash in committed:
                    out[position] = (out[position][0], None, replay_refusal(tx_hash))
        return out

    async def submit(self, values: list[Any]) -> list[SubmitOutcome]:
        """Admit parsed transactions and queue the good ones; one outcome per value, in order.

        Raises:
            NodeUnavailable: the mempool is full (nothing of this batch was queued).
        """
        self._check_room(len(values))
        loop = asyncio.get_running_loop()
        items = list(enumerate(values))
        workers = max(1, min(self._config.admission_threads, len(items) // 64 or 1))
        # Contiguous chunks, queued in order below: a batch keeps its order in the block.
        size = -(-len(items) // workers)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results = await asyncio.gather(
            *(loop.run_in_executor(self._threads, self._admit_chunk, c) for c in chunks)
        )
        admitted = sorted((item for chunk in results for item in chunk), key=lambda r: r[0])
        return self._queue(len(values), admitted)

    async def submit_body(self, raw: bytes, *, max_depth: int) -> tuple[bool, list[SubmitOutcome]]:
        """Parse a ``POST /v1/txs`` body (one transaction or ``{"txs": [...]}``), admit and
        queue; returns whether it was a batch and one outcome per transaction, in order.

        With admission processes, the body is split here (:func:`split_submission`) and
        each process decodes and admits its share; otherwise it is parsed here and admitted
        in threads.

        Raises:
            DecodeError: the body as a whole is refused (malformed, too deep, bad ``txs``).
            NodeUnavailable: the mempool is full, or the admission workers had to restart.
        """
        max_bytes = self._config.max_body_bytes
        max_txs = self._config.max_batch_txs
        if self._processes is None:
            values, is_batch = parse_bounded_submission(
                raw, max_bytes=max_bytes, max_depth=max_depth, max_txs=max_txs
            )
            return is_batch, await self.submit(values)
        if self._orderer() is None:
            raise NodeUnavailable("the node is not producing blocks")
        txs, is_batch = split_submission(
            raw, max_bytes=max_bytes, max_depth=max_depth, max_txs=max_txs
        )
        loop = asyncio.get_running_loop()
        parts = max(1, min(self._config.admission_processes, len(raw) // 32_768))
        share = -(-len(txs) // parts)
        # A transaction in a batch sits two levels down (the array and the envelope).
        tx_depth = max_depth - 2 if is_batch else max_depth
        now = self._now_ms()
        try:
            answers = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        self._processes, admit_part, txs[start : start + share], start, now,
                        max_bytes, tx_depth,
                    )
                    for start in range(0, len(txs), share)
                )
            )  # fmt: skip
        except BrokenProcessPool as exc:
            log.error("an admission worker died; starting new ones")
            await self.start_processes()
            raise NodeUnavailable("admission workers restarted; retry the request") from exc
        admitted: list[Admitted] = []
        for answer in answers:
            for index, canonical, tail in answer:
                if canonical is None:
                    admitted.append((index, None, error_from_refusal(tail)))  # type: ignore[arg-type]
                else:
                    tx = transaction_from_admitted(canonical, tail)  # type: ignore[arg-type]
                    admitted.append((index, tx, None))
        self._check_room(len(admitted))
        return is_batch, self._queue(len(admitted), admitted)

    def _check_room(self, count: int) -> None:
        orderer = self._orderer()
        if orderer is None:
            raise NodeUnavailable("the node is not producing blocks")
        if len(orderer) + count > self._config.max_mempool_txs:
            raise NodeUnavailable(
                f"{len(orderer)} transactions are waiting; retry in a moment",
                retry_after_s=self.retry_after_s(len(orderer)),
            )

    def retry_after_s(self, waiting: int) -> int:
        """Seconds a client should wait with ``waiting`` transactions queued: about the
        blocks needed to drain them at one block a second (the slowest cut), 1 to 60."""
        return max(1, min(60, waiting // max(1, self._config.max_block_txs)))

    def _queue(self, count: int, admitted: list[Admitted]) -> list[SubmitOutcome]:
        """Queue admitted transactions in index order; one outcome per index."""
        orderer = self._orderer()
        assert orderer is not None
        outcomes: list[SubmitOutcome] = [SubmitOutcome(index=i) for i in range(count)]
        for index, tx, error in admitted:
            outcome = outcomes[index]
            if tx is None:
                outcome.error = error  # type: ignore[assignment]
                self._metrics.refused(error.codespace, int(error.code))  # type: ignore[union-attr]
                continue
            outcome.tx_hash = tx.hash_hex
            try:
                if orderer.add(tx):
                    outcome.accepted = True
                    self._metrics.admitted()
                else:
                    outcome.error = replay_refusal(tx.hash)
                    self._metrics.refused("tx", int(TxCode.REPLAYED))
            except QuotaExceeded as exc:
                outcome.error = TxError(TxCode.QUOTA_EXCEEDED, str(exc))
                self._metrics.refused("tx", int(TxCode.QUOTA_EXCEEDED))
            except MempoolFull as exc:
                raise NodeUnavailable(
                    str(exc), retry_after_s=self.retry_after_s(len(orderer))
                ) from exc
        return outcomes
