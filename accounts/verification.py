"""Verification links: when the last one went out, and sending another.

allauth sends at most one link per address per cooldown (its `confirm_email`
rate limit) and silently skips a send inside it. The site never promises a link
it will not send: it records when each one went out and says so instead.
"""

import enum
import hashlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from allauth.account import app_settings as allauth_settings
from allauth.account.internal.flows.email_verification import (
    consume_email_verification_rate_limit,
    send_verification_email_at_login,
    send_verification_email_to_address,
)
from allauth.account.models import EmailAddress, Login
from allauth.account.stages import EmailVerificationStage, LoginStageController
from allauth.core.internal.ratelimit import parse_rates
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from .services import user_has_verified_email
from .types import signed_in_user


@dataclass(frozen=True)
class VerificationMail:
    """The link for one address: when it went out (None: not known here) and
    when another may (None: now)."""

    email: str
    sent_at: datetime | None
    next_at: datetime | None

    @property
    def can_send(self) -> bool:
        return self.next_at is None


class Resend(enum.Enum):
    SENT = "sent"
    WAIT = "wait"  # inside the cooldown: nothing was sent
    VERIFIED = "verified"
    NOTHING_PENDING = "nothing_pending"


def _sent_key(email: str) -> str:
    # The same key as allauth's rate limit (the lower-cased address), hashed.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"accounts:verification-sent:{digest}"


def cooldown() -> timedelta:
    """The longest per-address window of allauth's `confirm_email` limit."""
    rates = parse_rates(allauth_settings.RATE_LIMITS.get("confirm_email"))
    seconds = max((rate.duration for rate in rates if rate.per == "key"), default=0)
    return timedelta(seconds=seconds)


def verification_sent_record(*, email: str) -> None:
    """Remember that a verification mail went to `email` now.

    Kept in the cache, next to the rate limit it explains, for as long as the
    link stays valid.
    """
    days = allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS
    cache.set(_sent_key(email), time.time(), timeout=int(days * 86400))


def verification_status(request: HttpRequest, *, email: str) -> VerificationMail:
    raw = cache.get(_sent_key(email))
    sent_at = datetime.fromtimestamp(raw, tz=UTC) if raw else None
    if consume_email_verification_rate_limit(request, email, dry_run=True):
        return VerificationMail(email=email, sent_at=sent_at, next_at=None)
    now = timezone.now()
    next_at = (sent_at or now) + cooldown()
    return VerificationMail(
        email=email, sent_at=sent_at, next_at=max(next_at, now + timedelta(seconds=1))
    )


def _pending_login(request: HttpRequest) -> Login | None:
    """The sign-up or log-in waiting for a verified address, in this session."""
    stage = LoginStageController.enter(request, EmailVerificationStage.key)
    return stage.login if stage else None


def _unverified_address(user: object) -> EmailAddress | None:
    return (
        EmailAddress.objects.filter(user=user, verified=False)
        .order_by("-primary", "pk")
        .first()
    )


def verification_pending_email(request: HttpRequest) -> str | None:
    """The address this visitor is asked to verify, if any."""
    if request.user.is_authenticated:
        user = signed_in_user(request)
        if user_has_verified_email(user=user):
            return None
        address = _unverified_address(user)
        return address.email if address else (user.email or None)
    login = _pending_login(request)
    if login is None:
        return None
    if login.user is None:  # an address already taken (allauth's enumeration guard)
        return login.email
    address = _unverified_address(login.user)
    return address.email if address else (login.email or login.user.email)


def verification_resend(request: HttpRequest) -> tuple[Resend, str | None]:
    """Send a new link to the address this visitor is asked to verify, unless
    allauth's cooldown holds it back; returns what happened and the address.

    A signed-in person, or one whose sign-up or log-in waits in this session
    for the link. An address already taken gets allauth's "you already have an
    account" mail instead, under the same limit, so nobody learns it is taken.
    """
    if request.user.is_authenticated:
        user = signed_in_user(request)
        if user_has_verified_email(user=user):
            return Resend.VERIFIED, None
        address = _unverified_address(user)
        if address is None:
            return Resend.NOTHING_PENDING, None
        sent = send_verification_email_to_address(request, address)
        return (Resend.SENT if sent else Resend.WAIT), address.email
    login = _pending_login(request)
    email = verification_pending_email(request)
    if login is None or email is None:
        return Resend.NOTHING_PENDING, None
    if login.user is not None and user_has_verified_email(user=login.user):
        return Resend.VERIFIED, email
    sent = send_verification_email_at_login(request, login)
    return (Resend.SENT if sent else Resend.WAIT), email


# --- Wording -----------------------------------------------------------------


def describe_ago(moment: datetime) -> str:
    """ "1 minute ago", "less than a minute ago", "2 hours, 5 minutes ago"."""
    seconds = (timezone.now() - moment).total_seconds()
    if seconds < 60:
        return "less than a minute ago"
    if seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'' if minutes == 1 else 's'} ago"
    return f"{timesince(moment)} ago"


def describe_wait(moment: datetime) -> str:
    """ "in 40 seconds", "in 2 minutes" (rounded up: never sooner than true)."""
    seconds = max(1, math.ceil((moment - timezone.now()).total_seconds()))
    if seconds < 60:
        return f"in {seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    return f"in {minutes} minute{'' if minutes == 1 else 's'}"
