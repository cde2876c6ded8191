"""The pricing page and the credits page in a real browser, on a server that
sells credits and on one that does not: they always say the same thing, and
none of the page's own assets (the favicon included) is missing."""

from typing import Any

import pytest

from cms import site_content
from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import axe_check, log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]

PAGES = ("/pricing/", "/billing/credits/")


def square(settings: Any, *, configured: bool) -> None:
    """Square's settings, set or cleared (showing a page never calls Square)."""
    value = "set-for-the-test" if configured else ""
    settings.SQUARE_ACCESS_TOKEN = value
    settings.SQUARE_ENVIRONMENT = "sandbox"
    settings.SQUARE_LOCATION_ID = value
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = value
    settings.SQUARE_WEBHOOK_URL = (
        "https://muxminus.test/billing/square/webhook/" if configured else ""
    )
    settings.SQUARE_BASE_URL = ""


def missing_assets(page: Any, live_server: Any) -> list[str]:
    """Fills up with every 4xx/5xx the site answers to the page's own requests."""
    problems: list[str] = []

    def on_response(response: Any) -> None:
        if response.url.startswith(live_server.url) and response.status >= 400:
            problems.append(f"{response.status} for {response.url}")

    page.on("response", on_response)
    return problems


def visit(page: Any, path: str) -> dict[str, Any]:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    main = page.locator("main")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon, f"{path}: no favicon link"
    # Headless chromium does not always fetch icons: ask for it as a tab would.
    assert page.request.get(icon).status == 200, icon
    return {
        "buy": main.get_by_role("button", name="Buy").count()
        + main.get_by_role("link", name="Buy").count(),
        "forms": main.locator("form[action*='/billing/buy/']").count(),
        "disabled": main.locator("[disabled]").count(),
        "explanation": (
            main.locator("[data-no-payments]").inner_text()
            if main.locator("[data-no-payments]").count()
            else ""
        ),
        "nav": page.locator("header nav a[href='/billing/credits/']").inner_text(),
    }


def test_without_payments_both_pages_explain_and_sell_nothing(
    page, live_server, settings
) -> None:
    square(settings, configured=False)
    settings.SITE_CONTACT_EMAIL = "operator@example.com"
    site_content.pages_ensure()
    problems = missing_assets(page, live_server)
    log_in(page, live_server, signed_up_user(email="credits@example.com"))

    seen = {path: visit(page, path) for path in PAGES}
    for path, found in seen.items():
        assert found["buy"] == 0 and found["forms"] == 0, (path, found)
        assert found["disabled"] == 0, (path, found)
        assert "does not sell credits" in found["explanation"], (path, found)
        assert "operator@example.com" in found["explanation"], (path, found)
        assert found["nav"].strip() == "Credits", (path, found)
        page.goto(path)
        assert "configured" not in page.locator("main").inner_text()  # no jargon
        axe_check(page, f"{path} without payments")
    assert seen["/pricing/"]["explanation"] == seen["/billing/credits/"]["explanation"]

    assert page.request.get("/favicon.ico").status == 200  # after the redirect
    assert not problems, problems


def test_with_payments_both_pages_sell_the_same_packs(
    page, live_server, settings
) -> None:
    square(settings, configured=True)
    site_content.pages_ensure()
    problems = missing_assets(page, live_server)
    log_in(page, live_server, signed_up_user(email="credits@example.com"))

    seen = {path: visit(page, path) for path in PAGES}
    for path, found in seen.items():
        assert found["buy"] == 3, (path, found)  # the seeded 5, 25 and 100 packs
        assert found["explanation"] == "", (path, found)
        assert found["nav"].strip() == "Buy credits", (path, found)
    assert seen["/billing/credits/"]["forms"] == 3

    # The pricing page's Buy leads to the credits page's real buy buttons.
    page.goto("/pricing/")
    page.locator("main").get_by_role("link", name="Buy 5 credits").click()
    page.wait_for_url("**/billing/credits/")
    assert page.get_by_role("button", name="Buy 5 credits").is_enabled()
    axe_check(page, "credits with payments")
    assert not problems, problems
