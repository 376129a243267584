"""The tokens module through the real runtime (genesis from the specs, signed transactions,
``execute_block`` with the end-of-block hook): ERC-20 transfers and allowances, settlement
tokens, AMCT's pools and their schedule, releases approved k of n, and the supply
invariants under any sequence of transactions (hypothesis)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amchain.crypto import KeyPair
from amchain.ledger import MemoryState, Receipt
from amchain.modules import consortium, tokens
from amchain.modules.base import ROLES, GenesisContext, GenesisMember
from amchain.modules.tokens import (
    AMCT_TOTAL_SUPPLY_MINOR,
    QUARTER_MS,
    YEAR_MS,
    TokensCode,
    TokensError,
    balance_of,
    keeper,
    supply_of,
)
from amchain.sdk import build_tx
from tests.modules.runtime_chain import T0, RuntimeChain, org

AMCT = 1_000_000
MAX_SAFE = 2**53 - 1


class TokenChain(RuntimeChain):
    def __init__(self) -> None:
        super().__init__("tokens")

    def balance(self, denom: str, account: str) -> int:
        return balance_of(self.state, denom, account)

    def pool(self, name: str) -> dict[str, Any]:
        pool = keeper.read_pool(self.state, name)
        assert pool is not None
        return {
            "total": pool.total_minor,
            "released": pool.released_minor,
            "next": pool.next_release_at_ms,
        }


def refused(receipt: Receipt, code: TokensCode) -> None:
    assert not receipt.ok, "expected a refusal"
    assert (receipt.codespace, receipt.code) == ("tokens", int(code)), receipt.message


@pytest.fixture
def chain() -> TokenChain:
    return TokenChain()


# --- genesis ------------------------------------------------------------------------------------


def test_amct_pools_add_up_to_the_total_with_only_the_ido_unlocked(chain: TokenChain) -> None:
    totals = {
        name: chain.pool(name)["total"]
        for name in ("mining", "ido", "technology", "operations", "foundation")
    }
    assert totals == {
        "mining": 129_000_000 * AMCT,
        "ido": 60_000_000 * AMCT,
        "technology": 37_500_000 * AMCT,
        "operations": 28_500_000 * AMCT,
        "foundation": 45_000_000 * AMCT,
    }
    assert sum(totals.values()) == AMCT_TOTAL_SUPPLY_MINOR == 300_000_000 * AMCT
    assert chain.balance("AMCT", org("financier")) == 60_000_000 * AMCT  # the distribution account
    assert supply_of(chain.state, "AMCT") == 60_000_000 * AMCT
    assert chain.pool("technology")["next"] == T0 + 3 * YEAR_MS
    assert chain.pool("foundation")["next"] == T0 + 5 * YEAR_MS
    assert supply_of(chain.state, "CNY-e") == 0


# --- transfers and allowances -------------------------------------------------------------------


def test_a_transfer_moves_tokens_and_says_who_paid_whom(chain: TokenChain) -> None:
    _, alice = chain.person()
    receipt = chain.send(
        "transfer",
        {"denom": "AMCT", "to": alice, "amount_minor": 1_500 * AMCT},
        chain.keys["financier"],
    )
    assert receipt.ok, receipt.message
    (event,) = [e for e in receipt.events if e.type == "tokens.transfer"]
    assert event.attributes == {
        "denom": "AMCT",
        "from_account": org("financier"),
        "to_account": alice,
        "amount_minor": 1_500 * AMCT,
        "spender": None,
    }
    assert chain.balance("AMCT", alice) == 1_500 * AMCT
    assert chain.balance("AMCT", org("financier")) == (60_000_000 - 1_500) * AMCT


def test_a_transfer_beyond_the_balance_is_refused_and_changes_nothing(chain: TokenChain) -> None:
    alice_key, alice = chain.person()
    chain.send(
        "transfer", {"denom": "AMCT", "to": alice, "amount_minor": 10}, chain.keys["financier"]
    )
    before = dict(chain.state.iter_prefix("tokens/"))
    receipt = chain.send(
        "transfer", {"denom": "AMCT", "to": org("dealer"), "amount_minor": 11}, alice_key
    )
    refused(receipt, TokensCode.INSUFFICIENT_BALANCE)
    assert receipt.details["balance_minor"] == 10
    assert dict(chain.state.iter_prefix("tokens/")) == before


@pytest.mark.parametrize("amount", [0, -1, -(10**15)])
def test_a_zero_or_negative_amount_is_refused(chain: TokenChain, amount: int) -> None:
    receipt = chain.send(
        "transfer",
        {"denom": "AMCT", "to": org("dealer"), "amount_minor": amount},
        chain.keys["financier"],
    )
    refused(receipt, TokensCode.INVALID_AMOUNT)


def test_an_amount_beyond_the_codec_range_cannot_even_be_signed() -> None:
    from amchain.sdk import TxBuildError

    with pytest.raises(TxBuildError, match="invalid transaction"):
        build_tx(
            chain_id="test",
            signers=KeyPair.generate(),
            module="tokens",
            message="transfer",
            args={"denom": "AMCT", "to": org("dealer"), "amount_minor": MAX_SAFE + 1},
        )


def test_a_transfer_to_an_unknown_account_is_refused(chain: TokenChain) -> None:
    for to in ("did:amc:org:nobody", "did:amc:z6MkNotAKeyAtAll", "alice", "did:amc:org:a/b"):
        receipt = chain.send(
            "transfer", {"denom": "AMCT", "to": to, "amount_minor": 1}, chain.keys["financier"]
        )
        refused(receipt, TokensCode.UNKNOWN_ACCOUNT)


def test_paying_from_an_account_the_signer_does_not_hold_is_refused(chain: TokenChain) -> None:
    receipt = chain.send(
        "transfer",
        {"denom": "AMCT", "to": org("dealer"), "amount_minor": 1, "from_account": org("financier")},
        chain.keys["oem"],
    )
    refused(receipt, TokensCode.NOT_ACCOUNT_HOLDER)


def test_an_allowance_is_spent_down_and_a_new_approval_replaces_it(chain: TokenChain) -> None:
    alice_key, alice = chain.person()
    chain.send(
        "transfer", {"denom": "AMCT", "to": alice, "amount_minor": 1_000}, chain.keys["financier"]
    )
    dealer = chain.keys["dealer"]
    assert chain.send(
        "approve", {"denom": "AMCT", "spender": org("dealer"), "amount_minor": 300}, alice_key
    ).ok
    ok = chain.send(
        "transfer_from",
        {"denom": "AMCT", "owner": alice, "to": org("dealer"), "amount_minor": 200},
        dealer,
    )
    assert ok.ok, ok.message
    assert ok.events[0].attributes["spender"] == org("dealer")
    over = chain.send(
        "transfer_from",
        {"denom": "AMCT", "owner": alice, "to": org("dealer"), "amount_minor": 101},
        dealer,
    )
    refused(over, TokensCode.INSUFFICIENT_ALLOWANCE)
    assert over.details["allowance_minor"] == 100
    # approve overwrites (ERC-20), it does not add
    chain.send(
        "approve", {"denom": "AMCT", "spender": org("dealer"), "amount_minor": 50}, alice_key
    )
    refused(
        chain.send(
            "transfer_from",
            {"denom": "AMCT", "owner": alice, "to": org("dealer"), "amount_minor": 51},
            dealer,
        ),
        TokensCode.INSUFFICIENT_ALLOWANCE,
    )
    # an allowance beyond the balance: the balance refuses
    chain.send(
        "approve", {"denom": "AMCT", "spender": org("dealer"), "amount_minor": 5_000}, alice_key
    )
    refused(
        chain.send(
            "transfer_from",
            {"denom": "AMCT", "owner": alice, "to": org("dealer"), "amount_minor": 801},
            dealer,
        ),
        TokensCode.INSUFFICIENT_BALANCE,
    )
    assert chain.balance("AMCT", alice) == 800


# --- settlement tokens --------------------------------------------------------------------------


def test_only_the_issuer_mints_and_burns_and_amct_has_a_fixed_supply(chain: TokenChain) -> None:
    financier, oem = chain.keys["financier"], chain.keys["oem"]
    minted = chain.send(
        "mint", {"denom": "CNY-e", "to": org("oem"), "amount_minor": 10_000}, financier
    )
    assert minted.ok, minted.message
    (event,) = minted.events
    assert (event.attributes["from_account"], event.attributes["to_account"]) == (None, org("oem"))
    refused(
        chain.send("mint", {"denom": "CNY-e", "to": org("oem"), "amount_minor": 1}, oem),
        TokensCode.NOT_ISSUER,
    )
    refused(
        chain.send("mint", {"denom": "AMCT", "to": org("oem"), "amount_minor": 1}, financier),
        TokensCode.FIXED_SUPPLY,
    )
    chain.send("transfer", {"denom": "CNY-e", "to": org("financier"), "amount_minor": 4_000}, oem)
    refused(
        chain.send("burn", {"denom": "CNY-e", "amount_minor": 4_001}, financier),
        TokensCode.INSUFFICIENT_BALANCE,
    )
    burnt = chain.send("burn", {"denom": "CNY-e", "amount_minor": 4_000}, financier)
    assert burnt.ok and burnt.events[0].attributes["to_account"] is None
    assert supply_of(chain.state, "CNY-e") == 6_000 == chain.balances_sum("CNY-e")
    refused(
        chain.send(
            "mint", {"denom": "CNY-e", "to": org("oem"), "amount_minor": MAX_SAFE}, financier
        ),
        TokensCode.SUPPLY_LIMIT,
    )


def test_a_financier_creates_a_settlement_token_and_nobody_else_can(chain: TokenChain) -> None:
    args = {"denom": "USD-e", "name": "e-USD settlement token", "decimals": 2}
    receipt = chain.send("create_denomination", args, chain.keys["financier"])
    assert receipt.ok, receipt.message
    assert receipt.events[0].attributes["issuer"] == org("financier")
    refused(
        chain.send("create_denomination", args, chain.keys["financier"]), TokensCode.DENOM_EXISTS
    )
    by_oem = chain.send("create_denomination", {**args, "denom": "JPY-e"}, chain.keys["oem"])
    assert (by_oem.ok, by_oem.codespace) == (False, "tx")  # the runtime's role check
    bad = chain.send("create_denomination", {**args, "denom": "1x"}, chain.keys["financier"])
    refused(bad, TokensCode.INVALID_DENOM)


# --- AMCT's pools -------------------------------------------------------------------------------


def test_a_technology_release_before_year_three_is_refused(chain: TokenChain) -> None:
    receipt = chain.send("release_pool", {"pool": "technology"}, chain.keys["oem"])
    refused(receipt, TokensCode.RELEASE_NOT_DUE)
    assert receipt.details["next_release_at_ms"] == T0 + 3 * YEAR_MS
    chain.block([], at_ms=T0 + 3 * YEAR_MS - 1)
    assert chain.pool("technology")["released"] == 0 and chain.hook_receipts == []


def test_the_block_hook_releases_two_percent_a_year_after_the_lock(chain: TokenChain) -> None:
    oem_before = chain.balance("AMCT", org("oem"))
    chain.block([], at_ms=T0 + 3 * YEAR_MS)
    assert chain.pool("technology")["released"] == 6_000_000 * AMCT  # 2 % of 300 M
    assert chain.balance("AMCT", org("oem")) - oem_before == 6_000_000 * AMCT
    (hook,) = chain.hook_receipts
    assert hook.ok and hook.tx_hash == "end_block/tokens"
    released = [e.attributes for e in hook.events if e.type == "tokens.pool_released"]
    assert released == [
        {
            "pool": "technology",
            "to_account": org("oem"),
            "amount_minor": 6_000_000 * AMCT,
            "released_minor": 6_000_000 * AMCT,
            "purpose": "technology schedule",
            "proposal_id": None,
        }
    ]
    refused(
        chain.send("release_pool", {"pool": "technology"}, chain.keys["oem"]),
        TokensCode.RELEASE_NOT_DUE,
    )
    # ten years on in one block: every release due, the last one what was left
    chain.block([], at_ms=T0 + 13 * YEAR_MS)
    technology = chain.pool("technology")
    assert technology["released"] == technology["total"] and technology["next"] is None
    foundation = chain.pool("foundation")
    assert foundation["released"] == foundation["total"] == 15 * 3_000_000 * AMCT
    refused(
        chain.send("release_pool", {"pool": "technology"}, chain.keys["oem"]), TokensCode.POOL_EMPTY
    )
    assert supply_of(chain.state, "AMCT") == chain.balances_sum("AMCT")


def test_release_pool_releases_what_is_due_before_the_hook_does(chain: TokenChain) -> None:
    chain.block([], at_ms=T0 + 5 * YEAR_MS - 10)
    tx = build_tx(
        chain_id="test",
        signers=chain.keys["dealer"],
        module="tokens",
        message="release_pool",
        args={"pool": "foundation"},
    )
    (receipt,) = chain.block([tx], at_ms=T0 + 5 * YEAR_MS + QUARTER_MS)
    assert receipt.ok, receipt.message
    assert chain.pool("foundation")["released"] == 2 * 3_000_000 * AMCT  # two quarters due
    assert chain.pool("foundation")["next"] == T0 + 5 * YEAR_MS + 2 * QUARTER_MS


def test_the_mining_and_operations_pools_are_never_released_by_hand(chain: TokenChain) -> None:
    refused(
        chain.send("release_pool", {"pool": "mining"}, chain.keys["oem"]),
        TokensCode.RELEASED_BY_RULES_ONLY,
    )
    refused(
        chain.send("release_pool", {"pool": "operations"}, chain.keys["oem"]),
        TokensCode.RELEASE_NEEDS_APPROVALS,
    )
    refused(chain.send("release_pool", {"pool": "ido"}, chain.keys["oem"]), TokensCode.POOL_EMPTY)
    refused(
        chain.send("release_pool", {"pool": "nope"}, chain.keys["oem"]), TokensCode.UNKNOWN_POOL
    )


def test_an_operations_release_needs_k_approvals_each_counted_once(chain: TokenChain) -> None:
    oem, financier, regulator = (chain.keys[r] for r in ("oem", "financier", "regulator"))
    proposal = {
        "proposal_id": "ops-1",
        "pool": "operations",
        "to": org("dealer"),
        "amount_minor": 250_000 * AMCT,
        "purpose": "dealer onboarding grants",
    }
    refused(
        chain.send("propose_release", proposal, chain.keys["dealer"]),
        TokensCode.NOT_FOUNDATION_SIGNER,
    )
    assert chain.send("propose_release", proposal, oem).ok
    refused(chain.send("propose_release", proposal, financier), TokensCode.PROPOSAL_EXISTS)
    # k − 1 = 1 approval
    refused(
        chain.send("execute_release", {"proposal_id": "ops-1"}, oem),
        TokensCode.NOT_ENOUGH_APPROVALS,
    )
    refused(
        chain.send("approve_release", {"proposal_id": "ops-1"}, oem), TokensCode.DUPLICATE_APPROVAL
    )
    approved = chain.send("approve_release", {"proposal_id": "ops-1"}, regulator)
    assert approved.ok and approved.events[0].attributes["approvals"] == 2
    executed = chain.send("execute_release", {"proposal_id": "ops-1"}, financier)
    assert executed.ok, executed.message
    release = next(e.attributes for e in executed.events if e.type == "tokens.pool_released")
    assert release["purpose"] == "dealer onboarding grants"
    assert release["proposal_id"] == "ops-1"
    assert chain.balance("AMCT", org("dealer")) == 250_000 * AMCT
    refused(
        chain.send("execute_release", {"proposal_id": "ops-1"}, financier),
        TokensCode.PROPOSAL_CLOSED,
    )
    too_much = {**proposal, "proposal_id": "ops-2", "amount_minor": 28_500_000 * AMCT}
    refused(chain.send("propose_release", too_much, oem), TokensCode.POOL_EXHAUSTED)


# --- invariants under any sequence (hypothesis) -------------------------------------------------

ACTORS = ("financier", "oem", "dealer")
DENOMS = ("AMCT", "CNY-e")
amounts = st.one_of(
    st.integers(min_value=1, max_value=3_000),  # mostly within the seeded balances
    st.integers(min_value=1, max_value=3_000),
    st.integers(min_value=-5, max_value=0),
    st.integers(min_value=1, max_value=70_000_000 * AMCT),
)


def _op(kind: str, amount: st.SearchStrategy[int] = amounts) -> st.SearchStrategy[Any]:
    actor = st.sampled_from(ACTORS)
    return st.tuples(st.just(kind), actor, actor, st.sampled_from(DENOMS), amount)


operation = st.one_of(
    *(_op(kind) for kind in ("transfer", "approve", "transfer_from", "mint", "burn")),
    _op("wait_years", st.integers(min_value=0, max_value=4)),
)


def _tx(chain: TokenChain, op: tuple[str, str, str, str, int]) -> Any:
    kind, actor, other, denom, amount = op
    args: dict[str, Any]
    signer = chain.keys[actor]
    if kind == "transfer":
        args = {"denom": denom, "to": org(other), "amount_minor": amount}
    elif kind == "approve":
        args = {"denom": denom, "spender": org(other), "amount_minor": max(amount, 0)}
    elif kind == "transfer_from":  # ``other`` spends ``actor``'s allowance
        args = {"denom": denom, "owner": org(actor), "to": org(other), "amount_minor": amount}
        signer = chain.keys[other]
    elif kind == "mint":
        args = {"denom": denom, "to": org(other), "amount_minor": amount}
    else:
        args = {"denom": denom, "amount_minor": amount}
    return build_tx(chain_id="test", signers=signer, module="tokens", message=kind, args=args)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(operation, min_size=1, max_size=4), min_size=1, max_size=8))
def test_balances_always_add_up_to_each_supply(blocks: list[list[Any]]) -> None:
    chain = TokenChain()
    financier = chain.keys["financier"]
    seed = [("transfer", "AMCT"), ("mint", "CNY-e")]
    chain.block(
        [
            build_tx(
                chain_id="test",
                signers=financier,
                module="tokens",
                message=message,
                args={"denom": denom, "to": org(actor), "amount_minor": 5_000},
            )
            for message, denom in seed
            for actor in ACTORS
            if (message, actor) != ("transfer", "financier")
        ]
    )
    for ops in blocks:
        waits = [op for op in ops if op[0] == "wait_years"]
        txs = [_tx(chain, op) for op in ops if op[0] != "wait_years"]
        years = sum(op[4] for op in waits)
        chain.block(txs, at_ms=chain.time_ms + years * YEAR_MS + 1_000)
        for denom in DENOMS:
            assert chain.balances_sum(denom) == supply_of(chain.state, denom)
        held = sum(p.total_minor - p.released_minor for p in keeper.read_pools(chain.state))
        assert supply_of(chain.state, "AMCT") + held == AMCT_TOTAL_SUPPLY_MINOR
        for _, raw in chain.state.iter_prefix("tokens/bal/"):
            assert 0 < int(raw) <= MAX_SAFE  # no negative or zero balance is ever stored


# --- genesis refusals ---------------------------------------------------------------------------


def _genesis_with(change: Any) -> None:
    """Apply the consortium's and the tokens module's dev sections, AMCT changed."""
    members = [
        GenesisMember(id=r, name=r, roles=(r,), admin_keys=(KeyPair.generate().public_key.hex(),))
        for r in ROLES
    ]
    assert consortium.SPEC.genesis is not None and tokens.SPEC.genesis is not None
    state = MemoryState()
    ctx = GenesisContext(chain_id="test", genesis_time_ms=T0, state=state)
    consortium.SPEC.genesis.init(ctx, consortium.SPEC.genesis.dev_default(members))
    section = tokens.SPEC.genesis.dev_default(members)
    tokens.SPEC.genesis.init(ctx, msgspec.structs.replace(section, amct=change(section.amct)))


def test_a_genesis_whose_pools_do_not_add_up_is_refused() -> None:
    def short(amct: Any) -> Any:
        return msgspec.structs.replace(amct, pools=amct.pools[:-1])

    def fraction(amct: Any) -> Any:
        return msgspec.structs.replace(amct, total_supply_minor=amct.total_supply_minor + 1)

    def stranger(amct: Any) -> Any:
        return msgspec.structs.replace(amct, foundation_signers=["did:amc:org:nobody"])

    for change, code in (
        (short, TokensCode.INVALID_GENESIS),
        (fraction, TokensCode.INVALID_GENESIS),
        (stranger, TokensCode.UNKNOWN_ACCOUNT),
    ):
        with pytest.raises(TokensError) as refused:
            _genesis_with(change)
        assert refused.value.code == code, refused.value.message
