"""What module code is handed: a transaction's context, a block hook's, a query's.

Handlers and block hooks get state to change and a list to put events in; queries get
read-only state and a :class:`ChainView` through which the serving node offers what is not
state (transactions by index, proofs). Everything a query may depend on is in its context,
the request's wall-clock time and fresh entropy included, so module code itself never reads
a clock, randomness or storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import msgspec

from amchain.ledger import BlockHeader, Event, Receipt, StateEntry, StateReader, StateWriter

__all__ = [
    "BlockContext",
    "ChainView",
    "EventAttributes",
    "GenesisContext",
    "IndexedTx",
    "KeyStanding",
    "KeyStatus",
    "QueryContext",
    "TxContext",
    "make_event",
]


class KeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class KeyStanding(msgspec.Struct, frozen=True):
    """What the chain knows about a signing key.

    ``org`` and ``roles`` are set for consortium keys; ``did`` for keys of a DID.
    """

    status: KeyStatus
    org: str | None = None
    roles: tuple[str, ...] = ()
    did: str | None = None
    kind: str = ""


class EventAttributes(msgspec.Struct, frozen=True, kw_only=True):
    """Base of a module's event structs: the fields are the event's attributes.

    Each subclass names its event type in ``event_type`` (``<module>.<what_happened>``) and
    is listed in its module's :attr:`~amchain.modules.base.ModuleSpec.events`, so the API,
    the SDK and the explorer know every event a module can emit and its attributes' types.
    """

    event_type: ClassVar[str] = ""


def make_event(event: EventAttributes) -> Event:
    """Return the ledger event for ``event`` (its attributes as plain JSON values)."""
    return Event(type=event.event_type, attributes=msgspec.structs.asdict(event))


@dataclass(slots=True)
class TxContext:
    """What a handler may use: the block's height and time, the signers, state and events.

    ``signers`` are raw public keys in the transaction's order; ``standings`` holds what the
    runtime resolved for each (None for a key the chain does not know, which only happens for
    keys a message introduces, see :attr:`MessageSpec.introduced_keys`).
    """

    chain_id: str
    height: int
    time_ms: int
    tx_hash: str
    signers: tuple[bytes, ...]
    standings: tuple[KeyStanding | None, ...]
    state: StateWriter
    events: list[Event] = field(default_factory=list)

    def emit(self, event: EventAttributes) -> None:
        """Record an event; it reaches the receipt only if the transaction succeeds."""
        self.events.append(make_event(event))

    def signer_orgs(self) -> tuple[str, ...]:
        """Return the organisations of the signers that are active consortium keys, in order."""
        return tuple(
            s.org
            for s in self.standings
            if s is not None and s.org is not None and s.status == KeyStatus.ACTIVE
        )


@dataclass(frozen=True, slots=True)
class GenesisContext:
    """What a module's genesis ``init`` may use: the chain it starts, its genesis time (what
    time-based rules count from, e.g. a vesting lock) and the state at height 0."""

    chain_id: str
    genesis_time_ms: int
    state: StateWriter


@dataclass(slots=True)
class BlockContext:
    """What a module's end-of-block hook may use: the block's height and time, state, events.

    The hook runs after the block's transactions, in registry order, on state that already
    holds their changes; its writes and events are committed with the block, atomically.
    """

    chain_id: str
    height: int
    time_ms: int
    state: StateWriter
    events: list[Event] = field(default_factory=list)

    def emit(self, event: EventAttributes) -> None:
        """Record an event of the block (it is kept only if the hook succeeds)."""
        self.events.append(make_event(event))


class IndexedTx(msgspec.Struct, frozen=True, kw_only=True):
    """A committed transaction as a query sees it: where it is, what it asked, its receipt."""

    hash: str
    height: int
    index: int
    time_ms: int | None
    module: str
    message: str
    signers: list[str]
    """Hex public keys, in the transaction's order."""
    args: dict[str, Any]
    receipt: Receipt


class ChainView(Protocol):
    """What the serving node offers a query beyond state (implemented outside ``modules``).

    ``prove`` and ``bundle`` answer at the query's height (:attr:`QueryContext.height`).
    """

    def indexed_txs(
        self, kind: str, value: str, *, failed_only: bool = False, limit: int = 1000
    ) -> list[IndexedTx]:
        """Return the transactions indexed under ``(kind, value)``, oldest first."""
        ...

    def get_tx(self, tx_hash: str) -> IndexedTx | None:
        """Return a committed transaction by its hex hash, or None."""
        ...

    def resolve_key(self, public_key: bytes) -> KeyStanding | None:
        """Return what the chain's modules say about a signing key, or None."""
        ...

    def header(self) -> BlockHeader:
        """Return the header of the block at the query's height."""
        ...

    def prove(self, key: str) -> StateEntry:
        """Return the value of ``key`` at the query's height with its inclusion (or
        non-inclusion) proof."""
        ...

    def bundle(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Return a proof bundle of ``kind`` at the query's height: the envelope every
        bundle has (format, chain id, height, the commit certificate) and ``fields``."""
        ...


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What a query may use.

    - ``state``: state at ``height``: the latest committed block's, unless the request asked
      for a height (``historical``) or a proof (``prove``); then the state tree's version at
      that height (or at the latest certified one), where only ``get`` works.
    - ``latest``: the latest committed state (``iter_prefix`` included).
    - ``time_ms``: the block time at ``height``; ``now_ms``: the request's wall-clock time.
    - ``requester``: the public key that signed the request, None for an anonymous one.
    - ``prove``: the request asked for a proof bundle (provable queries only).
    - ``entropy``: 32 fresh random bytes from the serving node, for queries that draft
      something new (a credential id, a random status index).
    """

    chain_id: str
    state: StateReader
    latest: StateReader
    height: int
    time_ms: int
    now_ms: int
    chain: ChainView
    requester: bytes | None = None
    prove: bool = False
    historical: bool = False
    entropy: bytes = b""
