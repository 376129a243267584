"""What every module is built from: the spec types, the transaction context, module errors.

Exception hierarchy::

    amchain.ledger.LedgerError        codespace + code + message + details
     └── ModuleError                  raised by handlers; each module subclasses it with its
                                      own ``codespace`` (``consortium``, ``identity``, …)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import msgspec

from amchain.codec import encode_canonical
from amchain.ledger import Event, LedgerError, StateReader, StateWriter

__all__ = [
    "ROLES",
    "Args",
    "KeyStanding",
    "KeyStatus",
    "MessageSpec",
    "ModuleError",
    "ModuleSpec",
    "PrefixStore",
    "Role",
    "TxContext",
    "decode_record",
    "encode_record",
]

Args = TypeVar("Args")
Record = TypeVar("Record")


class Role(StrEnum):
    """Consortium roles (DESIGN.md §4)."""

    OEM = "oem"
    SUPPLIER = "supplier"
    DEALER = "dealer"
    SERVICE_CENTER = "service_center"
    INSURER = "insurer"
    REGISTRY = "registry"
    REGULATOR = "regulator"
    CHARGING_OPERATOR = "charging_operator"
    GRID_OPERATOR = "grid_operator"
    FINANCIER = "financier"
    FLEET = "fleet"
    EDGE_OPERATOR = "edge_operator"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)


class ModuleError(LedgerError):
    """A handler's refusal. Subclass per module and set ``codespace``."""

    codespace = "module"


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

    def emit(self, type_: str, **attributes: Any) -> None:
        """Record an event; it reaches the receipt only if the transaction succeeds."""
        self.events.append(Event(type=type_, attributes=attributes))

    def signer_orgs(self) -> tuple[str, ...]:
        """Return the organisations of the signers that are active consortium keys, in order."""
        return tuple(
            s.org
            for s in self.standings
            if s is not None and s.org is not None and s.status == KeyStatus.ACTIVE
        )


def _no_roles(_args: Any) -> tuple[str, ...]:
    return ()


def _no_index(_args: Any) -> list[tuple[str, str]]:
    return []


def _no_keys(_args: Any) -> list[bytes]:
    return []


def _no_check(_args: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class MessageSpec(Generic[Args]):
    """One message a module accepts.

    - ``args_type``: msgspec Struct (``forbid_unknown_fields=True``) the arguments must fit.
    - ``handler(ctx, args)``: validates, authorises, changes state, emits events; raises
      :class:`ModuleError` to refuse (the runtime then drops every change it made).
    - ``roles(args)``: consortium roles of which at least one signer must hold one; empty
      means the handler authorises by itself (e.g. a DID controller's signature).
    - ``index(args)``: ``(kind, value)`` pairs the transaction is indexed under
      (``("vehicle", vin)``, ``("did", did)``), failed or not.
    - ``introduced_keys(args)``: keys this message registers; they may sign (to prove
      possession) although the chain does not know them yet.
    - ``check(args)``: stateless validation (e.g. a VIN's check digit) that the runtime runs
      at admission, so malformed requests are refused before they reach a block; raises
      ModuleError. The handler runs the same function too (a block may come from another
      peer), so the executor does not run it a second time.
    """

    name: str
    args_type: type[Args]
    handler: Callable[[TxContext, Args], None]
    summary: str
    roles: Callable[[Args], tuple[str, ...]] = _no_roles
    index: Callable[[Args], list[tuple[str, str]]] = _no_index
    introduced_keys: Callable[[Args], list[bytes]] = _no_keys
    check: Callable[[Args], None] = _no_check


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """A module as the runtime sees it."""

    name: str
    codespace: str
    messages: Mapping[str, MessageSpec[Any]]
    genesis_type: type[Any] | None = None
    init_genesis: Callable[[StateWriter, Any], None] | None = None
    resolve_key: Callable[[StateReader, bytes], KeyStanding | None] | None = None


class PrefixStore:
    """A module's window on state: every key is prefixed with ``<module>/``."""

    __slots__ = ("_prefix", "_state")

    def __init__(self, state: StateReader, module: str) -> None:
        self._state = state
        self._prefix = module + "/"

    def get(self, key: str) -> bytes | None:
        return self._state.get(self._prefix + key)

    def set(self, key: str, value: bytes) -> None:
        writer: StateWriter = self._state  # type: ignore[assignment]
        writer.set(self._prefix + key, value)

    def delete(self, key: str) -> None:
        writer: StateWriter = self._state  # type: ignore[assignment]
        writer.delete(self._prefix + key)

    def iter_prefix(self, prefix: str) -> list[tuple[str, bytes]]:
        """Return ``(key without module prefix, value)`` pairs in key order."""
        cut = len(self._prefix)
        return [(k[cut:], v) for k, v in self._state.iter_prefix(self._prefix + prefix)]


def encode_record(record: Any) -> bytes:
    """Encode a state record as canonical JSON."""
    return encode_canonical(record)


def decode_record(data: bytes, type_: type[Record]) -> Record:
    """Decode a state record written by :func:`encode_record` (trusted: it is our own state)."""
    return msgspec.json.decode(data, type=type_)
