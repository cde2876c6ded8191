"""Account writes: creating people (with their signup bonus) and API tokens."""

from django.db import transaction

from billing.services import credits_grant_signup_bonus

from .models import ApiToken, User


def user_signed_up(*, user: User) -> None:
    """Run once per new account, whatever the path: grants the free credits.

    Idempotent: the ledger allows one signup bonus per account.
    """
    credits_grant_signup_bonus(user=user)


@transaction.atomic
def user_create_verified(*, email: str) -> User:
    """Create an account with a verified email, as a completed signup would.

    Used by operators (`create_api_token`); goes through the same signup hook.
    """
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    EmailAddress.objects.create(
        user=user, email=user.email, primary=True, verified=True
    )
    user_signed_up(user=user)
    return user


def api_token_create(*, user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never stored."""
    token, secret = ApiToken.objects.create(user=user, expiry=None, name=name)
    return token, secret
