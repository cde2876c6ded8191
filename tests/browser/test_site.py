"""The public pages in a real browser: the landing page and its demo (separated
by the real stemworker), pricing, the content pages, log in and sign up."""

import pytest
from django.core.management import call_command

from tests.helpers.browser import axe_check, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


def visible_player(page):  # type: ignore[no-untyped-def]
    return page.locator("[data-tab-panel]:visible [data-player]")


def test_landing_demo_plays_and_public_pages_pass_axe(
    page, browser, live_server, live_stemworker, settings
) -> None:
    call_command("load_demo_content", wait=60)

    page.goto("/")
    tabs = page.get_by_role("tab")
    assert tabs.count() == 3
    assert tabs.nth(0).get_attribute("aria-selected") == "true"
    page.wait_for_function("document.querySelector('canvas.player-wave').width > 10")
    axe_check(page, "home")
    screenshot(page, "home")

    # The original plays: the transport's position moves.
    original = visible_player(page)
    original.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "Number(document.querySelector('#panel-original [data-player]')"
        ".dataset.position) > 0.5"
    )
    assert original.get_attribute("data-state") == "playing"

    # Keyboard: arrows move between tabs; choosing another tab pauses the first.
    tabs.nth(0).focus()
    page.keyboard.press("ArrowRight")
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    assert (
        page.locator("#panel-original [data-player]").get_attribute("data-state")
        == "paused"
    )
    assert visible_player(page).locator("[data-stem]").count() == 2
    page.keyboard.press("ArrowRight")
    six = visible_player(page)
    assert six.locator("[data-stem]").count() == 6
    six.get_by_role("button", name="Solo Vocals").click()
    six.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "Number(document.querySelector('#panel-six_stems [data-player]')"
        ".dataset.position) > 0.5"
    )
    muted = page.evaluate(
        "[...document.querySelectorAll('#panel-six_stems audio')]"
        ".map(a => [a.closest('[data-stem]').dataset.stem, a.muted])"
    )
    assert dict(muted) == {
        "bass": True,
        "drums": True,
        "guitar": True,
        "other": True,
        "piano": True,
        "vocals": False,
    }
    screenshot(page, "home-demo-six-stems", full_page=False)

    # Pricing comes from billing's packs, on a server that sells them (showing
    # the page calls nothing at Square).
    settings.SQUARE_ACCESS_TOKEN = "token"
    settings.SQUARE_LOCATION_ID = "location"
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = "key"
    settings.SQUARE_WEBHOOK_URL = f"{live_server.url}/billing/square/webhook/"
    page.goto("/pricing/")
    prices = page.locator("[data-price]").all_inner_texts()
    assert prices == ["$1.00", "$4.00", "$15.00"]
    axe_check(page, "pricing")
    screenshot(page, "pricing")

    for path in ("/terms/", "/privacy/", "/about/"):
        page.goto(path)
        assert page.locator("h1").count() == 1
        axe_check(page, path)
    screenshot(page, "about")

    for path, name in (("/accounts/login/", "login"), ("/accounts/signup/", "signup")):
        page.goto(path)
        axe_check(page, name)
    screenshot(page, "signup")

    # Dark mode (system preference) and a phone.
    dark = browser.new_context(
        base_url=live_server.url,
        color_scheme="dark",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
    )
    phone = dark.new_page()
    phone.goto("/")
    phone.wait_for_function("document.querySelector('canvas.player-wave').width > 10")
    axe_check(phone, "home (dark, phone)")
    screenshot(phone, "home-phone-dark")
    phone.goto("/pricing/")
    axe_check(phone, "pricing (dark, phone)")
    dark.close()
