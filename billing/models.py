"""The credit ledger: an append-only list of entries and a cached balance."""

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
    note = models.CharField(max_length=255, blank=True)
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
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.get_kind_display()}"
