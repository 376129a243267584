"""Genesis: the chain's first state, built from a document every peer holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from amchain.codec import convert, encode_canonical, to_builtins
from amchain.crypto import sha256
from amchain.ledger import StateWriter, TxCode, TxError
from amchain.modules.base import GenesisContext, GenesisMember
from amchain.runtime.registry import ModuleRegistry

__all__ = ["Genesis", "apply_genesis", "make_genesis"]


class Genesis(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The genesis document: chain id, time, and each module's genesis section."""

    chain_id: str
    genesis_time_ms: int
    modules: dict[str, Any]

    def hash(self) -> bytes:
        return sha256(encode_canonical(self))


def make_genesis(
    registry: ModuleRegistry,
    *,
    chain_id: str,
    genesis_time_ms: int,
    members: Sequence[GenesisMember],
) -> Genesis:
    """Return the genesis of a new chain: each module's default section for ``members``."""
    return Genesis(
        chain_id=chain_id,
        genesis_time_ms=genesis_time_ms,
        modules={
            spec.name: to_builtins(spec.genesis.dev_default(members))
            for spec in registry.modules
            if spec.genesis is not None
        },
    )


def apply_genesis(registry: ModuleRegistry, state: StateWriter, genesis: Genesis) -> None:
    """Write every module's genesis state, in registry order.

    A module without a genesis section in its spec starts empty (a section for it, as
    older genesis documents hold, must be empty).

    Raises:
        TxError: UNKNOWN_MODULE for a section no module claims, or a missing section.
        DecodeError: a section that does not fit its module's genesis type.
        ModuleError: a module refused its section.
    """
    for name in genesis.modules:
        registry.module(name)  # refuses unknown sections
    for spec in registry.modules:
        section = genesis.modules.get(spec.name)
        if spec.genesis is None:
            if section:
                raise TxError(
                    TxCode.UNKNOWN_MODULE,
                    f"module {spec.name!r} takes no genesis section, but genesis gives one",
                )
            continue
        if section is None:
            raise TxError(TxCode.UNKNOWN_MODULE, f"genesis has no section for module {spec.name!r}")
        ctx = GenesisContext(
            chain_id=genesis.chain_id, genesis_time_ms=genesis.genesis_time_ms, state=state
        )
        spec.genesis.init(ctx, convert(section, spec.genesis.type, what=f"genesis.{spec.name}"))
