"""Supply-chain finance e-vouchers (white paper §4.3: easy to split, to pass on, to turn into
cash). A core enterprise issues a voucher for a payable to its tier-1 supplier; holders
split pieces and pass them down the tiers; any holder sells a piece to a financier, who pays
the discounted price in the same transaction; at maturity the issuer pays every held piece.

Invariants: the held and redeemed pieces of a voucher always add up to its face value (a
split replaces one piece by pieces of the same total); a piece has exactly one holder; a
voucher is redeemed at most once.
"""

from __future__ import annotations

import msgspec

from amchain.modules import tokens
from amchain.modules.base import BlockContext, TxContext
from amchain.modules.finance import keeper
from amchain.modules.finance.errors import FinanceCode, FinanceError
from amchain.modules.finance.handlers.checks import (
    acting_account,
    check_amount,
    check_hash,
    check_id,
    require_account,
    require_denom,
    require_org_with_role,
    signed_by,
)
from amchain.modules.finance.types import (
    DiscountPieceArgs,
    IssueVoucherArgs,
    Piece,
    PieceDiscounted,
    PieceStatus,
    PieceTransferred,
    RedeemVoucherArgs,
    SplitPieceArgs,
    TransferPieceArgs,
    Voucher,
    VoucherIssued,
    VoucherOverdue,
    VoucherRedeemed,
    VoucherSplit,
    VoucherStatus,
)
from amchain.vc import format_datetime

__all__ = [
    "MAX_SPLIT_PARTS",
    "OVERDUE_AFTER_MS",
    "VOUCHER",
    "check_discount_piece",
    "check_issue_voucher",
    "check_split_piece",
    "check_transfer_piece",
    "discount_piece",
    "flag_if_overdue",
    "issue_voucher",
    "redeem_voucher",
    "roles_issue_voucher",
    "split_piece",
    "transfer_piece",
]

VOUCHER = "voucher"  # its kind in the due queue
MAX_SPLIT_PARTS = 16
OVERDUE_AFTER_MS = 86_400_000  # a voucher not redeemed a day after maturity is overdue


def _require_voucher(ctx: TxContext, voucher_id: str) -> Voucher:
    voucher = keeper.read_voucher(ctx.state, voucher_id)
    if voucher is None:
        raise FinanceError(
            FinanceCode.UNKNOWN_VOUCHER,
            f"there is no voucher {voucher_id!r}",
            details={"voucher_id": voucher_id},
        )
    if voucher.status == VoucherStatus.REDEEMED:
        raise FinanceError(
            FinanceCode.ALREADY_REDEEMED,
            f"voucher {voucher_id!r} was redeemed at height {voucher.redeemed_height}",
            details={"voucher_id": voucher_id},
        )
    return voucher


def _require_held_piece(ctx: TxContext, voucher: Voucher, no: int) -> Piece:
    """The piece, held, and a signer may act for its holder.

    Raises:
        FinanceError: UNKNOWN_PIECE, PIECE_NOT_HELD, NOT_HOLDER.
    """
    piece = keeper.read_piece(ctx.state, voucher.id, no) if 0 <= no < voucher.pieces else None
    if piece is None:
        raise FinanceError(
            FinanceCode.UNKNOWN_PIECE,
            f"voucher {voucher.id!r} has no piece {no} (pieces 0 to {voucher.pieces - 1})",
            details={"voucher_id": voucher.id, "piece_no": no},
        )
    if piece.status != PieceStatus.HELD:
        raise FinanceError(
            FinanceCode.PIECE_NOT_HELD,
            f"piece {no} of voucher {voucher.id!r} is {piece.status}; only held pieces move",
            details={"voucher_id": voucher.id, "piece_no": no, "status": piece.status},
        )
    if not signed_by(ctx, piece.holder):
        raise FinanceError(
            FinanceCode.NOT_HOLDER,
            f"piece {no} of voucher {voucher.id!r} is held by {piece.holder}; its holder signs",
            details={"voucher_id": voucher.id, "piece_no": no, "holder": piece.holder},
        )
    return piece


# --- issue_voucher -------------------------------------------------------------------------------


def roles_issue_voucher(_args: IssueVoucherArgs) -> tuple[str, ...]:
    return ("oem",)


def check_issue_voucher(args: IssueVoucherArgs) -> None:
    """Raises: FinanceError: INVALID_ID, INVALID_AMOUNT, INVALID_HASH."""
    check_id(args.voucher_id, field="voucher_id")
    check_amount(args.face_minor, field="face_minor")
    check_hash(args.payable_ref_hash, field="payable_ref_hash")


def issue_voucher(ctx: TxContext, args: IssueVoucherArgs) -> None:
    """The signing OEM issues a voucher to a tier-1 supplier; piece 0 is the whole.

    Raises:
        FinanceError: INVALID_ID, INVALID_AMOUNT, INVALID_HASH, VOUCHER_EXISTS, INVALID_TIME
            (maturity not after the block), UNKNOWN_DENOM, NOT_A_SUPPLIER,
            NOT_ACCOUNT_HOLDER.
    """
    # validate
    check_issue_voucher(args)
    if keeper.read_voucher(ctx.state, args.voucher_id) is not None:
        raise FinanceError(
            FinanceCode.VOUCHER_EXISTS,
            f"voucher {args.voucher_id!r} exists already; choose another id",
            details={"voucher_id": args.voucher_id},
        )
    if args.maturity_ms <= ctx.time_ms:
        raise FinanceError(
            FinanceCode.INVALID_TIME,
            "maturity_ms must be after the block's time",
            details={"maturity_ms": args.maturity_ms, "time_ms": ctx.time_ms},
        )
    require_denom(ctx.state, args.denom)
    require_org_with_role(ctx.state, args.supplier, "supplier", FinanceCode.NOT_A_SUPPLIER)

    # authorise: the issuer is the signing OEM (role checked by the runtime)
    issuer = acting_account(ctx)

    # change state
    keeper.write_voucher(
        ctx.state,
        Voucher(
            id=args.voucher_id,
            issuer=issuer,
            supplier=args.supplier,
            denom=args.denom,
            face_minor=args.face_minor,
            maturity_ms=args.maturity_ms,
            payable_ref_hash=args.payable_ref_hash,
            status=VoucherStatus.OUTSTANDING.value,
            overdue=False,
            pieces=1,
            created_height=ctx.height,
        ),
    )
    keeper.write_piece(
        ctx.state,
        Piece(
            voucher_id=args.voucher_id,
            no=0,
            parent=None,
            holder=args.supplier,
            amount_minor=args.face_minor,
            status=PieceStatus.HELD.value,
            acquired_height=ctx.height,
        ),
    )
    keeper.schedule_due(ctx.state, args.maturity_ms + OVERDUE_AFTER_MS, VOUCHER, args.voucher_id)

    # emit events
    ctx.emit(
        VoucherIssued(
            voucher_id=args.voucher_id,
            issuer=issuer,
            supplier=args.supplier,
            denom=args.denom,
            face_minor=args.face_minor,
            maturity_ms=args.maturity_ms,
        )
    )


# --- split, transfer, discount -------------------------------------------------------------------


def check_split_piece(args: SplitPieceArgs) -> None:
    """Raises: FinanceError: INVALID_ID, INVALID_SPLIT, INVALID_AMOUNT."""
    check_id(args.voucher_id, field="voucher_id")
    if not 2 <= len(args.parts) <= MAX_SPLIT_PARTS:
        raise FinanceError(
            FinanceCode.INVALID_SPLIT,
            f"a split makes 2 to {MAX_SPLIT_PARTS} pieces, got {len(args.parts)}",
            details={"parts": len(args.parts)},
        )
    for part in args.parts:
        check_amount(part.amount_minor, field="parts.amount_minor")


def split_piece(ctx: TxContext, args: SplitPieceArgs) -> None:
    """The holder splits a piece into pieces that add up to it.

    Raises:
        FinanceError: INVALID_ID, INVALID_SPLIT, INVALID_AMOUNT, UNKNOWN_VOUCHER,
            ALREADY_REDEEMED, UNKNOWN_PIECE, PIECE_NOT_HELD, NOT_HOLDER, SPLIT_MISMATCH,
            UNKNOWN_ACCOUNT.
    """
    # validate
    check_split_piece(args)
    voucher = _require_voucher(ctx, args.voucher_id)
    for part in args.parts:
        require_account(ctx.state, part.to, field="parts.to")

    # authorise
    piece = _require_held_piece(ctx, voucher, args.piece_no)
    total = sum(part.amount_minor for part in args.parts)
    if total != piece.amount_minor:
        raise FinanceError(
            FinanceCode.SPLIT_MISMATCH,
            f"the parts add up to {total}, not the piece's {piece.amount_minor} minor units",
            details={"parts_minor": total, "piece_minor": piece.amount_minor},
        )

    # change state: the piece is replaced by its children
    first = voucher.pieces
    children = list(range(first, first + len(args.parts)))
    keeper.write_piece(ctx.state, msgspec.structs.replace(piece, status=PieceStatus.SPLIT.value))
    for no, part in zip(children, args.parts, strict=True):
        keeper.write_piece(
            ctx.state,
            Piece(
                voucher_id=voucher.id,
                no=no,
                parent=piece.no,
                holder=part.to,
                amount_minor=part.amount_minor,
                status=PieceStatus.HELD.value,
                acquired_height=ctx.height,
            ),
        )
    keeper.write_voucher(ctx.state, msgspec.structs.replace(voucher, pieces=first + len(children)))

    # emit events
    ctx.emit(VoucherSplit(voucher_id=voucher.id, piece_no=piece.no, into=children))


def check_transfer_piece(args: TransferPieceArgs) -> None:
    """Raises: FinanceError: INVALID_ID."""
    check_id(args.voucher_id, field="voucher_id")


def transfer_piece(ctx: TxContext, args: TransferPieceArgs) -> None:
    """The holder passes a piece on.

    Raises:
        FinanceError: INVALID_ID, UNKNOWN_VOUCHER, ALREADY_REDEEMED, UNKNOWN_PIECE,
            PIECE_NOT_HELD, NOT_HOLDER, UNKNOWN_ACCOUNT.
    """
    # validate
    check_transfer_piece(args)
    voucher = _require_voucher(ctx, args.voucher_id)
    require_account(ctx.state, args.to, field="to")

    # authorise
    piece = _require_held_piece(ctx, voucher, args.piece_no)

    # change state
    keeper.write_piece(
        ctx.state, msgspec.structs.replace(piece, holder=args.to, acquired_height=ctx.height)
    )

    # emit events
    ctx.emit(
        PieceTransferred(
            voucher_id=voucher.id,
            piece_no=piece.no,
            from_account=piece.holder,
            to_account=args.to,
            amount_minor=piece.amount_minor,
        )
    )


def check_discount_piece(args: DiscountPieceArgs) -> None:
    """Raises: FinanceError: INVALID_ID, INVALID_AMOUNT."""
    check_id(args.voucher_id, field="voucher_id")
    check_amount(args.price_minor, field="price_minor")


def discount_piece(ctx: TxContext, args: DiscountPieceArgs) -> None:
    """The holder sells a piece to a financier, who pays the price in the voucher's
    denomination in the same transaction.

    Raises:
        FinanceError: INVALID_ID, INVALID_AMOUNT, UNKNOWN_VOUCHER, ALREADY_REDEEMED, MATURED,
            NOT_A_FINANCIER, UNKNOWN_PIECE, PIECE_NOT_HELD, NOT_HOLDER,
            FINANCIER_SIGNATURE_MISSING, INVALID_PRICE.
        TokensError: INSUFFICIENT_BALANCE (the financier cannot pay).
    """
    # validate
    check_discount_piece(args)
    voucher = _require_voucher(ctx, args.voucher_id)
    if ctx.time_ms >= voucher.maturity_ms:
        raise FinanceError(
            FinanceCode.MATURED,
            f"voucher {voucher.id!r} has matured: it is redeemed, not discounted",
            details={"voucher_id": voucher.id, "maturity_ms": voucher.maturity_ms},
        )
    require_org_with_role(ctx.state, args.financier, "financier", FinanceCode.NOT_A_FINANCIER)

    # authorise: the holder sells, the financier buys; both sign
    piece = _require_held_piece(ctx, voucher, args.piece_no)
    if not signed_by(ctx, args.financier):
        raise FinanceError(
            FinanceCode.FINANCIER_SIGNATURE_MISSING,
            f"the financier {args.financier} co-signs the discount it pays for",
            details={"financier": args.financier},
        )
    if args.price_minor > piece.amount_minor:
        raise FinanceError(
            FinanceCode.INVALID_PRICE,
            f"a discount pays at most the piece's {piece.amount_minor} minor units",
            details={"price_minor": args.price_minor, "piece_minor": piece.amount_minor},
        )

    # change state: the price moves one way, the piece the other
    tokens.pay(ctx.state, voucher.denom, args.financier, piece.holder, args.price_minor, ctx.emit)
    keeper.write_piece(
        ctx.state,
        msgspec.structs.replace(
            piece,
            holder=args.financier,
            acquired_height=ctx.height,
            discounted_price_minor=args.price_minor,
        ),
    )

    # emit events
    ctx.emit(
        PieceDiscounted(
            voucher_id=voucher.id,
            piece_no=piece.no,
            seller=piece.holder,
            financier=args.financier,
            amount_minor=piece.amount_minor,
            price_minor=args.price_minor,
        )
    )


# --- redeem, overdue -----------------------------------------------------------------------------


def redeem_voucher(ctx: TxContext, args: RedeemVoucherArgs) -> None:
    """At or after maturity the issuer pays every held piece to its holder.

    Raises:
        FinanceError: INVALID_ID, UNKNOWN_VOUCHER, ALREADY_REDEEMED, NOT_MATURE, NOT_ISSUER.
        TokensError: INSUFFICIENT_BALANCE (the issuer cannot pay them all: nothing is paid).
    """
    # validate
    check_id(args.voucher_id, field="voucher_id")
    voucher = _require_voucher(ctx, args.voucher_id)
    if ctx.time_ms < voucher.maturity_ms:
        raise FinanceError(
            FinanceCode.NOT_MATURE,
            f"voucher {voucher.id!r} matures at {format_datetime(voucher.maturity_ms)}; the "
            f"block's time is {format_datetime(ctx.time_ms)}",
            details={"maturity_ms": voucher.maturity_ms, "time_ms": ctx.time_ms},
        )

    # authorise
    if not signed_by(ctx, voucher.issuer):
        raise FinanceError(
            FinanceCode.NOT_ISSUER,
            f"only the issuer {voucher.issuer} redeems voucher {voucher.id!r}",
            details={"issuer": voucher.issuer},
        )

    # change state: pay every held piece, in piece order
    paid = paid_minor = 0
    for piece in keeper.read_pieces(ctx.state, voucher.id, voucher.pieces):
        if piece.status != PieceStatus.HELD:
            continue
        tokens.pay(
            ctx.state, voucher.denom, voucher.issuer, piece.holder, piece.amount_minor, ctx.emit
        )
        keeper.write_piece(
            ctx.state, msgspec.structs.replace(piece, status=PieceStatus.REDEEMED.value)
        )
        paid += 1
        paid_minor += piece.amount_minor
    keeper.write_voucher(
        ctx.state,
        msgspec.structs.replace(
            voucher, status=VoucherStatus.REDEEMED.value, redeemed_height=ctx.height
        ),
    )

    # emit events
    ctx.emit(VoucherRedeemed(voucher_id=voucher.id, paid_pieces=paid, paid_minor=paid_minor))


def flag_if_overdue(ctx: BlockContext, voucher_id: str) -> None:
    """The block hook, a day after maturity: an unredeemed voucher is flagged overdue."""
    voucher = keeper.read_voucher(ctx.state, voucher_id)
    if voucher is None or voucher.status != VoucherStatus.OUTSTANDING or voucher.overdue:
        return
    keeper.write_voucher(ctx.state, msgspec.structs.replace(voucher, overdue=True))
    ctx.emit(
        VoucherOverdue(
            voucher_id=voucher.id, issuer=voucher.issuer, maturity_ms=voucher.maturity_ms
        )
    )
