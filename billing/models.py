"""The credit ledger (append-only entries, a cached balance) and credit purchases."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class CreditAccount(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="credit_account",
    )
    # A cached sum of the entries; the constraint makes an overdraft impossible.
    balance = models.IntegerField(default=0)
    flagged = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="credit_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} credits)"


class CreditEntry(models.Model):
    class Kind(models.TextChoices):
        SIGNUP_BONUS = "signup_bonus", "Free credits for joining"
        PURCHASE = "purchase", "Credit pack purchase"
        JOB_DEBIT = "job_debit", "Song separated"
        JOB_REFUND = "job_refund", "Refund for a failed or cancelled job"
        PURCHASE_REVERSAL = "purchase_reversal", "Purchase refunded"
        ADMIN_ADJUSTMENT = "admin_adjustment", "Adjustment by staff"

    account = models.ForeignKey(
        CreditAccount, on_delete=models.CASCADE, related_name="entries"
    )
    delta = models.IntegerField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purchase = models.ForeignKey(
        "billing.Purchase",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    note = models.CharField(max_length=255, blank=True)
    # The Square refund a purchase_reversal takes back: one entry per refund.
    refund = models.OneToOneField(
        "billing.PurchaseRefund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entry",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        constraints = [
            # One debit and at most one refund per job.
            models.UniqueConstraint(
                fields=["job", "kind"],
                condition=Q(job__isnull=False),
                name="credit_entry_once_per_job_and_kind",
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(kind="signup_bonus"),
                name="credit_entry_one_signup_bonus",
            ),
            # A purchase grants once; it is reversed once per Square refund.
            models.UniqueConstraint(
                fields=["purchase"],
                condition=Q(kind="purchase"),
                name="credit_entry_one_grant_per_purchase",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.get_kind_display()}"


class CreditPack(models.Model):
    """What can be bought; the pricing pages read these rows, never literals."""

    name = models.CharField(max_length=64)
    credits = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField(help_text="Price in cents, e.g. 400.")
    currency = models.CharField(max_length=3, default="USD")
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price_cents", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gt=0) & Q(price_cents__gt=0),
                name="credit_pack_positive",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} credits)"


class Purchase(models.Model):
    """One attempt to buy a pack through a Square payment link.

    Holds no personal data beyond the user link: Square keeps the buyer's details.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        COMPLETED = "completed", "Paid"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"
        FAILED = "failed", "Not completed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="purchases",
    )
    pack = models.ForeignKey(
        CreditPack, on_delete=models.PROTECT, related_name="purchases"
    )
    # Copied from the pack at checkout: a later price change never alters a sale.
    credits = models.PositiveIntegerField()
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    square_payment_link_id = models.CharField(max_length=64, blank=True)
    square_order_id = models.CharField(max_length=64, blank=True, db_index=True)
    square_payment_id = models.CharField(
        max_length=64, null=True, blank=True, unique=True
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    checkout_url = models.URLField(max_length=500, blank=True)
    flagged = models.BooleanField(default=False)
    # What staff should know, one line per event (mismatches, refunds, disputes).
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Purchase {self.pk}: {self.credits} credits ({self.status})"


class WebhookEvent(models.Model):
    """A Square notification already handled; its unique id de-duplicates repeats."""

    event_id = models.CharField(max_length=128, unique=True)
    type = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # A summary of what was acted on (ids, status, money), not the buyer's details.
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PurchaseRefund(models.Model):
    """One Square refund of a purchase's payment, recorded once by its id.

    Refunds add up: the credits a purchase owes back follow the total refunded
    so far, and each refund reverses what it adds (credit_owed).
    """

    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, related_name="refunds"
    )
    square_refund_id = models.CharField(max_length=192, unique=True)
    amount_cents = models.PositiveIntegerField()
    credits_owed = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.square_refund_id} ({self.amount_cents} cents)"
