"""The account-deletion page: it lists what goes, then closes the account."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import selectors as accounts_selectors
from accounts.forms import AccountDeleteForm
from accounts.types import signed_in_user
from billing.services import account_for_user
from jobs.selectors import jobs_for_user

from . import services

View = Callable[..., HttpResponse]


def _confirm_identity(view: View) -> View:
    """allauth's reauthentication (the password) for people who have one; a
    recent sign-in with their provider for social-only people, whom allauth
    would otherwise let through."""
    with_password = reauthentication_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in_user(request)
        if user.has_usable_password():
            return with_password(request, *args, **kwargs)
        if not accounts_selectors.signed_in_recently(request, user=user):
            context = {
                "social_accounts": accounts_selectors.social_accounts_for_user(
                    user=user
                ),
                "minutes": settings.ACCOUNT_REAUTHENTICATION_TIMEOUT // 60,
            }
            return render(request, "accounts/confirm_identity.html", context)
        return view(request, *args, **kwargs)

    return wrapper


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@_confirm_identity
def account_delete(request: HttpRequest) -> HttpResponse:
    """Explains exactly what goes, then (POST, confirmed) closes the account."""
    user = signed_in_user(request)
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.account_close(user=user)
        logout(request)
        messages.success(
            request, "Your account and everything in it have been deleted. Goodbye!"
        )
        return HttpResponseRedirect("/")
    context = {
        "form": form,
        "job_count": jobs_for_user(user=user).count(),
        "active_job_count": jobs_for_user(user=user).active().count(),
        "token_count": accounts_selectors.api_tokens_for_user(user=user).count(),
        "social_accounts": accounts_selectors.social_accounts_for_user(user=user),
        "email_addresses": EmailAddress.objects.filter(user=user),
        "credits": account_for_user(user).balance,
        "has_purchases": user.purchases.exists(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/account_delete.html", context, status=status)
