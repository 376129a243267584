"""Genesis: the chain's first state, built from a document every peer holds."""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.codec import convert, encode_canonical
from amchain.crypto import sha256
from amchain.ledger import StateWriter, TxCode, TxError
from amchain.runtime.registry import ModuleRegistry


class Genesis(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The genesis document: chain id, time, and each module's genesis section."""

    chain_id: str
    genesis_time_ms: int
    modules: dict[str, Any]

    def hash(self) -> bytes:
        return sha256(encode_canonical(self))


def apply_genesis(registry: ModuleRegistry, state: StateWriter, genesis: Genesis) -> None:
    """Write every module's genesis state.

    Raises:
        TxError: UNKNOWN_MODULE for a section no module claims.
        DecodeError: a section that does not fit its module's genesis type.
        ModuleError: a module refused its section.
    """
    for name in genesis.modules:
        registry.module(name)  # refuses unknown sections
    for spec in registry.modules:
        if spec.init_genesis is None or spec.genesis_type is None:
            continue
        section = genesis.modules.get(spec.name)
        if section is None:
            raise TxError(TxCode.UNKNOWN_MODULE, f"genesis has no section for module {spec.name!r}")
        spec.init_genesis(state, convert(section, spec.genesis_type, what=f"genesis.{spec.name}"))
