"""Credit packs, checkout through Square, the return page and Square's webhook."""

import json
import logging
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import selectors, square_client
from .models import Purchase
from .purchases import purchase_start, purchase_sync
from .services import account_for_user
from .webhooks import SIGNATURE_HEADER, webhook_process, webhook_signature_valid

if TYPE_CHECKING:
    from accounts.models import User


def signed_in_user(request: Any) -> "User":
    # Billing sits below accounts (which grants the signup bonus), so it names
    # the user model for the type checker only.
    return cast("User", request.user)


logger = logging.getLogger(__name__)


def _get_purchase_for_user(request: HttpRequest, pk: int) -> Purchase:
    """The signed-in user's purchase, or 404 (other purchases don't exist for them)."""
    return get_object_or_404(
        Purchase.objects.select_related("pack"), pk=pk, user=signed_in_user(request)
    )


@require_GET
def pack_list(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {
        "packs": list(selectors.packs_active()),
    }
    if request.user.is_authenticated:
        user = signed_in_user(request)
        context["credits"] = account_for_user(user).balance
        context["purchases"] = selectors.purchases_for_user(user)
    return render(request, "billing/pack_list.html", context)


@login_required
@require_POST
def purchase_create(request: HttpRequest, pk: int) -> HttpResponse:
    pack = get_object_or_404(selectors.packs_active(), pk=pk)
    try:
        purchase = purchase_start(user=signed_in_user(request), pack=pack)
    except square_client.PaymentsNotConfigured:
        # The credits page explains how credits are obtained here instead.
        messages.error(
            request, "This server does not sell credits. Nothing was charged."
        )
        return redirect("billing:credits")
    except square_client.PaymentProviderError as error:
        messages.error(request, f"{error.message} You have not been charged.")
        return redirect("billing:credits")
    return HttpResponseRedirect(purchase.checkout_url)


@login_required
@require_GET
def purchase_return(request: HttpRequest, pk: int) -> HttpResponse:
    # Square appends ids to this URL; they are ignored: only Square's API decides.
    purchase = _get_purchase_for_user(request, pk)
    unreachable = False
    if purchase.status in (Purchase.Status.PENDING, Purchase.Status.FAILED):
        try:
            purchase = purchase_sync(purchase=purchase)
        except (
            square_client.PaymentsNotConfigured,
            square_client.PaymentProviderError,
        ):
            unreachable = True
    context = {
        "purchase": purchase,
        "unreachable": unreachable,
        "credits": account_for_user(signed_in_user(request)).balance,
    }
    return render(request, "billing/purchase_detail.html", context)


@csrf_exempt  # Square cannot send a CSRF token; the HMAC signature replaces it.
@require_POST
def square_webhook(request: HttpRequest) -> HttpResponse:
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return HttpResponseBadRequest("Not UTF-8.")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not webhook_signature_valid(body=body, signature=signature):
        logger.warning("Square webhook with a bad or missing signature refused.")
        return HttpResponseForbidden("Bad signature.")
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        return HttpResponseBadRequest("Not JSON.")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("Not an event.")
    try:
        outcome = webhook_process(payload=payload)
    except square_client.PaymentProviderError as error:
        # Nothing was recorded: Square delivers the event again later.
        logger.warning("Square webhook deferred, payment unconfirmed: %s", error)
        return HttpResponse("retry later", status=503, content_type="text/plain")
    return HttpResponse(outcome, content_type="text/plain")
