"""Commit records: every peer publishes its signed record of each block it applied under
``commits/<height>/<peer key>`` and reads everyone's, from the final height on; the node
counts them towards finality (a quorum signing the same record)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import msgspec

from amchain.codec import encode_canonical
from amchain.consensus.etcd_context import OrderingContext, log
from amchain.consensus.etcdv3 import EtcdCompacted, EtcdUnavailable, KeyValue, prefix_end, put_op
from amchain.ledger import SignedCommit

__all__ = ["PUBLISH_BATCH", "CommitRecords"]

PUBLISH_BATCH = 64  # records per etcd transaction


class CommitRecords:
    def __init__(self, ctx: OrderingContext) -> None:
        self._ctx = ctx
        self._publish: asyncio.Queue[SignedCommit] = asyncio.Queue()

    def publish(self, commit: SignedCommit) -> None:
        """Publish this peer's signed commit record (asynchronously)."""
        self._publish.put_nowait(commit)

    async def publish_loop(self) -> None:
        ctx = self._ctx
        while not ctx.stopping:
            commit = await self._publish.get()
            batch = [commit]
            while not self._publish.empty() and len(batch) < PUBLISH_BATCH:
                batch.append(self._publish.get_nowait())
            ops = [
                put_op(ctx.keys.commit(c.record.height, c.signer), encode_canonical(c))
                for c in batch
            ]
            while not ctx.stopping:
                try:
                    await ctx.etcd.txn([], ops)
                    break
                except (EtcdUnavailable, RuntimeError) as exc:
                    ctx.mark_etcd(False, str(exc))
                    await asyncio.sleep(0.3)

    async def follow_loop(self) -> None:
        """Read every record from the final height on, then watch for new ones."""
        ctx = self._ctx
        while not ctx.stopping:
            try:
                start = max(ctx.hooks.final_height() + 1, 0)
                kvs, revision = await ctx.etcd.range(
                    ctx.keys.commits_of(start), prefix_end(ctx.keys.commits)
                )
                for kv in kvs:
                    self._heard(kv)

                async def follow(revision: int = revision) -> None:
                    async for events in ctx.etcd.watch(
                        ctx.keys.commits, prefix_end(ctx.keys.commits), start_revision=revision
                    ):
                        for event in events:
                            if not event.deleted:
                                self._heard(event.kv)

                # Re-read at least every 10 s: a member that lost quorum keeps a watch open
                # but silent.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(follow(revision + 1), 10.0)
                await asyncio.sleep(0.05)  # a watch that ended at once must not spin
            except (EtcdUnavailable, EtcdCompacted, httpx.HTTPError) as exc:
                log.info("commit watch: %s", exc)
                await asyncio.sleep(0.3)

    def _heard(self, kv: KeyValue) -> None:
        try:
            commit = msgspec.json.decode(kv.value, type=SignedCommit)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("ignoring an undecodable commit record at %r", kv.key)
            return
        self._ctx.hooks.on_commit_record(commit)
