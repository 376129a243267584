"""The runtime: module registry, admission pipeline and block executor."""

from amchain.runtime.admission import admit_transaction, replay_refusal
from amchain.runtime.authorise import authorise_signers, decode_args
from amchain.runtime.executor import (
    BlockResult,
    ExecutionHalted,
    IndexEntry,
    execute_block,
    execute_transaction,
    hook_receipt_id,
)
from amchain.runtime.genesis import Genesis, apply_genesis, make_genesis
from amchain.runtime.registry import (
    INSTALLED_MODULES,
    ModuleRegistry,
    default_registry,
    installed_specs,
)

__all__ = [
    "INSTALLED_MODULES",
    "BlockResult",
    "ExecutionHalted",
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
    "hook_receipt_id",
    "installed_specs",
    "make_genesis",
    "replay_refusal",
]
