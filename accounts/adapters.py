"""allauth hooks: every new account, email or social, passes through here."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from .services import user_signed_up


class AccountAdapter(DefaultAccountAdapter):
    def save_user(
        self, request: HttpRequest, user: Any, form: Any, commit: bool = True
    ) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_signed_up(user=user)
        return user
