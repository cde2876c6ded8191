"""Account writes: signing up (with the bonus), API tokens, erasing an account
(closing one, jobs included, is closure/: it sits above accounts and jobs)."""

import logging
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from billing.models import CreditEntry, Purchase
from billing.services import credits_grant_signup_bonus
from core.errors import DomainError

from .models import ApiToken, BonusAddress, User

logger = logging.getLogger(__name__)

MAX_API_TOKENS_PER_USER = 20
# Providers whose mailboxes ignore dots in the local part.
DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}


class EmailNotVerified(DomainError):
    code = "email_unverified"
    status_code = 403


class TooManyApiTokens(DomainError):
    code = "too_many_tokens"


# --- Signing up -------------------------------------------------------------


def email_normalize(email: str) -> str:
    """The mailbox an address reaches: lower case, unquoted, no `+tag`, Gmail
    without dots.

    Used only to recognise a returning address, never to send mail.
    """
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    if len(local) >= 2 and local[0] == local[-1] == '"':  # "gina"@example.com
        local = local[1:-1].replace("\\", "")
    local = local.split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the normalized address under CLOSED_ACCOUNT_SECRET."""
    return salted_hmac(
        # The salt of the first version (closed accounts only): hashes recorded
        # since then stay valid.
        "accounts.ClosedAccount",
        email_normalize(email),
        secret=settings.CLOSED_ACCOUNT_SECRET,
        algorithm="sha256",
    ).hexdigest()


def bonus_address_known(email: str) -> bool:
    return BonusAddress.objects.filter(email_hash=email_hash(email)).exists()


def bonus_addresses_record(*, emails: Iterable[str]) -> None:
    """Remember these mailboxes as having had the bonus. Idempotent."""
    for address in sorted({email_hash(e) for e in emails if e}):
        BonusAddress.objects.get_or_create(email_hash=address)


def user_signed_up(*, user: User) -> CreditEntry | None:
    """Run once per new account, whatever the path: grants the free credits,
    once per mailbox.

    The address's hash is claimed first, under a unique constraint, so two
    signups racing with one mailbox (aliases included) pay once. An address
    that has had a bonus before, on a live or a closed account, gets none
    (returns None). Idempotent: the ledger allows one bonus per account.
    """
    if not user.email:
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                BonusAddress.objects.create(email_hash=email_hash(user.email))
        except IntegrityError:
            logger.info("no signup bonus for user %s: a returning mailbox", user.pk)
            return None
        return credits_grant_signup_bonus(user=user)


def user_email_confirmed(*, user: User, email: str) -> None:
    """An account that had the bonus confirmed another address: that mailbox
    is spent too, so signing up again with it pays nothing."""
    if CreditEntry.objects.filter(
        account__user=user, kind=CreditEntry.Kind.SIGNUP_BONUS
    ).exists():
        bonus_addresses_record(emails=[email])


@transaction.atomic
def user_create_verified(*, email: str) -> User:
    """Create an account with a verified email, as a completed signup would.

    Used by operators (`create_api_token`); goes through the same signup hook.
    """
    user = User.objects.create_user(email=email)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    EmailAddress.objects.create(
        user=user, email=user.email, primary=True, verified=True
    )
    user_signed_up(user=user)
    return user


def user_make_operator(*, user: User) -> None:
    """An account made from the command line (createsuperuser) is a complete
    one: its address verified (it signs in through allauth like everyone, and
    is never told to open a link that was never sent) and the signup bonus
    granted through the ledger. Idempotent."""
    EmailAddress.objects.update_or_create(
        user=user,
        email=user.email,
        defaults={"primary": True, "verified": True},
    )
    user_signed_up(user=user)


def user_has_verified_email(*, user: User) -> bool:
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def user_ensure_can_submit_jobs(*, user: User) -> None:
    """Raises EmailNotVerified unless the person has verified an email address."""
    if not user_has_verified_email(user=user):
        raise EmailNotVerified(
            f"Please verify your email address before separating songs: open the "
            f"link we sent to {user.email}. You can ask for a new link on your "
            "account page."
        )


# --- The site, as mails name it ----------------------------------------------


def site_sync_from_settings() -> None:
    """Name the Sites framework's site after SITE_URL and WAGTAIL_SITE_NAME.

    allauth's mails say "[<site name>]" and "Hello from <site name>!": left at
    Django's "example.com", a password-reset mail looks like phishing.
    """
    domain = urlsplit(settings.SITE_URL).netloc or "localhost"
    Site.objects.update_or_create(
        pk=settings.SITE_ID,
        defaults={"domain": domain, "name": settings.WAGTAIL_SITE_NAME},
    )
    Site.objects.clear_cache()


# --- API tokens -------------------------------------------------------------


def api_token_create(
    *, user: User, name: str = "API token", expires_in: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Create a named token; returns the row and the secret, which is never stored.

    Only a hash of the secret is kept (knox). Raises TooManyApiTokens past
    MAX_API_TOKENS_PER_USER.
    """
    if ApiToken.objects.filter(user=user).count() >= MAX_API_TOKENS_PER_USER:
        raise TooManyApiTokens(
            f"You already have {MAX_API_TOKENS_PER_USER} API tokens. Revoke one "
            "you no longer use first."
        )
    token, secret = ApiToken.objects.create(
        user=user, expiry=expires_in, name=name.strip() or "API token"
    )
    return token, secret


def api_token_revoke(*, user: User, digest: str) -> bool:
    """Delete one of the user's tokens (by its stored hash, knox's primary key);
    False when it is not theirs or is already gone.

    The token stops working at once: the next call with it gets 401.
    """
    deleted, _ = ApiToken.objects.filter(user=user, digest=digest).delete()
    return bool(deleted)


# --- Closing an account -----------------------------------------------------


def user_deactivate(*, user: User) -> None:
    """No new logins, token calls or jobs from here on."""
    User.objects.filter(pk=user.pk).update(is_active=False)


def user_erase(*, user: User) -> None:
    """Remove the person's account data, once their jobs are gone.

    Call it inside the transaction that closes the account (closure/). Records
    a keyed hash of each of the person's addresses (BonusAddress) so that
    signing up again with one grants no new bonus; purchases stay for
    accounting, with the user set to null and no personal data left; the API
    tokens, social accounts, email addresses and the user are deleted.
    """
    addresses = {user.email} | set(
        EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    )
    bonus_addresses_record(emails=addresses)
    Purchase.objects.filter(user=user).update(user=None, checkout_url="")
    ApiToken.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    user_id = user.pk
    user.delete()
    logger.info("erased account %s", user_id)
