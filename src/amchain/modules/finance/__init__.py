"""The ``finance`` module: supply-chain finance e-vouchers, vehicle loans with a lien on the
vehicle, and standing orders — all paid in ``tokens`` settlement denominations, instalments
and payments collected by the block hook when they fall due.

See ``README.md`` for state layout, messages, events, errors, invariants and who may do what.
"""

from __future__ import annotations

from amchain.modules.base import CliCommand, MessageSpec, ModuleSpec, QuerySpec
from amchain.modules.finance import handlers, queries
from amchain.modules.finance.demo import demo_steps
from amchain.modules.finance.errors import FinanceCode, FinanceError
from amchain.modules.finance.handlers import due_so_far, instalments_due, lien_reference
from amchain.modules.finance.keys import (
    loan_state_key,
    order_state_key,
    piece_state_key,
    voucher_state_key,
)
from amchain.modules.finance.types import (
    CancelStandingOrderArgs,
    CreateStandingOrderArgs,
    DiscountPieceArgs,
    InstalmentCollected,
    InstalmentMissed,
    IssueVoucherArgs,
    Loan,
    LoanClosed,
    LoanDefaulted,
    LoanParams,
    LoanRecorded,
    LoanStatus,
    LoanView,
    OrderParams,
    Piece,
    PieceDiscounted,
    PieceStatus,
    PieceTransferred,
    RecordLoanArgs,
    RedeemVoucherArgs,
    RepayLoanArgs,
    SplitPieceArgs,
    StandingOrder,
    StandingOrderCancelled,
    StandingOrderCreated,
    StandingOrderPaid,
    TransferPieceArgs,
    Voucher,
    VoucherIssued,
    VoucherOverdue,
    VoucherParams,
    VoucherRedeemed,
    VoucherSplit,
    VoucherStatus,
    VoucherView,
)

__all__ = [
    "SPEC",
    "FinanceCode",
    "FinanceError",
    "Loan",
    "LoanStatus",
    "LoanView",
    "Piece",
    "PieceStatus",
    "StandingOrder",
    "Voucher",
    "VoucherStatus",
    "VoucherView",
    "due_so_far",
    "instalments_due",
    "lien_reference",
    "loan_state_key",
    "order_state_key",
    "piece_state_key",
    "voucher_state_key",
]


def _index_voucher(args: IssueVoucherArgs) -> list[tuple[str, str]]:
    return [("did", args.supplier)]


def _index_split(args: SplitPieceArgs) -> list[tuple[str, str]]:
    return [("did", part.to) for part in args.parts]


def _index_transfer(args: TransferPieceArgs) -> list[tuple[str, str]]:
    return [("did", args.to)]


def _index_discount(args: DiscountPieceArgs) -> list[tuple[str, str]]:
    return [("did", args.financier)]


def _index_loan(args: RecordLoanArgs) -> list[tuple[str, str]]:
    return [("did", args.borrower), ("vehicle", args.vin.upper())]


def _index_order(args: CreateStandingOrderArgs) -> list[tuple[str, str]]:
    return [("did", args.payee)]


SPEC = ModuleSpec(
    name="finance",
    codespace="finance",
    title="Finance",
    description="Supply-chain finance e-vouchers (split, passed down the tiers, discounted, "
    "redeemed at maturity), vehicle loans with a lien collected by the block hook, and "
    "standing orders.",
    messages={
        "issue_voucher": MessageSpec(
            name="issue_voucher",
            args_type=IssueVoucherArgs,
            handler=handlers.issue_voucher,
            summary="Confirm a payable to a tier-1 supplier as an e-voucher (an OEM signs).",
            roles=handlers.roles_issue_voucher,
            check=handlers.check_issue_voucher,
            index=_index_voucher,
            signers="an OEM's key (the core enterprise, who pays at maturity)",
            example={
                "voucher_id": "V-2027-001",
                "supplier": "did:amc:org:supplier",
                "denom": "CNY-e",
                "face_minor": 30_000_000,
                "maturity_ms": 1_830_000_000_000,
                "payable_ref_hash": "5e" * 32,
            },
            cli=CliCommand(
                "voucher issue",
                positional=("voucher_id", "supplier", "face_minor"),
                summary="Issue an e-voucher to a supplier (amount in minor units).",
            ),
        ),
        "split_piece": MessageSpec(
            name="split_piece",
            args_type=SplitPieceArgs,
            handler=handlers.split_piece,
            summary="Split a piece you hold into 2 to 16 pieces that add up to it.",
            check=handlers.check_split_piece,
            index=_index_split,
            signers="the piece's holder",
            example={
                "voucher_id": "V-2027-001",
                "piece_no": 0,
                "parts": [
                    {"to": "did:amc:org:supplier", "amount_minor": 10_000_000},
                    {"to": "did:amc:org:fleet", "amount_minor": 20_000_000},
                ],
            },
            cli=CliCommand(
                "voucher split",
                positional=("voucher_id", "piece_no"),
                summary='Split a piece: --field \'parts=[{"to": DID, "amount_minor": N}, …]\'.',
            ),
        ),
        "transfer_piece": MessageSpec(
            name="transfer_piece",
            args_type=TransferPieceArgs,
            handler=handlers.transfer_piece,
            summary="Pass a piece you hold on to another account.",
            check=handlers.check_transfer_piece,
            index=_index_transfer,
            signers="the piece's holder",
            cli=CliCommand(
                "voucher transfer",
                positional=("voucher_id", "piece_no", "to"),
                summary="Pass a voucher piece on.",
            ),
        ),
        "discount_piece": MessageSpec(
            name="discount_piece",
            args_type=DiscountPieceArgs,
            handler=handlers.discount_piece,
            summary="Sell a piece to a financier, who pays the price in the same transaction.",
            check=handlers.check_discount_piece,
            index=_index_discount,
            signers="the piece's holder and the financier",
            cli=CliCommand(
                "voucher discount",
                positional=("voucher_id", "piece_no", "financier", "price_minor"),
                summary="Discount a piece to a financier (--cosigner the financier's key).",
            ),
        ),
        "redeem_voucher": MessageSpec(
            name="redeem_voucher",
            args_type=RedeemVoucherArgs,
            handler=handlers.redeem_voucher,
            summary="At maturity, pay every held piece of a voucher to its holder.",
            signers="the issuer",
            cli=CliCommand(
                "voucher redeem", positional=("voucher_id",), summary="Redeem a voucher."
            ),
        ),
        "record_loan": MessageSpec(
            name="record_loan",
            args_type=RecordLoanArgs,
            handler=handlers.record_loan,
            summary="Lend to a vehicle's owner with the vehicle as collateral (a lien).",
            roles=handlers.roles_record_loan,
            check=handlers.check_record_loan,
            index=_index_loan,
            signers="a financier's key and the borrower",
        ),
        "repay_loan": MessageSpec(
            name="repay_loan",
            args_type=RepayLoanArgs,
            handler=handlers.repay_loan,
            summary="Pay a loan now (arrears, or ahead of time).",
            check=handlers.check_repay_loan,
            signers="the borrower",
        ),
        "create_standing_order": MessageSpec(
            name="create_standing_order",
            args_type=CreateStandingOrderArgs,
            handler=handlers.create_standing_order,
            summary="Pay an amount every period until cancelled (a premium, a subscription).",
            check=handlers.check_create_standing_order,
            index=_index_order,
            signers="the payer",
        ),
        "cancel_standing_order": MessageSpec(
            name="cancel_standing_order",
            args_type=CancelStandingOrderArgs,
            handler=handlers.cancel_standing_order,
            summary="Stop a standing order.",
            check=handlers.check_cancel_standing_order,
            signers="the payer",
        ),
    },
    queries={
        "voucher": QuerySpec(
            name="voucher",
            params_type=VoucherParams,
            result_type=VoucherView,
            handler=queries.query_voucher,
            summary="A voucher and the tree of its pieces",
            path="/finance/vouchers/{voucher_id}",
            not_found="there is no voucher {voucher_id!r}",
            historical=True,
            cli=CliCommand(
                "voucher show", positional=("voucher_id",), summary="A voucher and its pieces."
            ),
        ),
        "loan": QuerySpec(
            name="loan",
            params_type=LoanParams,
            result_type=LoanView,
            handler=queries.query_loan,
            summary="A loan: what remains, the arrears, the instalments due",
            path="/finance/loans/{loan_id}",
            not_found="there is no loan {loan_id!r}",
            historical=True,
            cli=CliCommand("loan show", positional=("loan_id",), summary="A loan."),
        ),
        "standing_order": QuerySpec(
            name="standing_order",
            params_type=OrderParams,
            result_type=StandingOrder,
            handler=queries.query_order,
            summary="A standing order and its payments",
            path="/finance/standing-orders/{order_id}",
            not_found="there is no standing order {order_id!r}",
        ),
    },
    events=(
        VoucherIssued,
        VoucherSplit,
        PieceTransferred,
        PieceDiscounted,
        VoucherRedeemed,
        VoucherOverdue,
        LoanRecorded,
        InstalmentCollected,
        InstalmentMissed,
        LoanDefaulted,
        LoanClosed,
        StandingOrderCreated,
        StandingOrderPaid,
        StandingOrderCancelled,
    ),
    end_block=handlers.end_block,
    demo=demo_steps,
)
