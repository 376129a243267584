"""What a node hands a module's query: its context, with a :class:`NodeChainView`.

The query's state is the latest committed state, or, when the request asked for a height
or a proof, the state tree's version at that height (:class:`VersionedState`, where only
``get`` works: a tree over hashed keys cannot list a prefix). The chain view reads
transactions through the store's indexes and proves state entries at the query's height.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from amchain.api.proofs import make_bundle, prove_entry, resolve_height
from amchain.ledger import BlockHeader, StateEntry, StateReader, TreeRoot, prove_state_key
from amchain.modules.base import (
    IndexedTx,
    KeyStanding,
    ProofCode,
    ProofUnavailable,
    QueryContext,
)
from amchain.node import Node
from amchain.storage import StoredTx

__all__ = ["NodeChainView", "VersionedState", "query_context"]

ENTROPY_BYTES = 32


class VersionedState:
    """State as of one version of the state tree (a :class:`~amchain.ledger.StateReader`
    whose ``iter_prefix`` refuses: listings cannot be read at an older height)."""

    __slots__ = ("_node", "_root")

    def __init__(self, node: Node, root: TreeRoot) -> None:
        self._node = node
        self._root = root

    def get(self, key: str) -> bytes | None:
        return prove_state_key(self._node.store.tree_nodes(), self._root, key)[0]

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        raise ProofUnavailable(
            ProofCode.NOT_PROVABLE,
            f"a listing of {prefix!r} cannot be read at an older height or proven (the state "
            "tree is keyed by hashes); ask without height and proof",
        )


class NodeChainView:
    """The :class:`~amchain.modules.base.ChainView` of ``node`` at ``height`` (version
    ``root`` of the state tree)."""

    def __init__(self, node: Node, height: int, root: TreeRoot) -> None:
        self._node = node
        self._height = height
        self._root = root
        self._times: dict[int, int | None] = {}

    def _time_of(self, height: int) -> int | None:
        if height not in self._times:
            header = self._node.store.get_header(height)
            self._times[height] = None if header is None else header.time_ms
        return self._times[height]

    def _indexed(self, stored: StoredTx) -> IndexedTx:
        body = msgspec.json.decode(stored.tx)["body"]
        return IndexedTx(
            hash=stored.hash,
            height=stored.height,
            index=stored.index,
            time_ms=self._time_of(stored.height),
            module=body["module"],
            message=body["message"],
            signers=list(body["signers"]),
            args=body["args"],
            receipt=stored.receipt,
        )

    def indexed_txs(
        self, kind: str, value: str, *, failed_only: bool = False, limit: int = 1000
    ) -> list[IndexedTx]:
        found = self._node.store.indexed_txs(kind, value, limit=limit, failed_only=failed_only)
        return [self._indexed(stored) for stored in found]

    def get_tx(self, tx_hash: str) -> IndexedTx | None:
        if len(tx_hash) != 64 or not tx_hash.isascii() or not tx_hash.isalnum():
            return None
        try:
            raw = bytes.fromhex(tx_hash)
        except ValueError:
            return None
        stored = self._node.store.get_tx(raw)
        return None if stored is None else self._indexed(stored)

    def resolve_key(self, public_key: bytes) -> KeyStanding | None:
        return self._node.registry.resolve_key(self._node.store.state(), public_key)

    def header(self) -> BlockHeader:
        header = self._node.store.get_header(self._height)
        assert header is not None, "the query's height is committed"
        return header

    def prove(self, key: str) -> StateEntry:
        return prove_entry(self._node, self._root, key)[1]

    def bundle(self, kind: str, **fields: Any) -> dict[str, Any]:
        return make_bundle(self._node, kind, self._height, **fields)


def query_context(
    node: Node,
    *,
    height: int | None,
    prove: bool,
    requester: bytes | None = None,
) -> QueryContext:
    """The context of a query answered by ``node``: at the head, or, with a ``height`` or
    ``prove``, at that height (default: the latest certified one) from the state tree.

    Raises:
        ProofUnavailable: the height is not committed or not retained.
    """
    latest = node.store.state()
    head = node.head
    at, time_ms = head.height, head.time_ms
    state: StateReader = latest
    root = head.state
    if prove or height is not None:
        at, root = resolve_height(node, height)
        state = VersionedState(node, root)
        if at != head.height:
            header = node.store.get_header(at)
            time_ms = header.time_ms if header is not None else time_ms
    return QueryContext(
        chain_id=node.chain_id,
        state=state,
        latest=latest,
        height=at,
        time_ms=time_ms,
        now_ms=time.time_ns() // 1_000_000,
        chain=NodeChainView(node, at, root),
        requester=requester,
        prove=prove,
        historical=height is not None,
        entropy=os.urandom(ENTROPY_BYTES),
    )
