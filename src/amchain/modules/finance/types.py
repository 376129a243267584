"""Wire arguments, state records, events and query types of the ``finance`` module:
supply-chain finance e-vouchers, vehicle loans with a lien, and standing orders.

Money is a ``tokens`` denomination (a settlement token such as ``CNY-e``) in minor units;
times are block time in ms; rates are basis points a year.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import DidText, HashText, IdText, ListOf, NameText

__all__ = [
    "CancelStandingOrderArgs",
    "CreateStandingOrderArgs",
    "DiscountPieceArgs",
    "InstalmentCollected",
    "InstalmentMissed",
    "IssueVoucherArgs",
    "Loan",
    "LoanClosed",
    "LoanDefaulted",
    "LoanParams",
    "LoanRecorded",
    "LoanStatus",
    "LoanView",
    "OrderParams",
    "OrderStatus",
    "Piece",
    "PieceDiscounted",
    "PieceStatus",
    "PieceTransferred",
    "RecordLoanArgs",
    "RedeemVoucherArgs",
    "RepayLoanArgs",
    "SplitPart",
    "SplitPieceArgs",
    "StandingOrder",
    "StandingOrderCancelled",
    "StandingOrderCreated",
    "StandingOrderPaid",
    "TransferPieceArgs",
    "Voucher",
    "VoucherIssued",
    "VoucherOverdue",
    "VoucherParams",
    "VoucherRedeemed",
    "VoucherSplit",
    "VoucherStatus",
    "VoucherView",
]

Id = Annotated[IdText, msgspec.Meta(description="an id of your choosing ([A-Za-z0-9._-]{1,64})")]
Account = Annotated[DidText, msgspec.Meta(description="an account: a did:amc DID")]
Denom = Annotated[IdText, msgspec.Meta(description="the settlement token, e.g. CNY-e")]
AmountMinor = Annotated[int, msgspec.Meta(description="amount in minor units, at least 1")]
TimeMs = Annotated[int, msgspec.Meta(description="block time, ms since the Unix epoch")]
IdParam = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9._-]{1,64}$", description="the id")]


class VoucherStatus(StrEnum):
    OUTSTANDING = "outstanding"
    REDEEMED = "redeemed"


class PieceStatus(StrEnum):
    HELD = "held"
    """Held by ``holder``, to be paid at maturity."""
    SPLIT = "split"
    """Split into pieces of its own (its children hold its amount)."""
    REDEEMED = "redeemed"


class LoanStatus(StrEnum):
    ACTIVE = "active"
    OVERDUE = "overdue"
    DEFAULT = "default"
    CLOSED = "closed"


class OrderStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    FINISHED = "finished"


# --- wire arguments: vouchers ------------------------------------------------------------------


class IssueVoucherArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``finance.issue_voucher``: a core enterprise (an OEM) confirms a payable to a tier-1
    supplier as an e-voucher, paid at maturity to whoever then holds its pieces."""

    voucher_id: Id
    supplier: Annotated[DidText, msgspec.Meta(description="the tier-1 supplier's organisation DID")]
    denom: Denom
    face_minor: AmountMinor
    maturity_ms: TimeMs
    payable_ref_hash: Annotated[
        HashText, msgspec.Meta(description="sha256 of the payable it confirms (64 lowercase hex)")
    ]


class SplitPart(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One new piece: who holds it and its amount."""

    to: Account
    amount_minor: AmountMinor


class SplitPieceArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``finance.split_piece``: the holder splits a piece into 2 to 16 pieces whose amounts
    add up to it, each to its holder (itself included)."""

    voucher_id: Id
    piece_no: Annotated[int, msgspec.Meta(description="the piece's number (0: the whole)")]
    parts: Annotated[list[SplitPart], ListOf]


class TransferPieceArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``finance.transfer_piece``: the holder passes a piece on (down the tiers)."""

    voucher_id: Id
    piece_no: int
    to: Account


class DiscountPieceArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``finance.discount_piece``: the holder sells a piece to a financier, who pays
    ``price_minor`` in the voucher's denomination in the same transaction (both sign)."""

    voucher_id: Id
    piece_no: int
    financier: Annotated[DidText, msgspec.Meta(description="the financier's organisation DID")]
    price_minor: AmountMinor


class RedeemVoucherArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``finance.redeem_voucher``: at maturity, the issuer pays every held piece."""

    voucher_id: Id


# --- wire arguments: loans and standing orders -------------------------------------------------


class RecordLoanArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``finance.record_loan``: a financier lends ``principal_minor`` to the vehicle's
    owner, with the vehicle as collateral (a lien), repaid in equal instalments."""

    loan_id: Id
    borrower: Account
    vin: Annotated[IdText, msgspec.Meta(description="the collateral's VIN")]
    denom: Denom
    principal_minor: AmountMinor
    rate_bp: Annotated[int, msgspec.Meta(description="interest, basis points a year (flat)")]
    instalments: Annotated[int, msgspec.Meta(description="how many instalments (1 to 600)")]
    first_due_ms: TimeMs
    period_ms: Annotated[int, msgspec.Meta(description="time between instalments, ms")]
    grace_ms: Annotated[
        int, msgspec.Meta(description="how long an instalment may stay unpaid before default")
    ]


class RepayLoanArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``finance.repay_loan``: the borrower pays now (arrears, or early)."""

    loan_id: Id
    amount_minor: AmountMinor


class CreateStandingOrderArgs(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True
):
    """``finance.create_standing_order``: pay ``amount_minor`` to ``payee`` every period
    (an insurance premium, a parking subscription), until cancelled or ``count`` times."""

    order_id: Id
    payee: Account
    denom: Denom
    amount_minor: AmountMinor
    first_due_ms: TimeMs
    period_ms: int
    count: Annotated[int, msgspec.Meta(description="how many payments; 0: until cancelled")] = 0
    purpose: Annotated[NameText, msgspec.Meta(description="what it pays for")] = ""


class CancelStandingOrderArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``finance.cancel_standing_order``: the payer stops it."""

    order_id: Id


# --- state records -----------------------------------------------------------------------------


class Voucher(msgspec.Struct, frozen=True, kw_only=True):
    """``finance/voucher/<id>``."""

    id: str
    issuer: str
    supplier: str
    denom: str
    face_minor: int
    maturity_ms: int
    payable_ref_hash: str
    status: str
    overdue: bool
    pieces: int
    """How many pieces were ever made (numbered 0 to pieces − 1)."""
    created_height: int
    redeemed_height: int | None = None


class Piece(msgspec.Struct, frozen=True, kw_only=True):
    """``finance/piece/<voucher id>/<no>``: a part of a voucher."""

    voucher_id: str
    no: int
    parent: int | None
    holder: str
    amount_minor: int
    status: str
    acquired_height: int
    discounted_price_minor: int | None = None
    """What the financier paid for it, if it was discounted."""


class Loan(msgspec.Struct, frozen=True, kw_only=True):
    """``finance/loan/<id>``."""

    id: str
    lender: str
    borrower: str
    vin: str
    denom: str
    principal_minor: int
    rate_bp: int
    instalments: int
    first_due_ms: int
    period_ms: int
    grace_ms: int
    instalment_minor: int
    last_instalment_minor: int
    total_due_minor: int
    paid_minor: int
    status: str
    overdue_since_ms: int | None
    next_check_ms: int | None
    created_height: int
    closed_height: int | None = None


class StandingOrder(msgspec.Struct, frozen=True, kw_only=True):
    """``finance/order/<id>``."""

    id: str
    payer: str
    payee: str
    denom: str
    amount_minor: int
    period_ms: int
    count: int
    purpose: str
    next_due_ms: int | None
    paid_count: int
    missed_count: int
    status: str
    created_height: int


# --- events ------------------------------------------------------------------------------------


class VoucherIssued(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.voucher_issued"
    voucher_id: str
    issuer: str
    supplier: str
    denom: str
    face_minor: int
    maturity_ms: int


class VoucherSplit(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.voucher_split"
    voucher_id: str
    piece_no: int
    into: list[int]


class PieceTransferred(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.piece_transferred"
    voucher_id: str
    piece_no: int
    from_account: str
    to_account: str
    amount_minor: int


class PieceDiscounted(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.piece_discounted"
    voucher_id: str
    piece_no: int
    seller: str
    financier: str
    amount_minor: int
    price_minor: int


class VoucherRedeemed(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.voucher_redeemed"
    voucher_id: str
    paid_pieces: int
    paid_minor: int


class VoucherOverdue(EventAttributes, frozen=True, kw_only=True):
    """A voucher a day past maturity and not redeemed."""

    event_type = "finance.voucher_overdue"
    voucher_id: str
    issuer: str
    maturity_ms: int


class LoanRecorded(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.loan_recorded"
    loan_id: str
    lender: str
    borrower: str
    vin: str
    principal_minor: int
    total_due_minor: int


class InstalmentCollected(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.instalment_collected"
    loan_id: str
    amount_minor: int
    paid_minor: int
    remaining_minor: int


class InstalmentMissed(EventAttributes, frozen=True, kw_only=True):
    """An instalment fell due and the borrower's balance could not pay the arrears."""

    event_type = "finance.instalment_missed"
    loan_id: str
    arrears_minor: int
    balance_minor: int
    overdue_since_ms: int


class LoanDefaulted(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.loan_defaulted"
    loan_id: str
    arrears_minor: int


class LoanClosed(EventAttributes, frozen=True, kw_only=True):
    """Repaid in full: the lien is released."""

    event_type = "finance.loan_closed"
    loan_id: str
    vin: str


class StandingOrderCreated(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.standing_order_created"
    order_id: str
    payer: str
    payee: str
    amount_minor: int
    first_due_ms: int


class StandingOrderPaid(EventAttributes, frozen=True, kw_only=True):
    """A standing order fell due: paid, or missed for want of balance."""

    event_type = "finance.standing_order_paid"
    order_id: str
    paid: bool
    amount_minor: int
    paid_count: int
    missed_count: int


class StandingOrderCancelled(EventAttributes, frozen=True, kw_only=True):
    event_type = "finance.standing_order_cancelled"
    order_id: str


# --- queries -----------------------------------------------------------------------------------


class VoucherParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which voucher."""

    voucher_id: IdParam


class LoanParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which loan."""

    loan_id: IdParam


class OrderParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which standing order."""

    order_id: IdParam


class VoucherView(msgspec.Struct, frozen=True, kw_only=True):
    """A voucher and every piece it was split into (the tree: ``parent`` links)."""

    voucher: Voucher
    pieces: list[Piece]
    held_minor: int
    """What the held pieces add up to (the face value until redeemed)."""


class LoanView(msgspec.Struct, frozen=True, kw_only=True):
    """A loan and where it stands."""

    loan: Loan
    remaining_minor: int
    arrears_minor: int
    instalments_due: int
