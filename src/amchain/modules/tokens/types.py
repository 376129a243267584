"""Wire arguments, genesis, state records, events and query types of the ``tokens`` module.

Amounts are integers in a denomination's minor units (``amount_minor``; AMCT has 6 decimals,
so 1 AMCT is 1,000,000 minor units) and fit the codec's integer range, ±(2^53 − 1).
Accounts are DIDs (``did:amc:…``: a person, an organisation, a vehicle).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import DidText, IdText, NameText

__all__ = [
    "AccountBalance",
    "AccountParams",
    "AccountView",
    "AllowanceParams",
    "AllowanceView",
    "AmctGenesis",
    "ApproveArgs",
    "ApproveReleaseArgs",
    "BalanceParams",
    "BalanceView",
    "BurnArgs",
    "Council",
    "CreateDenominationArgs",
    "DenomParams",
    "Denomination",
    "DenominationCreated",
    "DenominationList",
    "ExecuteReleaseArgs",
    "GenesisDenomination",
    "GenesisPool",
    "MintArgs",
    "Pool",
    "PoolReleased",
    "PoolRule",
    "PoolView",
    "PoolsView",
    "ProposalParams",
    "ProposalStatus",
    "ProposeReleaseArgs",
    "ReleaseApproved",
    "ReleasePoolArgs",
    "ReleaseProposal",
    "ReleaseProposed",
    "Schedule",
    "TokensApproval",
    "TokensGenesis",
    "TokensTransfer",
    "TransferArgs",
    "TransferFromArgs",
]

Denom = Annotated[
    IdText,
    msgspec.Meta(description="denomination, e.g. AMCT or CNY-e ([A-Za-z][A-Za-z0-9-]{1,15})"),
]
Account = Annotated[DidText, msgspec.Meta(description="an account: a did:amc DID")]
AmountMinor = Annotated[
    int, msgspec.Meta(description="amount in the denomination's minor units, at least 1")
]
ProposalId = Annotated[
    IdText,
    msgspec.Meta(description="the proposal's id ([A-Za-z0-9._-]{1,64}), chosen by its proposer"),
]


# Query parameters carry their patterns in the schema (a request outside them is refused by
# the decoder, 400); message arguments are checked by the module, with its own codes.
MAX_HOLDERS_PAGE = 500
DenomParam = Annotated[
    str,
    msgspec.Meta(
        pattern="^[A-Za-z][A-Za-z0-9-]{1,15}$", description="denomination, e.g. AMCT or CNY-e"
    ),
]
AccountParam = Annotated[
    str,
    msgspec.Meta(pattern="^did:amc:[A-Za-z0-9._:-]{1,200}$", description="an account: a DID"),
]
ProposalIdParam = Annotated[
    str, msgspec.Meta(pattern="^[A-Za-z0-9._-]{1,64}$", description="the proposal's id")
]


class PoolRule(StrEnum):
    """How an AMCT pool releases what it holds."""

    REWARDS = "rewards"
    """Only by the reward rules (data mining, eco-driving), never by hand."""
    GENESIS = "genesis"
    """All of it to its beneficiary at genesis."""
    SCHEDULE = "schedule"
    """Locked, then a fixed amount each period to its beneficiary (the block hook)."""
    APPROVALS = "approvals"
    """When enough foundation signers approve a release (a proposal, then its execution)."""


class ProposalStatus(StrEnum):
    OPEN = "open"
    EXECUTED = "executed"


# --- wire arguments ---------------------------------------------------------------------------


class CreateDenominationArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``tokens.create_denomination``: a settlement token the signing financier issues
    against money it holds (e.g. ``CNY-e``)."""

    denom: Denom
    name: Annotated[NameText, msgspec.Meta(description="what it is, e.g. 'e-CNY settlement token'")]
    decimals: Annotated[int, msgspec.Meta(description="minor units per unit, as 10^decimals")]


class MintArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``tokens.mint``: the issuer creates ``amount_minor`` and credits ``to``."""

    denom: Denom
    to: Account
    amount_minor: AmountMinor


class BurnArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``tokens.burn``: the issuer destroys ``amount_minor`` of its own balance (money paid
    out)."""

    denom: Denom
    amount_minor: AmountMinor


class TransferArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``tokens.transfer``: move ``amount_minor`` from the signer's account to ``to``."""

    denom: Denom
    to: Account
    amount_minor: AmountMinor
    from_account: (
        Annotated[
            DidText,
            msgspec.Meta(description="the paying account (default: the first signer's DID)"),
        ]
        | None
    ) = None


class ApproveArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``tokens.approve``: ``spender`` may move up to ``amount_minor`` from the owner's
    account; a new approval replaces the old one (0 withdraws it)."""

    denom: Denom
    spender: Account
    amount_minor: Annotated[int, msgspec.Meta(description="the allowance, 0 or more")]
    owner: (
        Annotated[DidText, msgspec.Meta(description="the owner (default: the first signer's DID)")]
        | None
    ) = None


class TransferFromArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``tokens.transfer_from``: the spender moves ``amount_minor`` from ``owner`` to ``to``
    within its allowance."""

    denom: Denom
    owner: Account
    to: Account
    amount_minor: AmountMinor
    spender: (
        Annotated[
            DidText,
            msgspec.Meta(description="the spending account (default: the first signer's DID)"),
        ]
        | None
    ) = None


class ReleasePoolArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``tokens.release_pool``: release what a scheduled pool has due now (the block hook
    does the same at the end of every block)."""

    pool: Annotated[IdText, msgspec.Meta(description="pool name, e.g. technology")]


class ProposeReleaseArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``tokens.propose_release``: a foundation signer proposes a release from an
    approval-gated pool (its own approval counts)."""

    proposal_id: ProposalId
    pool: Annotated[IdText, msgspec.Meta(description="pool name, e.g. operations")]
    to: Account
    amount_minor: AmountMinor
    purpose: Annotated[NameText, msgspec.Meta(description="what the release pays for (published)")]


class ApproveReleaseArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``tokens.approve_release``: another foundation signer approves a proposal."""

    proposal_id: ProposalId


class ExecuteReleaseArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``tokens.execute_release``: release a proposal that has enough approvals."""

    proposal_id: ProposalId


# --- genesis ----------------------------------------------------------------------------------


class GenesisPool(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One AMCT pool at genesis: its share of the total supply and its rule."""

    name: str
    share_bp: Annotated[int, msgspec.Meta(description="share of the total supply, basis points")]
    rule: Annotated[str, msgspec.Meta(description="rewards, genesis, schedule or approvals")]
    beneficiary: str | None = None
    """Who receives its releases (genesis and schedule pools)."""
    lock_ms: int = 0
    """Schedule pools: how long after genesis the first release falls due."""
    period_ms: int = 0
    """Schedule pools: time between releases."""
    per_period_bp: int = 0
    """Schedule pools: each release, in basis points of the total supply."""


class AmctGenesis(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The platform token: a fixed total supply held in pools at genesis."""

    denom: str = "AMCT"
    name: str = "AutoMobile Chain Token"
    decimals: int = 6
    total_supply_minor: int
    pools: list[GenesisPool]
    foundation_signers: list[str]
    """DIDs whose approvals release from approval-gated pools."""
    approvals_needed: int


class GenesisDenomination(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A settlement token that exists from genesis (issued later, by its issuer)."""

    denom: str
    name: str
    decimals: int
    issuer: str


class TokensGenesis(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The ``tokens`` section of the genesis document."""

    amct: AmctGenesis | None = None
    denominations: list[GenesisDenomination] = []


# --- state records ----------------------------------------------------------------------------


class Denomination(msgspec.Struct, frozen=True, kw_only=True):
    """``tokens/denom/<denom>``. ``supply_minor`` is the sum of every account's balance;
    a fixed-supply denomination (AMCT) also has ``total_supply_minor``, the rest held by
    its pools."""

    denom: str
    name: str
    decimals: int
    issuer: str | None
    """The DID that may mint and burn; None for a fixed supply."""
    supply_minor: int
    total_supply_minor: int | None = None
    created_height: int = 0


class Pool(msgspec.Struct, frozen=True, kw_only=True):
    """``tokens/pool/<name>``: AMCT the module holds until its rule releases it."""

    name: str
    denom: str
    rule: str
    total_minor: int
    released_minor: int
    beneficiary: str | None = None
    unlock_at_ms: int | None = None
    period_ms: int = 0
    per_period_minor: int = 0
    next_release_at_ms: int | None = None
    """Schedule pools: when the next release falls due (None once empty)."""


class Schedule(msgspec.Struct, frozen=True):
    """``tokens/schedule``: the scheduled pools and the earliest time one falls due."""

    pools: list[str]
    next_release_at_ms: int | None


class Council(msgspec.Struct, frozen=True):
    """``tokens/council``: who approves releases from approval-gated pools, and how many."""

    signers: list[str]
    approvals_needed: int


class ReleaseProposal(msgspec.Struct, frozen=True, kw_only=True):
    """``tokens/proposal/<id>``."""

    id: str
    pool: str
    to: str
    amount_minor: int
    purpose: str
    proposer: str
    approvals: list[str]
    """Foundation signers' DIDs, in the order they approved (the proposer first)."""
    status: str
    proposed_height: int
    executed_height: int | None = None


# --- events -----------------------------------------------------------------------------------


class TokensTransfer(EventAttributes, frozen=True, kw_only=True):
    """Tokens moved: a mint or a pool release comes from nobody (``from_account`` null),
    a burn goes to nobody (``to_account`` null)."""

    event_type = "tokens.transfer"
    denom: str
    from_account: str | None
    to_account: str | None
    amount_minor: int
    spender: str | None = None
    """Set when an allowance was spent (``transfer_from``)."""


class TokensApproval(EventAttributes, frozen=True, kw_only=True):
    """An allowance was set (replacing the one before)."""

    event_type = "tokens.approval"
    denom: str
    owner: str
    spender: str
    amount_minor: int


class DenominationCreated(EventAttributes, frozen=True, kw_only=True):
    """A settlement token was created."""

    event_type = "tokens.denomination_created"
    denom: str
    issuer: str
    decimals: int


class PoolReleased(EventAttributes, frozen=True, kw_only=True):
    """A pool released AMCT into an account (by schedule, or by an approved proposal)."""

    event_type = "tokens.pool_released"
    pool: str
    to_account: str
    amount_minor: int
    released_minor: int
    """The pool's released total after this release."""
    purpose: str = ""
    proposal_id: str | None = None


class ReleaseProposed(EventAttributes, frozen=True, kw_only=True):
    """A foundation signer proposed a release."""

    event_type = "tokens.release_proposed"
    proposal_id: str
    pool: str
    to_account: str
    amount_minor: int
    purpose: str
    proposer: str


class ReleaseApproved(EventAttributes, frozen=True, kw_only=True):
    """A foundation signer approved a proposal."""

    event_type = "tokens.release_approved"
    proposal_id: str
    approver: str
    approvals: int
    approvals_needed: int


# --- queries ----------------------------------------------------------------------------------


class DenomParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which denomination."""

    denom: DenomParam


class BalanceParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which balance."""

    denom: DenomParam
    account: AccountParam


class AccountParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which account."""

    account: AccountParam


class AllowanceParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which allowance."""

    denom: DenomParam
    owner: AccountParam
    spender: AccountParam


class ProposalParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which release proposal."""

    proposal_id: ProposalIdParam


class HoldersParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Which denomination's holders, one page at a time (in account order)."""

    denom: DenomParam
    after: (
        Annotated[
            str,
            msgspec.Meta(
                pattern="^did:amc:[A-Za-z0-9._:-]{1,200}$",
                description="start after this account (the last page's next_after)",
            ),
        ]
        | None
    ) = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_HOLDERS_PAGE, description="page size")] = 50


class Holder(msgspec.Struct, frozen=True):
    account: str
    amount_minor: int


class HoldersView(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a denomination's holders (non-zero balances), in account order."""

    denom: str
    decimals: int
    holders: list[Holder]
    next_after: str | None
    """Pass as ``after`` for the next page; None on the last one."""


class DenominationList(msgspec.Struct, frozen=True):
    denominations: list[Denomination]


class BalanceView(msgspec.Struct, frozen=True, kw_only=True):
    """An account's balance in one denomination (``proof``: a ``state`` bundle of the
    balance's key, checked by ``amchain verify``)."""

    denom: str
    account: str
    amount_minor: int
    decimals: int
    proof: dict[str, Any] | None = None


class AccountBalance(msgspec.Struct, frozen=True):
    denom: str
    amount_minor: int
    decimals: int


class AccountView(msgspec.Struct, frozen=True):
    """An account's non-zero balances, by denomination."""

    account: str
    balances: list[AccountBalance]


class AllowanceView(msgspec.Struct, frozen=True, kw_only=True):
    denom: str
    owner: str
    spender: str
    amount_minor: int


class PoolView(msgspec.Struct, frozen=True, kw_only=True):
    """A pool as people read it: released, still locked, and what comes next."""

    name: str
    rule: str
    total_minor: int
    released_minor: int
    locked_minor: int
    beneficiary: str | None
    unlock_at_ms: int | None
    next_release_at_ms: int | None
    next_release_minor: int


class PoolsView(msgspec.Struct, frozen=True, kw_only=True):
    """AMCT's pools: they and the circulating supply add up to the total supply."""

    denom: str
    decimals: int
    total_supply_minor: int
    circulating_minor: int
    held_by_pools_minor: int
    pools: list[PoolView]
    foundation_signers: list[str]
    approvals_needed: int
