"""Every change to a balance goes through here: lock the account, write an entry."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from core.errors import DomainError

from .models import CreditAccount, CreditEntry, Purchase, PurchaseRefund

if TYPE_CHECKING:
    from accounts.models import User
    from jobs.models import Job


class InsufficientCredits(DomainError):
    code = "no_credits"
    status_code = 402


def account_for_user(user: "User") -> CreditAccount:
    """The user's credit account, created empty on first use."""
    account, _ = CreditAccount.objects.get_or_create(user=user)
    return account


def account_lock(user: "User") -> CreditAccount:
    account_for_user(user)
    return CreditAccount.objects.select_for_update().get(user=user)


def _apply(
    account: CreditAccount,
    *,
    delta: int,
    kind: str,
    job: "Job | None" = None,
    purchase: "Purchase | None" = None,
    refund: "PurchaseRefund | None" = None,
    note: str = "",
) -> CreditEntry:
    entry = CreditEntry.objects.create(
        account=account,
        delta=delta,
        kind=kind,
        job=job,
        purchase=purchase,
        refund=refund,
        note=note,
    )
    CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + delta)
    account.refresh_from_db(fields=["balance"])
    return entry


def credits_debit(*, user: "User", amount: int, job: "Job") -> CreditEntry:
    """Take `amount` credits for `job`.

    Atomic; locks the account row. Raises InsufficientCredits when the balance
    is short. Call it inside the transaction that creates the job.
    """
    with transaction.atomic():
        account = account_lock(user)
        if account.balance < amount:
            raise InsufficientCredits(
                "You have no credits left. Buy a credit pack to separate more songs.",
            )
        return _apply(account, delta=-amount, kind=CreditEntry.Kind.JOB_DEBIT, job=job)


def credits_refund(*, job: "Job") -> CreditEntry | None:
    """Give back what `job` was charged. Idempotent: returns None when already done."""
    with transaction.atomic():
        account = account_lock(job.user)
        debit = CreditEntry.objects.filter(
            job=job, kind=CreditEntry.Kind.JOB_DEBIT
        ).first()
        if debit is None:
            return None
        try:
            with transaction.atomic():
                return _apply(
                    account,
                    delta=-debit.delta,
                    kind=CreditEntry.Kind.JOB_REFUND,
                    job=job,
                )
        except IntegrityError:  # the unique (job, kind) constraint: already refunded
            return None


def credits_grant_signup_bonus(*, user: "User") -> CreditEntry | None:
    """Grant FREE_CREDITS to a new account. Idempotent: one bonus per account."""
    with transaction.atomic():
        account = account_lock(user)
        try:
            with transaction.atomic():
                return _apply(
                    account,
                    delta=settings.FREE_CREDITS,
                    kind=CreditEntry.Kind.SIGNUP_BONUS,
                )
        except IntegrityError:
            return None


def credits_adjust(*, user: "User", delta: int, note: str) -> CreditEntry:
    """A staff adjustment with its reason. Raises InsufficientCredits below zero."""
    if not note:
        raise DomainError("An adjustment needs a reason.")
    with transaction.atomic():
        account = account_lock(user)
        if account.balance + delta < 0:
            raise InsufficientCredits(
                f"The balance is {account.balance}; it cannot go below zero."
            )
        return _apply(
            account, delta=delta, kind=CreditEntry.Kind.ADMIN_ADJUSTMENT, note=note
        )


def ledger_mismatches() -> list[tuple[CreditAccount, int]]:
    """Accounts whose cached balance differs from the sum of their entries."""
    from django.db.models import Sum
    from django.db.models.functions import Coalesce

    rows = CreditAccount.objects.annotate(total=Coalesce(Sum("entries__delta"), 0))
    return [(row, row.total) for row in rows if row.total != row.balance]
