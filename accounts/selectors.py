"""Reads for the account pages."""

import time

from allauth.account.internal.flows.login import get_authentication_records
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import CreditEntry

from .models import ApiToken, User

CREDIT_HISTORY_LENGTH = 50


def credit_entries_for_user(*, user: User) -> list[CreditEntry]:
    """The latest ledger entries, newest first, with their jobs."""
    entries = CreditEntry.objects.filter(account__user=user).select_related("job")
    return list(entries.order_by("-created_at", "-id")[:CREDIT_HISTORY_LENGTH])


def credit_entry_label(entry: CreditEntry) -> str:
    """What a person reads for one ledger line."""
    label = entry.get_kind_display()
    if entry.job is not None:
        return f"{label}: {entry.job.original_filename}"
    if entry.note:
        return f"{label}: {entry.note}"
    return label


def signup_bonus_granted(*, user: User) -> bool:
    """Whether this account received the free credits for joining."""
    return CreditEntry.objects.filter(
        account__user=user, kind=CreditEntry.Kind.SIGNUP_BONUS
    ).exists()


def api_tokens_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created")


def social_accounts_for_user(*, user: User) -> list[SocialAccount]:
    return list(SocialAccount.objects.filter(user=user).order_by("provider"))


def signed_in_recently(request: HttpRequest, *, user: User) -> bool:
    """Whether this session signed in (by any method) within the
    reauthentication timeout: how people without a password confirm it's them."""
    records = get_authentication_records(request, user)
    if not records:
        return False
    elapsed = time.time() - records[-1]["at"]
    return bool(elapsed < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT)
