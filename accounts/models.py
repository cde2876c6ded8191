"""People and their API tokens. Email is the login; there is no username."""

from datetime import datetime
from typing import Any, ClassVar

from allauth.account import models as allauth_account
from allauth.socialaccount import models as allauth_social
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from knox.models import AbstractAuthToken


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(
        self, email: str, password: str | None, **extra: Any
    ) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[assignment,misc]

    def __str__(self) -> str:
        return self.email


class ApiToken(AbstractAuthToken):
    """A named API token; only a hash of the secret is stored (django-rest-knox)."""

    name: "models.CharField[str, str]" = models.CharField(
        max_length=100, default="API token"
    )
    last_used_at: "models.DateTimeField[datetime | None, datetime | None]" = (
        models.DateTimeField(null=True, blank=True)
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"


class BonusAddress(models.Model):
    """A mailbox that has had its signup bonus, as a keyed hash only.

    Every address an account that got the bonus ever had (live or closed): a
    new account whose address hashes to one of these gets no bonus again.
    """

    email_hash = models.CharField(max_length=64, unique=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"bonus address {self.email_hash[:12]}…"


# allauth's models, as proxies: the Django admin groups models by app, and
# these belong with the people and their tokens under one "Accounts" heading.


class EmailAddress(allauth_account.EmailAddress):
    """allauth's email address of a person (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "email address"
        verbose_name_plural = "email addresses"


class SocialAccount(allauth_social.SocialAccount):
    """allauth's link between a person and a social sign-in (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "social sign-in"
        verbose_name_plural = "social sign-ins"
