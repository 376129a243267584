"""Vehicle loans: a financier lends to the vehicle's owner with the vehicle as collateral (a
lien on its record and in its history: a change of owner then needs the financier's
signature); the block hook collects each instalment from the borrower's balance when it
falls due; a missed one makes the loan overdue, and after the grace period in default; the
loan closes at zero and the lien is released.

Interest is flat: ``principal × rate_bp × term ÷ (10,000 × year)``, the term being
``instalments × period_ms`` and a year 365 days. The instalments are equal, the last one
takes what rounding left (so it is at least as large as the others).
"""

from __future__ import annotations

import msgspec

from amchain.modules import tokens, vehicles
from amchain.modules.base import BlockContext, TxContext
from amchain.modules.finance import keeper
from amchain.modules.finance.errors import FinanceCode, FinanceError
from amchain.modules.finance.handlers.checks import (
    acting_account,
    check_amount,
    check_id,
    require_account,
    require_denom,
    signed_by,
)
from amchain.modules.finance.types import (
    InstalmentCollected,
    InstalmentMissed,
    Loan,
    LoanClosed,
    LoanDefaulted,
    LoanRecorded,
    LoanStatus,
    RecordLoanArgs,
    RepayLoanArgs,
)

__all__ = [
    "LOAN",
    "YEAR_MS",
    "check_record_loan",
    "check_repay_loan",
    "collect_instalments",
    "due_so_far",
    "instalments_due",
    "lien_reference",
    "record_loan",
    "repay_loan",
    "roles_record_loan",
]

LOAN = "loan"  # its kind in the due queue
YEAR_MS = 365 * 86_400_000
MAX_INSTALMENTS = 600
MIN_PERIOD_MS = 1_000
MAX_RATE_BP = 100_000  # 1,000 % a year: beyond it, a typo


def lien_reference(loan_id: str) -> str:
    """What the vehicle's lien names: ``finance/loan/<id>``."""
    return f"finance/loan/{loan_id}"


def instalments_due(loan: Loan, now_ms: int) -> int:
    """How many instalments have fallen due by ``now_ms``."""
    if now_ms < loan.first_due_ms:
        return 0
    return min(loan.instalments, 1 + (now_ms - loan.first_due_ms) // loan.period_ms)


def due_so_far(loan: Loan, now_ms: int) -> int:
    """What the borrower should have paid by ``now_ms`` (minor units)."""
    count = instalments_due(loan, now_ms)
    if count == loan.instalments:
        return loan.total_due_minor
    return count * loan.instalment_minor


# --- record_loan ---------------------------------------------------------------------------------


def roles_record_loan(_args: RecordLoanArgs) -> tuple[str, ...]:
    return ("financier",)


def check_record_loan(args: RecordLoanArgs) -> None:
    """Raises: FinanceError: INVALID_ID, INVALID_AMOUNT, INVALID_TERMS."""
    check_id(args.loan_id, field="loan_id")
    check_amount(args.principal_minor, field="principal_minor")
    problems = []
    if not 1 <= args.instalments <= MAX_INSTALMENTS:
        problems.append(f"instalments must be 1 to {MAX_INSTALMENTS}")
    if args.period_ms < MIN_PERIOD_MS:
        problems.append(f"period_ms must be at least {MIN_PERIOD_MS}")
    if not 0 <= args.rate_bp <= MAX_RATE_BP:
        problems.append(f"rate_bp must be 0 to {MAX_RATE_BP}")
    if args.grace_ms < 0:
        problems.append("grace_ms must be 0 or more")
    if problems:
        raise FinanceError(FinanceCode.INVALID_TERMS, "; ".join(problems))


def record_loan(ctx: TxContext, args: RecordLoanArgs) -> None:
    """The signing financier lends to the vehicle's owner (who co-signs): the principal is
    paid to the borrower, a lien goes on the vehicle, the first instalment is queued.

    Raises:
        FinanceError: INVALID_ID, INVALID_AMOUNT, INVALID_TERMS, INVALID_TIME, LOAN_EXISTS,
            UNKNOWN_DENOM, UNKNOWN_ACCOUNT, NOT_VEHICLE_OWNER, BORROWER_SIGNATURE_MISSING,
            NOT_ACCOUNT_HOLDER.
        VehiclesError: UNKNOWN_VEHICLE, VEHICLE_SCRAPPED.
        TokensError: INSUFFICIENT_BALANCE (the financier cannot pay out the principal).
    """
    # validate
    check_record_loan(args)
    if keeper.read_loan(ctx.state, args.loan_id) is not None:
        raise FinanceError(
            FinanceCode.LOAN_EXISTS,
            f"loan {args.loan_id!r} exists already; choose another id",
            details={"loan_id": args.loan_id},
        )
    if args.first_due_ms <= ctx.time_ms:
        raise FinanceError(
            FinanceCode.INVALID_TIME,
            "first_due_ms must be after the block's time",
            details={"first_due_ms": args.first_due_ms, "time_ms": ctx.time_ms},
        )
    require_denom(ctx.state, args.denom)
    require_account(ctx.state, args.borrower, field="borrower")
    vin = args.vin.upper()
    vehicle = vehicles.get_vehicle(ctx.state, vin)
    if vehicle is None or vehicle.owner != args.borrower:
        raise FinanceError(
            FinanceCode.NOT_VEHICLE_OWNER,
            f"the borrower {args.borrower} does not own vehicle {vin}: only its owner pledges it",
            details={"vin": vin, "borrower": args.borrower},
        )

    # authorise: the financier lends (role checked by the runtime), the borrower agrees
    lender = acting_account(ctx)
    if not signed_by(ctx, args.borrower):
        raise FinanceError(
            FinanceCode.BORROWER_SIGNATURE_MISSING,
            f"the borrower {args.borrower} co-signs the loan it takes",
            details={"borrower": args.borrower},
        )

    # change state
    term_ms = args.instalments * args.period_ms
    interest = args.principal_minor * args.rate_bp * term_ms // (10_000 * YEAR_MS)
    total = args.principal_minor + interest
    check_amount(total, field="total due")
    instalment = total // args.instalments
    loan = Loan(
        id=args.loan_id,
        lender=lender,
        borrower=args.borrower,
        vin=vin,
        denom=args.denom,
        principal_minor=args.principal_minor,
        rate_bp=args.rate_bp,
        instalments=args.instalments,
        first_due_ms=args.first_due_ms,
        period_ms=args.period_ms,
        grace_ms=args.grace_ms,
        instalment_minor=instalment,
        last_instalment_minor=total - instalment * (args.instalments - 1),
        total_due_minor=total,
        paid_minor=0,
        status=LoanStatus.ACTIVE.value,
        overdue_since_ms=None,
        next_check_ms=args.first_due_ms,
        created_height=ctx.height,
    )
    keeper.write_loan(ctx.state, loan)
    keeper.schedule_due(ctx.state, args.first_due_ms, LOAN, loan.id)
    tokens.pay(ctx.state, args.denom, lender, args.borrower, args.principal_minor, ctx.emit)
    vehicles.place_lien(
        ctx.state,
        vin,
        holder=lender,
        reference=lien_reference(loan.id),
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=ctx.tx_hash,
    )

    # emit events
    ctx.emit(
        LoanRecorded(
            loan_id=loan.id,
            lender=lender,
            borrower=args.borrower,
            vin=vin,
            principal_minor=args.principal_minor,
            total_due_minor=total,
        )
    )


# --- collection (the block hook) and repayment ----------------------------------------------------


def _close(ctx: TxContext | BlockContext, loan: Loan, tx_hash: str) -> Loan:
    closed = msgspec.structs.replace(
        loan,
        status=LoanStatus.CLOSED.value,
        overdue_since_ms=None,
        next_check_ms=None,
        closed_height=ctx.height,
    )
    vehicles.release_lien(
        ctx.state,
        loan.vin,
        reference=lien_reference(loan.id),
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=tx_hash,
    )
    ctx.emit(LoanClosed(loan_id=loan.id, vin=loan.vin))
    return closed


def _first_unpaid_due_ms(loan: Loan) -> int:
    """When the earliest instalment not fully paid fell due."""
    paid_instalments = min(loan.paid_minor // max(loan.instalment_minor, 1), loan.instalments - 1)
    return loan.first_due_ms + paid_instalments * loan.period_ms


def _next_check(loan: Loan, now_ms: int) -> int:
    """When the hook looks at the loan again: the next instalment, or the end of the
    grace period if that comes first, or a period on once everything fell due."""
    count = instalments_due(loan, now_ms)
    following = (
        loan.first_due_ms + count * loan.period_ms
        if count < loan.instalments
        else now_ms + loan.period_ms
    )
    if loan.status == LoanStatus.OVERDUE and loan.overdue_since_ms is not None:
        return min(following, max(loan.overdue_since_ms + loan.grace_ms, now_ms + 1))
    return following


def collect_instalments(ctx: BlockContext, loan_id: str, tx_hash: str) -> None:
    """The block hook at a loan's check time: collect the arrears from the borrower's
    balance if it holds them; else the loan is overdue, and past the grace period in
    default. A missed instalment is not an error of the chain: it is recorded and the hook
    goes on."""
    loan = keeper.read_loan(ctx.state, loan_id)
    if loan is None or loan.status == LoanStatus.CLOSED:
        return
    arrears = due_so_far(loan, ctx.time_ms) - loan.paid_minor
    if arrears > 0:
        balance = tokens.balance_of(ctx.state, loan.denom, loan.borrower)
        if balance >= arrears:
            tokens.pay(ctx.state, loan.denom, loan.borrower, loan.lender, arrears, ctx.emit)
            loan = msgspec.structs.replace(
                loan,
                paid_minor=loan.paid_minor + arrears,
                status=LoanStatus.ACTIVE.value,
                overdue_since_ms=None,
            )
            ctx.emit(
                InstalmentCollected(
                    loan_id=loan.id,
                    amount_minor=arrears,
                    paid_minor=loan.paid_minor,
                    remaining_minor=loan.total_due_minor - loan.paid_minor,
                )
            )
        else:
            since = _first_unpaid_due_ms(loan)
            if loan.status == LoanStatus.ACTIVE:
                loan = msgspec.structs.replace(
                    loan, status=LoanStatus.OVERDUE.value, overdue_since_ms=since
                )
            ctx.emit(
                InstalmentMissed(
                    loan_id=loan.id,
                    arrears_minor=arrears,
                    balance_minor=balance,
                    overdue_since_ms=loan.overdue_since_ms or since,
                )
            )
            if (
                loan.status == LoanStatus.OVERDUE
                and ctx.time_ms >= (loan.overdue_since_ms or since) + loan.grace_ms
            ):
                loan = msgspec.structs.replace(loan, status=LoanStatus.DEFAULT.value)
                ctx.emit(LoanDefaulted(loan_id=loan.id, arrears_minor=arrears))
    if loan.paid_minor >= loan.total_due_minor:
        keeper.write_loan(ctx.state, _close(ctx, loan, tx_hash))
        return
    check_at = _next_check(loan, ctx.time_ms)
    keeper.write_loan(ctx.state, msgspec.structs.replace(loan, next_check_ms=check_at))
    keeper.schedule_due(ctx.state, check_at, LOAN, loan.id)


def check_repay_loan(args: RepayLoanArgs) -> None:
    """Raises: FinanceError: INVALID_ID, INVALID_AMOUNT."""
    check_id(args.loan_id, field="loan_id")
    check_amount(args.amount_minor, field="amount_minor")


def repay_loan(ctx: TxContext, args: RepayLoanArgs) -> None:
    """The borrower pays now (its arrears, or ahead of time); at zero the loan closes and
    the lien is released.

    Raises:
        FinanceError: INVALID_ID, INVALID_AMOUNT, UNKNOWN_LOAN, LOAN_CLOSED, NOT_BORROWER,
            OVERPAYMENT.
        TokensError: INSUFFICIENT_BALANCE.
    """
    # validate
    check_repay_loan(args)
    loan = keeper.read_loan(ctx.state, args.loan_id)
    if loan is None:
        raise FinanceError(
            FinanceCode.UNKNOWN_LOAN,
            f"there is no loan {args.loan_id!r}",
            details={"loan_id": args.loan_id},
        )
    if loan.status == LoanStatus.CLOSED:
        raise FinanceError(
            FinanceCode.LOAN_CLOSED, f"loan {loan.id!r} is repaid and closed", details={}
        )
    remaining = loan.total_due_minor - loan.paid_minor
    if args.amount_minor > remaining:
        raise FinanceError(
            FinanceCode.OVERPAYMENT,
            f"loan {loan.id!r} has {remaining} minor units left to pay",
            details={"remaining_minor": remaining},
        )

    # authorise
    if not signed_by(ctx, loan.borrower):
        raise FinanceError(
            FinanceCode.NOT_BORROWER,
            f"the borrower {loan.borrower} signs its repayments",
            details={"borrower": loan.borrower},
        )

    # change state, emit events
    tokens.pay(ctx.state, loan.denom, loan.borrower, loan.lender, args.amount_minor, ctx.emit)
    paid = loan.paid_minor + args.amount_minor
    loan = msgspec.structs.replace(loan, paid_minor=paid)
    if paid >= due_so_far(loan, ctx.time_ms):  # arrears cleared: overdue or default is cured
        loan = msgspec.structs.replace(loan, status=LoanStatus.ACTIVE.value, overdue_since_ms=None)
    ctx.emit(
        InstalmentCollected(
            loan_id=loan.id,
            amount_minor=args.amount_minor,
            paid_minor=paid,
            remaining_minor=loan.total_due_minor - paid,
        )
    )
    if paid == loan.total_due_minor:
        if loan.next_check_ms is not None:
            keeper.unschedule_due(ctx.state, loan.next_check_ms, LOAN, loan.id)
        loan = _close(ctx, loan, ctx.tx_hash)
    keeper.write_loan(ctx.state, loan)
