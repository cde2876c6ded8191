"""Webhooks from the account page, in a real browser, on a phone and a desktop:
add an endpoint, copy its secret, send a test event and read the log; the
event arrives signed with the secret the page showed. No CSP violation, no
JavaScript error (the `page` fixture), no serious axe finding."""

import django_rq
import pytest

from tests.browser.conftest import ThreadWorker
from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import axe_check, log_in, screenshot, wait_for
from tests.helpers.webhook_receiver import receiving

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


def deliver() -> None:
    django_rq.get_worker("webhooks", worker_class=ThreadWorker).work(
        burst=True, with_scheduler=False
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_add_an_endpoint_send_a_test_event_and_read_the_log(
    page, live_server, settings, width
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on this machine
    page.set_viewport_size({"width": width, "height": 900})
    person = signed_up_user()
    log_in(page, live_server, person)
    page.goto("/accounts/")
    page.locator(".account-nav").get_by_role("link", name="Webhooks").click()
    page.get_by_role("heading", name="Webhooks", level=1).wait_for()
    axe_check(page, f"webhooks at {width}px")
    with receiving() as receiver:
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("A job's files expired").uncheck()
        page.get_by_label("Description").fill("karaoke app")
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_role(
            "heading", name="Endpoint added: its signing secret"
        ).wait_for()
        secret = page.locator("#endpoint-secret").input_value()
        assert secret.startswith("whsec_")
        axe_check(page, f"new endpoint at {width}px")
        page.get_by_role("button", name="Send a test event").click()
        page.get_by_text("A test event is on its way").wait_for()
        deliver()
        wait_for(lambda: receiver.received, timeout=30)
        page.reload()
        assert page.locator("table").get_by_text("HTTP 200").count() == 1
        assert secret not in page.content()  # shown once
        axe_check(page, f"endpoint log at {width}px")
        if width < 600:
            screenshot(page, "phone-webhook-log")
        else:
            screenshot(page, "webhook-log")
    [event] = receiver.received
    assert event.verified(secret)["type"] == "webhook.test"
