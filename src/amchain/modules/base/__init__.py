"""What every module is built from: the spec, the contexts its code runs in, module errors.

- :mod:`.spec`: :class:`ModuleSpec` with its messages, queries, events, genesis and block hook.
- :mod:`.context`: :class:`TxContext` (handlers), :class:`BlockContext` (the block hook),
  :class:`QueryContext` (queries), :class:`GenesisContext` (genesis) and the
  :class:`ChainView` the serving node offers queries.
- :mod:`.records`: how keepers encode and decode their state records.
- :mod:`.roles`: the consortium roles.

Exception hierarchy::

    amchain.ledger.LedgerError        codespace + code + message + details
     ├── ModuleError                  raised by handlers and queries; each module subclasses
     │                                it with its own ``codespace`` (``consortium``, …)
     └── ProofUnavailable             ``proof``: a height not committed or not retained, or
                                      an answer that cannot be proven
"""

from amchain.modules.base.context import (
    BlockContext,
    ChainView,
    EventAttributes,
    GenesisContext,
    IndexedTx,
    KeyStanding,
    KeyStatus,
    QueryContext,
    TxContext,
    make_event,
)
from amchain.modules.base.records import decode_record, encode_record
from amchain.modules.base.roles import ROLES, Role
from amchain.modules.base.spec import (
    CliCommand,
    DemoStep,
    DemoWorld,
    GenesisMember,
    GenesisSpec,
    MessageSpec,
    ModuleError,
    ModuleSpec,
    NoParams,
    ProofCode,
    ProofUnavailable,
    QuerySpec,
)

__all__ = [
    "ROLES",
    "BlockContext",
    "ChainView",
    "CliCommand",
    "DemoStep",
    "DemoWorld",
    "EventAttributes",
    "GenesisContext",
    "GenesisMember",
    "GenesisSpec",
    "IndexedTx",
    "KeyStanding",
    "KeyStatus",
    "MessageSpec",
    "ModuleError",
    "ModuleSpec",
    "NoParams",
    "ProofCode",
    "ProofUnavailable",
    "QueryContext",
    "QuerySpec",
    "Role",
    "TxContext",
    "decode_record",
    "encode_record",
    "make_event",
]
