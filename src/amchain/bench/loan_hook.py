"""``loan-hook``: the finance block hook with ``count`` loan instalments due in one block.

Builds, through the real runtime (genesis from the installed modules' specs, signed
transactions, ``execute_block``, in memory), ``count`` vehicles owned by 1,000 fleet
borrowers (a person DID each, funded in ``CNY-e`` by the financier), and one loan per vehicle
with its first instalment due at the same time. Then it executes two empty blocks and times
them: one just before the due time (the hook reads one queue key and stops) and one at it
(the hook collects every instalment: the borrower's balance, the lender's, the loan record,
the queue). It reports the time per due instalment, the block's write set, and the cost of
applying that write set to the state tree (the node's next step before it commits).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amchain.bench._lifecycle import make_vin
from amchain.bench._report import Report
from amchain.crypto import KeyPair
from amchain.ledger import MemoryState, Transaction, make_block_header
from amchain.ledger.state_tree import MemoryTreeNodes
from amchain.modules.base import ROLES, GenesisMember
from amchain.runtime import apply_genesis, default_registry, execute_block, make_genesis
from amchain.sdk import build_tx, did_for_key

CHAIN_ID = "bench-loan-hook"
GENESIS_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BORROWERS = 1_000
BLOCK_TXS = 5_000
PRINCIPAL_MINOR = 1_200_000  # 12,000.00 CNY-e in 12 instalments
INSTALMENTS = 12
DAY_MS = 86_400_000
LENDER = "did:amc:org:financier"


def _did_args(person: KeyPair) -> dict[str, Any]:
    return {"public_key": person.public_key.hex()}


def _mint_args(account: str, amount_minor: int) -> dict[str, Any]:
    return {"denom": "CNY-e", "to": account, "amount_minor": amount_minor}


def _vehicle_args(vin: str, owner: str) -> dict[str, Any]:
    return {"vin": vin, "make": "BYD", "model": "Dolphin", "model_year": 2026, "owner": owner}


def _loan_args(number: int, vin: str, borrower: str, due_ms: int) -> dict[str, Any]:
    return {
        "loan_id": f"L-{number:07d}",
        "borrower": borrower,
        "vin": vin,
        "denom": "CNY-e",
        "principal_minor": PRINCIPAL_MINOR,
        "rate_bp": 0,
        "instalments": INSTALMENTS,
        "first_due_ms": due_ms,
        "period_ms": 30 * DAY_MS,
        "grace_ms": 10 * DAY_MS,
    }


@dataclass(frozen=True)
class LoanHookOptions:
    count: int = 100_000
    progress: Callable[[str], None] | None = None


class _Chain:
    """Blocks executed and applied to an in-memory state (and its state tree)."""

    def __init__(self) -> None:
        self.registry = default_registry()
        self.keys = {role: KeyPair.generate() for role in ROLES}
        members = [
            GenesisMember(
                id=role, name=role, roles=(role,), admin_keys=(self.keys[role].public_key.hex(),)
            )
            for role in ROLES
        ]
        genesis = make_genesis(
            self.registry, chain_id=CHAIN_ID, genesis_time_ms=GENESIS_MS, members=members
        )
        self.state = MemoryState()
        apply_genesis(self.registry, self.state, genesis)
        self.height = 0
        self.time_ms = GENESIS_MS

    def tx(self, module: str, message: str, args: dict[str, Any], *signers: KeyPair) -> Transaction:
        return build_tx(
            chain_id=CHAIN_ID, signers=list(signers), module=module, message=message, args=args
        )

    def block(self, txs: list[Transaction], at_ms: int) -> tuple[float, list[tuple[str, Any]]]:
        """Execute a block at ``at_ms`` and apply it; return (seconds executing, write set).

        Raises:
            RuntimeError: a transaction of the setup failed.
        """
        self.height += 1
        self.time_ms = at_ms
        header = make_block_header(
            chain_id=CHAIN_ID,
            height=self.height,
            prev_hash="00" * 32,
            time_ms=at_ms,
            txs=txs,
            proposer=b"\x00" * 32,
        )
        started = time.perf_counter()
        result = execute_block(self.registry, self.state, header, txs)
        took = time.perf_counter() - started
        failed = [r for r in result.receipts if not r.ok]
        if failed:
            raise RuntimeError(f"setup transaction failed: {failed[0].message}")
        for key, value in result.write_set:
            if value is None:
                self.state.delete(key)
            else:
                self.state.set(key, value)
        return took, list(result.write_set)

    def blocks(self, txs: list[Transaction], label: str, options: LoanHookOptions) -> None:
        for i in range(0, len(txs), BLOCK_TXS):
            self.block(txs[i : i + BLOCK_TXS], self.time_ms + 5_000)
            if options.progress is not None:
                done = min(i + BLOCK_TXS, len(txs))
                options.progress(f"loan-hook: {label} {done:,}/{len(txs):,}")


def run_loan_hook(options: LoanHookOptions) -> Report:
    report = Report(
        "loan-hook",
        params={
            "loans": options.count,
            "borrowers": min(BORROWERS, options.count),
            "instalment": f"{PRINCIPAL_MINOR // INSTALMENTS} minor CNY-e, all due in one block",
            "runtime": "execute_block of the installed modules, in-memory state",
        },
    )
    chain = _Chain()
    registry, financier, oem = (chain.keys[r] for r in ("registry", "financier", "oem"))
    setup_started = time.perf_counter()
    people = [KeyPair.generate() for _ in range(min(BORROWERS, options.count))]
    dids = [did_for_key(p.public_key) for p in people]
    chain.blocks(
        [chain.tx("identity", "create_did", _did_args(p), registry, p) for p in people],
        "borrowers",
        options,
    )
    # each borrower can pay every instalment; the financier pays out every principal
    per_borrower = PRINCIPAL_MINOR * (options.count // len(people) + 1)
    mints = [_mint_args(did, per_borrower) for did in dids]
    mints.append(_mint_args(LENDER, PRINCIPAL_MINOR * options.count))
    chain.blocks([chain.tx("tokens", "mint", m, financier) for m in mints], "funding", options)
    vins = [make_vin(7, n) for n in range(options.count)]
    chain.blocks(
        [
            chain.tx("vehicles", "register_vehicle", _vehicle_args(vin, dids[n % len(dids)]), oem)
            for n, vin in enumerate(vins)
        ],
        "vehicles",
        options,
    )
    due_ms = chain.time_ms + 30 * DAY_MS
    chain.blocks(
        [
            chain.tx(
                "finance",
                "record_loan",
                _loan_args(n, vin, dids[n % len(dids)], due_ms),
                financier,
                people[n % len(people)],
            )
            for n, vin in enumerate(vins)
        ],
        "loans",
        options,
    )
    setup_s = time.perf_counter() - setup_started
    everything = sorted(chain.state.iter_prefix(""))
    tree = MemoryTreeNodes()
    tree.apply(everything)

    idle_s, idle_writes = chain.block([], due_ms - 1)
    before = int(chain.state.get(f"tokens/bal/CNY-e/{LENDER}") or 0)
    hook_s, writes = chain.block([], due_ms)
    after = int(chain.state.get(f"tokens/bal/CNY-e/{LENDER}") or 0)
    collected = (after - before) // (PRINCIPAL_MINOR // INSTALMENTS)
    tree_started = time.perf_counter()
    tree.apply(sorted(writes))
    tree_s = time.perf_counter() - tree_started

    report.add(
        "setup",
        setup_s,
        "s",
        f"{options.count:,} vehicles and loans, {len(people):,} borrowers, through execute_block",
    )
    report.add("state keys before the due block", len(everything), "keys")
    report.add(
        "block with nothing due",
        idle_s * 1000,
        "ms",
        f"execute_block of an empty block, hook included; {len(idle_writes)} writes",
    )
    report.add("block with every instalment due", hook_s, "s", "execute_block of an empty block")
    report.add("instalments collected", collected, "", "counted from the lender's balance")
    report.add(
        "time per due instalment",
        hook_s / collected * 1e6 if collected else None,
        "µs",
        "the block's execution / instalments collected",
    )
    report.add("write set", len(writes), "keys", "loans, balances, the due queue")
    report.add(
        "state-tree update of the write set",
        tree_s,
        "s",
        f"{tree_s / max(1, len(writes)) * 1e6:.1f} µs per written key, in memory",
    )
    report.ok = collected == options.count
    if not report.ok:
        report.notes.append(f"{collected} of {options.count} instalments collected in the block")
    return report
