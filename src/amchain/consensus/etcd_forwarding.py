"""Peers that do not cut pass what they admitted to the cutter, over its HTTP API.

New transactions go as they arrive (batched over ``forward_interval_ms``); once a second,
whatever the cutter has not committed within ``resend_after_ms`` goes again (it may have
died) and expired ones are dropped. The cutter takes them into its own waiting list.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from amchain.consensus.etcd_context import OrderingContext, log
from amchain.consensus.etcd_election import CutterElection
from amchain.consensus.etcd_mempool import Waiting, WaitingTxs

__all__ = ["FORWARD_BATCH", "TxForwarder"]

FORWARD_BATCH = 2000  # transactions per request to the cutter


class TxForwarder:
    def __init__(self, ctx: OrderingContext, waiting: WaitingTxs, election: CutterElection) -> None:
        self._ctx = ctx
        self._waiting = waiting
        self._election = election

    async def loop(self) -> None:
        ctx, waiting, election = self._ctx, self._waiting, self._election
        interval = ctx.config.forward_interval_ms / 1000
        resend = ctx.config.resend_after_ms / 1000
        last_sweep = 0.0
        while not ctx.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.fresh.wait(), 0.5)
            waiting.fresh.clear()
            await asyncio.sleep(interval)  # let a batch gather
            now = time.monotonic()
            sweep = now - last_sweep > 1.0
            if sweep:
                last_sweep = now
                waiting.drop_expired()
            fresh, waiting.fresh_hashes = waiting.fresh_hashes, []
            cutter = election.cutter
            if election.is_cutter or not waiting.pending or not cutter.url:
                continue
            if cutter.key == ctx.config.node_key_hex:
                continue  # our own stale key: wait for the next election
            target = cutter.url
            if sweep:
                batch = [
                    w
                    for w in waiting.pending.values()
                    if w.sent_to != target or now - w.sent_at > resend
                ]
            else:
                found = (waiting.pending.get(h) for h in fresh)
                batch = [w for w in found if w is not None and w.sent_to != target]
            for start in range(0, len(batch), FORWARD_BATCH):
                if not await self._send(target, batch[start : start + FORWARD_BATCH], now):
                    await asyncio.sleep(0.2)
                    break

    async def _send(self, target: str, batch: list[Waiting], now: float) -> bool:
        body = b'{"txs":[' + b",".join(w.tx.canonical for w in batch) + b"]}"
        try:
            response = await self._ctx.http.post(
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
