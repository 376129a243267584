"""The runtime: module registry, admission pipeline and block executor."""

from amchain.runtime.admission import admit_transaction, replay_refusal
from amchain.runtime.authorise import authorise_signers, decode_args
from amchain.runtime.executor import (
    BlockResult,
    IndexEntry,
    execute_block,
    execute_transaction,
)
from amchain.runtime.genesis import Genesis, apply_genesis
from amchain.runtime.registry import ModuleRegistry, default_registry

__all__ = [
    "BlockResult",
    "Genesis",
    "IndexEntry",
    "ModuleRegistry",
    "admit_transaction",
    "apply_genesis",
    "authorise_signers",
    "decode_args",
    "default_registry",
    "execute_block",
    "execute_transaction",
    "replay_refusal",
]
