"""Which peer cuts blocks: an election on the ``cutter`` key, held with a lease.

A peer wins with ``create_revision == 0`` on ``cutter`` and keeps the key alive; a peer
that loses watches for the key to change. The lease is never trusted for exclusivity
(heights are written with their own ``create_revision == 0``): it only lets a cutter that
died be replaced. Each win starts a new *term*: the cutter re-synchronises before it cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

import httpx

from amchain.consensus.etcd_context import CutterInfo, OrderingContext, log
from amchain.consensus.etcdv3 import Compare, EtcdCompacted, EtcdUnavailable, put_op

__all__ = ["CutterElection"]


class CutterElection:
    """This peer's part in the election. ``on_elected()`` runs when it becomes the cutter."""

    def __init__(self, ctx: OrderingContext, *, on_elected: Callable[[], None]) -> None:
        self._ctx = ctx
        self._on_elected = on_elected
        self.is_cutter = False
        self.cutter = CutterInfo()
        """The cutter as this peer last read it (itself while it cuts)."""
        self.term = 0
        """Counts this peer's wins: a cutter whose term changed re-synchronises."""
        self._lease = 0
        self._last_keepalive = 0.0
        self._cutter_revision = 0  # mod revision of the cutter key another peer holds

    def _me(self) -> bytes:
        config = self._ctx.config
        return json.dumps(
            {"name": config.name, "url": config.url, "key": config.node_key_hex},
            separators=(",", ":"),
        ).encode()

    def _step_down(self) -> None:
        self.is_cutter = False
        self._lease = 0

    async def loop(self) -> None:
        ctx = self._ctx
        ttl = ctx.config.lease_ttl_s
        while not ctx.stopping:
            if ctx.hooks.halted() is not None:
                await self.resign()
                await asyncio.sleep(1)
                continue
            try:
                if not self.is_cutter:
                    await self._campaign()
                else:
                    remaining = await ctx.etcd.keep_alive(self._lease)
                    ctx.mark_etcd(True)
                    if remaining <= 0:
                        log.warning("cutter lease expired; no longer cutting")
                        self._step_down()
                    else:
                        self._last_keepalive = time.monotonic()
            except (EtcdUnavailable, RuntimeError) as exc:
                ctx.mark_etcd(False, str(exc))
                if self.is_cutter and time.monotonic() - self._last_keepalive > ttl / 2:
                    # Not trusted for exclusivity anyway, but a cutter that cannot reach etcd
                    # steps down before its lease can have expired.
                    log.warning("cutter lost etcd for %.1f s; stepping down", ttl / 2)
                    self._step_down()
            if self.is_cutter:
                await asyncio.sleep(ttl / 3)
            elif self._cutter_revision:
                await self._await_vacancy(self._cutter_revision)
            else:
                await asyncio.sleep(0.3)

    async def resign(self) -> None:
        """Stop cutting and release the cutter key so another peer takes over at once."""
        was = self.is_cutter
        self.is_cutter = False
        if self._lease and was:
            with contextlib.suppress(Exception):
                await self._ctx.etcd.revoke_lease(self._lease)
        self._lease = 0

    async def _await_vacancy(self, revision: int) -> None:
        """Wait (a watch, not polling) until the cutter key changes, or 5 s at most."""
        ctx = self._ctx

        async def watch() -> None:
            async for events in ctx.etcd.watch(ctx.keys.cutter, None, start_revision=revision + 1):
                if events:
                    return

        started = time.monotonic()
        with contextlib.suppress(TimeoutError, EtcdUnavailable, EtcdCompacted, httpx.HTTPError):
            await asyncio.wait_for(watch(), 5.0)
        self._cutter_revision = 0
        if time.monotonic() - started < 0.3:
            await asyncio.sleep(0.3)  # the watch broke at once: do not spin

    async def _campaign(self) -> None:
        ctx = self._ctx
        self._cutter_revision = 0
        current = await ctx.etcd.get(ctx.keys.cutter)
        if current is not None:
            self._cutter_revision = current.mod_revision
            info = json.loads(current.value)
            if info.get("key") != self.cutter.key:
                self.cutter = CutterInfo(info.get("name", ""), info.get("url", ""), info["key"])
            # Our own key (we stepped down while etcd was unreachable, or restarted): take
            # the role back if its lease still lives. Safe, since heights are written with
            # create_revision == 0 whoever cuts.
            own = info.get("key") == ctx.config.node_key_hex and current.lease
            if own and await ctx.etcd.keep_alive(current.lease) > 0:
                self._become_cutter(current.lease)
            return
        lease = await ctx.etcd.grant_lease(ctx.config.lease_ttl_s)
        won, _, _ = await ctx.etcd.txn(
            [Compare(ctx.keys.cutter, "CREATE", 0)],
            [put_op(ctx.keys.cutter, self._me(), lease=lease)],
        )
        if not won:
            with contextlib.suppress(Exception):
                await ctx.etcd.revoke_lease(lease)
            return
        self._become_cutter(lease)

    def _become_cutter(self, lease: int) -> None:
        config = self._ctx.config
        self._lease = lease
        self._last_keepalive = time.monotonic()
        self.is_cutter = True
        self.term += 1  # re-synchronise before the first cut
        self.cutter = CutterInfo(config.name, config.url, config.node_key_hex)
        log.info("%s is the block cutter now", config.name)
        self._on_elected()
