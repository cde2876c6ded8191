"""Account pages for webhooks: endpoints, their secrets and delivery logs.

Thin: every change is a service; another person's endpoint is a 404. A secret
is rendered in the answer that made it, never stored in the session.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.types import signed_in_user
from core.errors import DomainError

from . import selectors, sending, services
from .forms import EndpointForm
from .models import Endpoint


def _list_page(
    request: HttpRequest,
    form: EndpointForm | None = None,
    status: int = 200,
    callback_secret: str = "",
) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "endpoints": selectors.endpoints_for_user(user=user),
        "form": form or EndpointForm(),
        "max_endpoints": services.MAX_ENDPOINTS_PER_USER,
        "callback_secret": callback_secret,
        "jobs_api_url": request.build_absolute_uri(reverse("api-jobs")),
    }
    return render(request, "webhooks/endpoint_list.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def endpoint_list(request: HttpRequest) -> HttpResponse:
    """The endpoints, and (POST) a new one, whose secret is shown only in the answer."""
    if request.method == "GET":
        return _list_page(request)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    try:
        endpoint = services.endpoint_create(
            user=signed_in_user(request), **form.cleaned_data
        )
    except DomainError as error:
        form.add_error("url" if "url" in error.code else None, error.message)
        return _list_page(request, form, status=error.status_code)
    return _detail_page(request, endpoint, new_secret=endpoint.secret, created=True)


def _own(request: HttpRequest, pk: str) -> Endpoint:
    return selectors.endpoint_get_for_user(user=signed_in_user(request), pk=pk)


def _detail_page(
    request: HttpRequest,
    endpoint: Endpoint,
    *,
    new_secret: str = "",
    created: bool = False,
) -> HttpResponse:
    attempts = selectors.attempts_for_endpoint(endpoint=endpoint)[: sending.LOG_LENGTH]
    context = {
        "endpoint": endpoint,
        "attempts": [
            (attempt, sending.describe_answer(attempt.status_code, attempt.error))
            for attempt in attempts
        ],
        "new_secret": new_secret,
        "created": created,
        "log_length": sending.LOG_LENGTH,
    }
    return render(request, "webhooks/endpoint_detail.html", context)


@login_required
@never_cache
@require_GET
def endpoint_detail(request: HttpRequest, pk: str) -> HttpResponse:
    return _detail_page(request, _own(request, pk))


@login_required
@never_cache
@require_POST
def endpoint_rotate(request: HttpRequest, pk: str) -> HttpResponse:
    endpoint = _own(request, pk)
    secret = services.endpoint_secret_rotate(endpoint=endpoint)
    return _detail_page(request, endpoint, new_secret=secret)


@login_required
@require_POST
def endpoint_test(request: HttpRequest, pk: str) -> HttpResponse:
    endpoint = _own(request, pk)
    services.test_event_send(endpoint=endpoint)
    messages.success(
        request,
        "A test event is on its way; reload this page in a few seconds to see "
        "how your endpoint answered.",
    )
    return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


@login_required
@require_POST
def endpoint_toggle(request: HttpRequest, pk: str) -> HttpResponse:
    endpoint = _own(request, pk)
    enable = not endpoint.enabled
    services.endpoint_update(endpoint=endpoint, enabled=enable)
    messages.success(
        request,
        "The endpoint is on again: new events go to it."
        if enable
        else "The endpoint is off: no events go to it until you turn it on.",
    )
    return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, pk: str) -> HttpResponse:
    endpoint = _own(request, pk)
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"The endpoint {endpoint.url} was deleted.")
    return HttpResponseRedirect(reverse("webhooks:list"))


@login_required
@require_POST
def delivery_resend(request: HttpRequest, pk: str, delivery_id: str) -> HttpResponse:
    endpoint = _own(request, pk)
    delivery = selectors.delivery_get_for_endpoint(endpoint=endpoint, pk=delivery_id)
    services.delivery_resend(delivery=delivery)
    messages.success(
        request,
        f"Event {delivery.message_id} is being sent again, with the same id.",
    )
    return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


@login_required
@never_cache
@require_POST
def callback_secret_show(request: HttpRequest) -> HttpResponse:
    secret = services.callback_secret_for_user(user=signed_in_user(request))
    return _list_page(request, callback_secret=secret.secret)


@login_required
@never_cache
@require_POST
def callback_secret_rotate(request: HttpRequest) -> HttpResponse:
    secret = services.callback_secret_rotate(user=signed_in_user(request))
    messages.success(
        request,
        "A new callback secret; the old one signs too for the next 24 hours.",
    )
    return _list_page(request, callback_secret=secret.secret)
