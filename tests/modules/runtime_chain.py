"""A chain of the installed modules run through the real runtime (genesis from the specs,
signed transactions, ``execute_block`` with the end-of-block hooks), one organisation per
role, in memory: what the module tests drive."""

from __future__ import annotations

from typing import Any

from amchain.crypto import KeyPair
from amchain.ledger import MemoryState, Receipt, Transaction, make_block_header
from amchain.modules.base import ROLES, GenesisMember
from amchain.runtime import apply_genesis, default_registry, execute_block, make_genesis
from amchain.sdk import build_tx

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the genesis time
CHAIN_ID = "test"


def org(role: str) -> str:
    """The DID of the dev organisation holding ``role``."""
    return f"did:amc:org:{role}"


class RuntimeChain:
    """Blocks of signed transactions at chosen times; ``module`` is the default module of
    :meth:`send`."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.registry = default_registry()
        self.keys = {role: KeyPair.generate() for role in ROLES}
        members = [
            GenesisMember(
                id=role, name=role, roles=(role,), admin_keys=(self.keys[role].public_key.hex(),)
            )
            for role in ROLES
        ]
        genesis = make_genesis(
            self.registry, chain_id=CHAIN_ID, genesis_time_ms=T0, members=members
        )
        self.state = MemoryState()
        apply_genesis(self.registry, self.state, genesis)
        self.height = 0
        self.time_ms = T0
        self.hook_receipts: list[Receipt] = []

    def tx(self, message: str, args: dict[str, Any], *signers: KeyPair,
           module: str | None = None) -> Transaction:  # fmt: skip
        return build_tx(chain_id=CHAIN_ID, signers=list(signers), module=module or self.module,
                        message=message, args=args)  # fmt: skip

    def block(self, txs: list[Transaction], *, at_ms: int | None = None) -> list[Receipt]:
        """Execute a block at ``at_ms`` (default: 5 s after the last) and commit it."""
        self.height += 1
        self.time_ms = at_ms if at_ms is not None else self.time_ms + 5_000
        header = make_block_header(
            chain_id=CHAIN_ID,
            height=self.height,
            prev_hash="00" * 32,
            time_ms=self.time_ms,
            txs=txs,
            proposer=b"\x00" * 32,
        )
        result = execute_block(self.registry, self.state, header, txs)
        for key, value in result.write_set:
            if value is None:
                self.state.delete(key)
            else:
                self.state.set(key, value)
        self.hook_receipts = result.hook_receipts
        return result.receipts

    def send(self, message: str, args: dict[str, Any], *signers: KeyPair,
             module: str | None = None, at_ms: int | None = None) -> Receipt:  # fmt: skip
        (receipt,) = self.block([self.tx(message, args, *signers, module=module)], at_ms=at_ms)
        return receipt

    def hook_events(self, module: str) -> list[tuple[str, dict[str, Any]]]:
        """``(type, attributes)`` of the last block's hook events of ``module``."""
        return [
            (e.type, e.attributes)
            for r in self.hook_receipts
            if r.tx_hash == f"end_block/{module}"
            for e in r.events
        ]

    def person(self) -> tuple[KeyPair, str]:
        """A new person: a key and its DID (sponsored by the registry)."""
        key = KeyPair.generate()
        receipt = self.send("create_did", {"public_key": key.public_key.hex()},
                            self.keys["registry"], key, module="identity")  # fmt: skip
        assert receipt.ok, receipt.message
        did = next(e.attributes["did"] for e in receipt.events if e.type == "identity.did_created")
        return key, str(did)

    def balances_sum(self, denom: str) -> int:
        return sum(int(raw) for _, raw in self.state.iter_prefix(f"tokens/bal/{denom}/"))
