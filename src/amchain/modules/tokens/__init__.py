"""The ``tokens`` module: fungible tokens in integer minor units — AMCT with its fixed
supply in pools and their release schedule, and settlement tokens a financier issues.

Other modules pay through what this package exports (``balance_of``, ``move``,
``release_from_pool``); see ``README.md`` for state layout, messages, events, errors,
invariants and who may do what.
"""

from __future__ import annotations

from amchain.modules.base import (
    CliCommand,
    GenesisSpec,
    MessageSpec,
    ModuleSpec,
    NoParams,
    QuerySpec,
)
from amchain.modules.tokens import handlers, queries
from amchain.modules.tokens.demo import demo_steps
from amchain.modules.tokens.errors import TokensCode, TokensError
from amchain.modules.tokens.handlers import move, pay, pay_reward, release_from_pool
from amchain.modules.tokens.handlers.genesis import (
    AMCT_TOTAL_SUPPLY_MINOR,
    QUARTER_MS,
    YEAR_MS,
)
from amchain.modules.tokens.keys import allowance_state_key, balance_state_key
from amchain.modules.tokens.queries import balance_of, supply_of
from amchain.modules.tokens.types import (
    AccountParams,
    AccountView,
    AllowanceParams,
    AllowanceView,
    AmctGenesis,
    ApproveArgs,
    ApproveReleaseArgs,
    BalanceParams,
    BalanceView,
    BurnArgs,
    CreateDenominationArgs,
    Denomination,
    DenominationCreated,
    DenominationList,
    DenomParams,
    ExecuteReleaseArgs,
    GenesisDenomination,
    GenesisPool,
    HoldersParams,
    HoldersView,
    MintArgs,
    Pool,
    PoolReleased,
    PoolRule,
    PoolsView,
    ProposalParams,
    ProposeReleaseArgs,
    ReleaseApproved,
    ReleasePoolArgs,
    ReleaseProposal,
    ReleaseProposed,
    TokensApproval,
    TokensGenesis,
    TokensTransfer,
    TransferArgs,
    TransferFromArgs,
)

__all__ = [
    "AMCT_TOTAL_SUPPLY_MINOR",
    "QUARTER_MS",
    "SPEC",
    "YEAR_MS",
    "AccountView",
    "AmctGenesis",
    "ApproveArgs",
    "BalanceView",
    "BurnArgs",
    "CreateDenominationArgs",
    "Denomination",
    "GenesisDenomination",
    "GenesisPool",
    "MintArgs",
    "Pool",
    "PoolRule",
    "PoolsView",
    "ReleaseProposal",
    "TokensCode",
    "TokensError",
    "TokensGenesis",
    "TokensTransfer",
    "TransferArgs",
    "TransferFromArgs",
    "allowance_state_key",
    "balance_of",
    "balance_state_key",
    "move",
    "pay",
    "pay_reward",
    "release_from_pool",
    "supply_of",
]


def _index_to(args: MintArgs | TransferArgs) -> list[tuple[str, str]]:
    index = [("did", args.to)]
    if isinstance(args, TransferArgs) and args.from_account is not None:
        index.append(("did", args.from_account))
    return index


def _index_approve(args: ApproveArgs) -> list[tuple[str, str]]:
    index = [("did", args.spender)]
    if args.owner is not None:
        index.append(("did", args.owner))
    return index


def _index_transfer_from(args: TransferFromArgs) -> list[tuple[str, str]]:
    return [("did", args.owner), ("did", args.to)]


def _index_proposal(args: ProposeReleaseArgs) -> list[tuple[str, str]]:
    return [("did", args.to)]


SPEC = ModuleSpec(
    name="tokens",
    codespace="tokens",
    title="Tokens",
    description="Fungible tokens in integer minor units: AMCT with its pools and release "
    "schedule, and settlement tokens (CNY-e, EUR-e) a financier issues.",
    messages={
        "transfer": MessageSpec(
            name="transfer",
            args_type=TransferArgs,
            handler=handlers.transfer,
            summary="Move tokens from the signer's account to another account.",
            check=handlers.check_transfer,
            index=_index_to,
            signers="the paying account's key (a person's DID key or an organisation's key)",
            example={"denom": "AMCT", "to": "did:amc:org:dealer", "amount_minor": 1_000_000},
            cli=CliCommand(
                "token transfer",
                positional=("denom", "to", "amount_minor"),
                options={"--from": "from_account"},
                summary="Pay tokens to an account (amount in minor units: 1 AMCT = 1000000).",
            ),
        ),
        "approve": MessageSpec(
            name="approve",
            args_type=ApproveArgs,
            handler=handlers.approve,
            summary="Let a spender move up to an amount from your account (replaces the "
            "previous allowance; 0 withdraws it).",
            check=handlers.check_approve,
            index=_index_approve,
            signers="the owning account's key",
            example={"denom": "AMCT", "spender": "did:amc:org:dealer", "amount_minor": 100},
        ),
        "transfer_from": MessageSpec(
            name="transfer_from",
            args_type=TransferFromArgs,
            handler=handlers.transfer_from,
            summary="Move tokens from an owner's account within the allowance it gave you.",
            check=handlers.check_transfer_from,
            index=_index_transfer_from,
            signers="the spender's key",
            example={
                "denom": "AMCT",
                "owner": "did:amc:z6Mk…",
                "to": "did:amc:org:dealer",
                "amount_minor": 40,
            },
        ),
        "create_denomination": MessageSpec(
            name="create_denomination",
            args_type=CreateDenominationArgs,
            handler=handlers.create_denomination,
            summary="Create a settlement token issued by your organisation (a financier).",
            roles=handlers.roles_create_denomination,
            check=handlers.check_create_denomination,
            signers="a financier's key (the financier becomes the issuer)",
            example={"denom": "USD-e", "name": "e-USD settlement token", "decimals": 2},
        ),
        "mint": MessageSpec(
            name="mint",
            args_type=MintArgs,
            handler=handlers.mint,
            summary="Create tokens of a denomination you issue and credit an account.",
            check=handlers.check_mint,
            index=_index_to,
            signers="the denomination's issuer",
            example={"denom": "CNY-e", "to": "did:amc:org:oem", "amount_minor": 100_000},
        ),
        "burn": MessageSpec(
            name="burn",
            args_type=BurnArgs,
            handler=handlers.burn,
            summary="Destroy tokens of a denomination you issue, from your own balance.",
            check=handlers.check_burn,
            signers="the denomination's issuer",
            example={"denom": "CNY-e", "amount_minor": 100_000},
        ),
        "release_pool": MessageSpec(
            name="release_pool",
            args_type=ReleasePoolArgs,
            handler=handlers.release_pool,
            summary="Release what a scheduled AMCT pool has due now (refused before it is "
            "due, and for pools with other rules).",
            check=handlers.check_release_pool,
            signers="any known key",
            example={"pool": "technology"},
        ),
        "propose_release": MessageSpec(
            name="propose_release",
            args_type=ProposeReleaseArgs,
            handler=handlers.propose_release,
            summary="Propose a release from the operations pool (a foundation signer; its "
            "approval counts).",
            check=handlers.check_propose_release,
            index=_index_proposal,
            signers="a foundation signer",
            example={
                "proposal_id": "ops-2027-01",
                "pool": "operations",
                "to": "did:amc:org:dealer",
                "amount_minor": 250_000_000_000,
                "purpose": "dealer network onboarding grants",
            },
        ),
        "approve_release": MessageSpec(
            name="approve_release",
            args_type=ApproveReleaseArgs,
            handler=handlers.approve_release,
            summary="Approve a release proposal (each foundation signer once).",
            check=handlers.check_approve_release,
            signers="a foundation signer who has not approved it yet",
            example={"proposal_id": "ops-2027-01"},
        ),
        "execute_release": MessageSpec(
            name="execute_release",
            args_type=ExecuteReleaseArgs,
            handler=handlers.execute_release,
            summary="Release a proposal that has the approvals it needs.",
            check=handlers.check_execute_release,
            signers="a foundation signer",
            example={"proposal_id": "ops-2027-01"},
        ),
    },
    queries={
        "denominations": QuerySpec(
            name="denominations",
            params_type=NoParams,
            result_type=DenominationList,
            handler=queries.query_denominations,
            summary="Every denomination with its issuer and supply",
            path="/tokens/denominations",
        ),
        "denomination": QuerySpec(
            name="denomination",
            params_type=DenomParams,
            result_type=Denomination,
            handler=queries.query_denomination,
            summary="One denomination: its issuer and supply",
            path="/tokens/denominations/{denom}",
            not_found="there is no denomination {denom!r}",
            historical=True,
        ),
        "holders": QuerySpec(
            name="holders",
            params_type=HoldersParams,
            result_type=HoldersView,
            handler=queries.query_holders,
            summary="A page of a denomination's holders, in account order",
            path="/tokens/denominations/{denom}/holders",
            not_found="there is no denomination {denom!r}",
        ),
        "balance": QuerySpec(
            name="balance",
            params_type=BalanceParams,
            result_type=BalanceView,
            handler=queries.query_balance,
            summary="An account's balance in one denomination, optionally proven",
            path="/tokens/balances/{denom}/{account}",
            not_found="there is no denomination {denom!r}",
            proof="on_request",
            historical=True,
        ),
        "account": QuerySpec(
            name="account",
            params_type=AccountParams,
            result_type=AccountView,
            handler=queries.query_account,
            summary="An account's balances in every denomination",
            path="/tokens/accounts/{account}",
            cli=CliCommand(
                "token balance", positional=("account",), summary="An account's balances."
            ),
        ),
        "allowance": QuerySpec(
            name="allowance",
            params_type=AllowanceParams,
            result_type=AllowanceView,
            handler=queries.query_allowance,
            summary="What a spender may still move from an owner's account",
            path="/tokens/allowances/{denom}/{owner}/{spender}",
            historical=True,
        ),
        "pools": QuerySpec(
            name="pools",
            params_type=NoParams,
            result_type=PoolsView,
            handler=queries.query_pools,
            summary="AMCT's pools: released, locked and the next release of each",
            path="/tokens/pools",
            not_found="this chain has no AMCT pools",
            cli=CliCommand("token pools", summary="AMCT's pools: released, locked, next."),
        ),
        "proposal": QuerySpec(
            name="proposal",
            params_type=ProposalParams,
            result_type=ReleaseProposal,
            handler=queries.query_proposal,
            summary="A release proposal and its approvals",
            path="/tokens/proposals/{proposal_id}",
            not_found="there is no release proposal {proposal_id!r}",
        ),
    },
    events=(
        TokensTransfer,
        TokensApproval,
        DenominationCreated,
        PoolReleased,
        ReleaseProposed,
        ReleaseApproved,
    ),
    genesis=GenesisSpec(
        type=TokensGenesis, init=handlers.init_genesis, dev_default=handlers.dev_genesis
    ),
    end_block=handlers.end_block,
    demo=demo_steps,
)
