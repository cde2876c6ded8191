"""Purchase services: checkout, granting paid packs, reversals, reconciliation.

Every grant and reversal locks the purchase row first, then the credit account
(the same order everywhere, so two writers never deadlock), and the unique
constraints on `Purchase.square_payment_id` and on (purchase, kind) in the
ledger make a second grant or reversal impossible even if a check were missed.
"""

import logging
import math
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from . import square_client
from .models import CreditEntry, CreditPack, Purchase, PurchaseRefund
from .services import _apply, account_lock

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Square has to be given time to tell us before we ask it ourselves.
RECONCILE_AFTER = timedelta(minutes=3)
ABANDON_AFTER = timedelta(hours=24)
RECONCILE_BATCH = 100
GRANTABLE = (Purchase.Status.PENDING, Purchase.Status.FAILED)


def purchase_start(*, user: "User", pack: CreditPack) -> Purchase:
    """Create a pending purchase and its Square payment link.

    The purchase row is committed before Square is called (no transaction is held
    open over the network); its idempotency key is stored, so the SDK's retries
    and any later retry create one link only. Raises PaymentsNotConfigured, or
    PaymentProviderError after marking the purchase failed (nobody is charged).
    """
    if not square_client.payments_configured():
        raise square_client.PaymentsNotConfigured(
            "Payments are not configured on this server."
        )
    purchase = Purchase.objects.create(
        user=user,
        pack=pack,
        credits=pack.credits,
        amount_cents=pack.price_cents,
        currency=pack.currency,
        idempotency_key=uuid.uuid4().hex,
    )
    return_url = settings.SITE_URL.rstrip("/") + reverse(
        "billing:return", args=[purchase.pk]
    )
    try:
        link = square_client.payment_link_create(
            idempotency_key=purchase.idempotency_key,
            reference_id=str(purchase.pk),
            name=f"Mux Minus: {pack.name}",
            amount_cents=purchase.amount_cents,
            currency=purchase.currency,
            redirect_url=return_url,
        )
    except square_client.PaymentProviderError as error:
        Purchase.objects.filter(pk=purchase.pk).update(
            status=Purchase.Status.FAILED,
            note=error.message[:255],
            updated_at=timezone.now(),
        )
        raise
    purchase.square_payment_link_id = link.id
    purchase.square_order_id = link.order_id
    purchase.checkout_url = link.url
    purchase.save(
        update_fields=[
            "square_payment_link_id",
            "square_order_id",
            "checkout_url",
            "updated_at",
        ]
    )
    return purchase


def _note_add(purchase: Purchase, note: str) -> None:
    """Append a line to the purchase's note: staff see every event, in order."""
    purchase.note = f"{purchase.note}\n{note}" if purchase.note else note


def _flag(purchase: Purchase, note: str) -> None:
    logger.warning("Purchase %s flagged: %s", purchase.pk, note)
    purchase.flagged = True
    _note_add(purchase, note)
    purchase.save(update_fields=["flagged", "note", "updated_at"])


def purchase_grant(
    *, purchase_id: int, payment_id: str, amount_cents: int | None, currency: str | None
) -> CreditEntry | None:
    """Grant the pack's credits for a COMPLETED Square payment.

    Call it only with payment data from Square itself (a verified webhook or an
    API answer). Atomic and idempotent: returns the new ledger entry, or None when
    nothing was granted (already granted, refunded or disputed, or the payment
    does not match, in which case the purchase is flagged for staff).
    """
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(pk=purchase_id)
        if purchase.entries.filter(kind=CreditEntry.Kind.PURCHASE).exists():
            if purchase.square_payment_id != payment_id:
                _flag(purchase, f"A second payment {payment_id} for a paid order.")
            return None
        if purchase.status not in GRANTABLE:
            return None
        if (amount_cents, currency) != (purchase.amount_cents, purchase.currency):
            _flag(
                purchase,
                f"Payment {payment_id} was {amount_cents} {currency}, expected "
                f"{purchase.amount_cents} {purchase.currency}: no credits granted.",
            )
            return None
        if purchase.user is None:
            _flag(purchase, f"Payment {payment_id} for a deleted account.")
            return None
        if Purchase.objects.filter(square_payment_id=payment_id).exists():
            _flag(purchase, f"Payment {payment_id} already paid another purchase.")
            return None
        account = account_lock(purchase.user)
        purchase.status = Purchase.Status.COMPLETED
        purchase.square_payment_id = payment_id
        purchase.completed_at = timezone.now()
        purchase.save(
            update_fields=["status", "square_payment_id", "completed_at", "updated_at"]
        )
        return _apply(
            account,
            delta=purchase.credits,
            kind=CreditEntry.Kind.PURCHASE,
            purchase=purchase,
            note=f"Square payment {payment_id}",
        )


def _lock_purchase_for_payment(payment_id: str, order_id: str = "") -> Purchase | None:
    purchases = Purchase.objects.select_for_update()
    purchase = purchases.filter(square_payment_id=payment_id).first()
    if purchase is None and order_id:
        purchase = purchases.filter(square_order_id=order_id).first()
    return purchase


def purchase_reverse(
    *, payment_id: str, order_id: str, refund_id: str, refunded_cents: int | None
) -> CreditEntry | None:
    """Take back the credits of one Square refund, once per refund id.

    Atomic and idempotent. Refunds add up: the credits owed back follow the
    total refunded so far (a share, rounded up, of the pack), and each refund
    reverses what it adds, so two $2.00 refunds of a $4.00 pack take back all
    of it. A partial total flags the purchase. The balance never goes below
    zero: what was already spent is recorded as a shortfall in the entry's
    note, and the account and purchase are flagged. A refund of a purchase that
    was never granted only marks it refunded, so a late payment event cannot
    grant it afterwards. Returns the entry, or None when nothing is taken.
    """
    with transaction.atomic():
        purchase = _lock_purchase_for_payment(payment_id, order_id)
        if purchase is None:
            logger.info("Refund %s of unknown payment %s", refund_id, payment_id)
            return None
        refund_id = refund_id or f"payment-{payment_id}"
        if purchase.refunds.filter(square_refund_id=refund_id).exists():
            return None
        granted = purchase.entries.filter(kind=CreditEntry.Kind.PURCHASE).exists()
        purchase.status = Purchase.Status.REFUNDED
        if purchase.square_payment_id is None:
            purchase.square_payment_id = payment_id
        purchase.save(update_fields=["status", "square_payment_id", "updated_at"])
        refund = _refund_record(purchase, refund_id, refunded_cents)
        if not granted or purchase.user is None or refund.credits_owed == 0:
            return None
        return _reverse(purchase, refund)


def _refund_record(
    purchase: Purchase, refund_id: str, refunded_cents: int | None
) -> PurchaseRefund:
    """Record the refund with the credits it adds to what is owed back."""
    earlier = list(purchase.refunds.all())
    amount = purchase.amount_cents if refunded_cents is None else refunded_cents
    total = min(purchase.amount_cents, amount + sum(r.amount_cents for r in earlier))
    owed_in_all = min(
        purchase.credits, math.ceil(purchase.credits * total / purchase.amount_cents)
    )
    owed = max(0, owed_in_all - sum(r.credits_owed for r in earlier))
    return PurchaseRefund.objects.create(
        purchase=purchase,
        square_refund_id=refund_id,
        amount_cents=amount,
        credits_owed=owed,
    )


def _reverse(purchase: Purchase, refund: PurchaseRefund) -> CreditEntry:
    assert purchase.user is not None  # noqa: S101 - checked by the caller
    owed = refund.credits_owed
    account = account_lock(purchase.user)
    taken = min(owed, account.balance)
    note = f"Square refund {refund.square_refund_id}: {owed} credits reversed"
    if taken < owed:
        note = (
            f"Square refund {refund.square_refund_id}: {owed} credits owed, "
            f"{taken} taken, shortfall {owed - taken} (already spent)"
        )
        account.flagged = True
        account.save(update_fields=["flagged", "updated_at"])
        _flag(purchase, note)
    elif sum(r.amount_cents for r in purchase.refunds.all()) < purchase.amount_cents:
        _flag(
            purchase,
            f"Partial refund {refund.square_refund_id}: {owed} credits reversed.",
        )
    return _apply(
        account,
        delta=-taken,
        kind=CreditEntry.Kind.PURCHASE_REVERSAL,
        purchase=purchase,
        refund=refund,
        note=note,
    )


def purchase_mark_disputed(*, payment_id: str, dispute_id: str) -> Purchase | None:
    """Flag the purchase paid by a disputed payment for staff. Idempotent."""
    with transaction.atomic():
        purchase = _lock_purchase_for_payment(payment_id)
        if purchase is None:
            logger.info("Dispute %s of unknown payment %s", dispute_id, payment_id)
            return None
        if purchase.status != Purchase.Status.REFUNDED:
            purchase.status = Purchase.Status.DISPUTED
        purchase.flagged = True
        line = f"Square dispute {dispute_id}"
        if line not in purchase.note.splitlines():  # the event is delivered again
            _note_add(purchase, line)
        purchase.save(update_fields=["status", "flagged", "note", "updated_at"])
        return purchase


def purchase_sync(*, purchase: Purchase) -> Purchase:
    """Ask Square whether a purchase was paid and grant it if so.

    Uses `orders.get` then `payments.get`; never trusts anything the buyer sent.
    Idempotent. Raises PaymentProviderError or PaymentsNotConfigured.
    """
    if purchase.status not in GRANTABLE or not purchase.square_order_id:
        return purchase
    order = square_client.order_get(purchase.square_order_id)
    if order.reference_id != str(purchase.pk):
        _flag(purchase, f"Square order {order.id} has another reference.")
        return purchase
    for payment_id in order.payment_ids:
        payment = square_client.payment_get(payment_id)
        if payment.status == "COMPLETED" and payment.order_id == order.id:
            purchase_grant(
                purchase_id=purchase.pk,
                payment_id=payment.id,
                amount_cents=payment.amount_cents,
                currency=payment.currency,
            )
            break
    purchase.refresh_from_db()
    return purchase


def purchases_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Grant pending purchases Square says are paid; give up on abandoned ones.

    Covers lost webhooks. Purchases younger than RECONCILE_AFTER are left to the
    webhook; those unpaid after ABANDON_AFTER are marked failed (a later payment
    event still grants them). Flagged purchases wait for staff. Each purchase is
    handled on its own: one Square error does not stop the others.
    """
    now = now or timezone.now()
    counts = {"checked": 0, "granted": 0, "abandoned": 0, "errors": 0}
    if not square_client.payments_configured():
        return counts
    candidates = Purchase.objects.filter(
        status=Purchase.Status.PENDING,
        flagged=False,
        created_at__lte=now - RECONCILE_AFTER,
    ).order_by("created_at")[:RECONCILE_BATCH]
    for purchase in candidates:
        counts["checked"] += 1
        if purchase.square_order_id:
            try:
                purchase = purchase_sync(purchase=purchase)
            except square_client.PaymentProviderError:
                counts["errors"] += 1
                continue
        if purchase.status == Purchase.Status.COMPLETED:
            counts["granted"] += 1
        elif not purchase.square_order_id or purchase.created_at <= now - ABANDON_AFTER:
            # No link means the buyer never reached Square; nothing can be paid.
            counts["abandoned"] += Purchase.objects.filter(
                pk=purchase.pk, status=Purchase.Status.PENDING
            ).update(status=Purchase.Status.FAILED, updated_at=now)
    if counts["checked"]:
        logger.info("Purchases reconciled: %s", counts)
    return counts
