"""Every page on a phone (360 and 390 px) and a desktop, light and dark: nothing
scrolls sideways, the navigation folds behind a Menu button, every control a
finger aims for is at least 44 px, axe-core finds nothing serious, and none of
the page's own assets fails to load."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cms import site_content
from jobs import lifecycle
from tests.browser.conftest import watch_csp
from tests.helpers.accounts import funded_user
from tests.helpers.audio import song_bytes
from tests.helpers.browser import axe_check, log_in, screenshot
from tests.helpers.jobs import finished_job, submit, upload
from webhooks import sending, transport
from webhooks import services as webhooks
from webhooks.models import Endpoint

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]

PUBLIC = {
    "home": "/",
    "pricing": "/pricing/",
    "about": "/about/",
    "terms": "/terms/",
    "login": "/accounts/login/",
    "signup": "/accounts/signup/",
    "password-reset": "/accounts/password/reset/",
    "not-found": "/no-such-page/",
}
SIGNED_IN = {
    "dashboard": "/jobs/",
    "job": "/jobs/{finished}/",
    "job-queued": "/jobs/{queued}/",
    "job-failed": "/jobs/{failed}/",
    "stems-deleted": "/jobs/{expired}/download/",
    "account": "/accounts/",
    "tokens": "/accounts/tokens/",
    "webhooks": "/accounts/webhooks/",
    "webhook": "/accounts/webhooks/{endpoint}/",
    "emails": "/accounts/email/",
    "password-change": "/accounts/password/change/",
    "credits": "/billing/credits/",
    "delete-account": "/accounts/delete/",
}

# What a finger aims for: buttons, button-like links, form fields, the
# navigation's links, a job row's checkbox area (its label covers the box).
TARGETS = """
[...document.querySelectorAll(
  'button, .button, select, input:not([type=hidden]):not([type=checkbox])'
  + ':not([type=radio]), .nav-links a, .tab, .job-select, .account-nav a'
)].filter((el) => {
  const box = el.getBoundingClientRect(), style = getComputedStyle(el);
  return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
}).map((el) => {
  const box = el.getBoundingClientRect();
  return [el.outerHTML.slice(0, 120), Math.round(box.height * 10) / 10];
})
"""


@pytest.fixture
def jobs(tmp_path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    site_content.pages_ensure()
    person = funded_user()
    person.email = "phone@example.com"
    person.save()
    expired = finished_job(
        person,
        stems=("drums", "bass", "other", "vocals"),
        original_filename="An old song with a very long name, remastered (2009).wav",
        two_stems="",
    )
    lifecycle.jobs_purge_expired(now=timezone.now() + timedelta(days=2))
    finished = finished_job(
        person,
        stems=("drums", "bass", "other", "vocals", "guitar", "piano"),
        model="htdemucs_6s",
        two_stems="",
    )
    wav = song_bytes(tmp_path, seconds=1.0)
    failed, queued = submit(person, upload(wav, "broken.wav"), upload(wav, "next.wav"))
    lifecycle.job_fail(job=failed, message="demucs could not read this file.")
    return {
        "finished": finished,
        "queued": queued,
        "failed": failed,
        "expired": expired,
        "endpoint": endpoint_with_a_log(person),
    }


def endpoint_with_a_log(person: Any) -> Endpoint:
    """A webhook endpoint whose log has a refused and a failed attempt."""
    endpoint = webhooks.endpoint_create(
        user=person,
        url="https://hooks.example.com/a/very/long/path/for/the/karaoke-app/events",
        events=["job.succeeded", "job.failed"],
        description="karaoke app",
    )
    for policy in (transport.default_policy, lambda address: True):
        delivery = webhooks.test_event_send(endpoint=endpoint)
        sending.delivery_attempt(
            delivery_id=str(delivery.pk),
            resolver=lambda host, port: ["127.0.0.1"],
            policy=policy,
        )
    return endpoint


@pytest.fixture
def phone(browser, live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A factory of tabs with the given width and colour scheme; each fails the
    test on a JavaScript error, a CSP violation or a failed asset of its own."""
    opened: list[tuple[Any, list[str], list[str]]] = []

    def open_tab(width: int, scheme: str, user: Any = None) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": 800},
            is_mobile=width < 600,
            has_touch=width < 600,
            color_scheme=scheme,
        )
        context.set_default_timeout(15_000)
        if user is not None:
            log_in(context, live_server, user)
        violations = watch_csp(context)
        problems: list[str] = []
        tab = context.new_page()
        tab.on("pageerror", lambda error: problems.append(f"JavaScript: {error}"))

        def on_response(response: Any) -> None:
            own = response.url.startswith(live_server.url)
            if own and response.request.resource_type != "document":
                if response.status >= 400:
                    problems.append(f"{response.status} for {response.url}")

        tab.on("response", on_response)
        opened.append((context, violations, problems))
        return tab

    yield open_tab
    for context, violations, problems in opened:
        context.close()
        assert not problems, problems
        assert not violations, violations


def fits(tab: Any, name: str) -> None:
    # Against the screen's width: on a phone, the browser widens its layout
    # viewport (innerWidth) to whatever overflows, and zooms out.
    screen = tab.viewport_size["width"]
    widths = tab.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth,"
        " window.innerWidth]"
    )
    if max(widths) > screen:
        wide = tab.evaluate(
            """(screen) => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > screen + 0.5
                    && el.parentElement.getBoundingClientRect().right <= screen + 0.5)
                .slice(0, 5).map((el) => el.outerHTML.slice(0, 100))""",
            screen,
        )
        raise AssertionError(f"{name} is {max(widths)} px wide on {screen} px: {wide}")


def targets_are_big_enough(tab: Any, name: str) -> None:
    small = [(html, height) for html, height in tab.evaluate(TARGETS) if height < 44]
    assert not small, f"{name}: touch targets under 44 px: {small}"


def menu_folds(tab: Any, name: str) -> None:
    toggle = tab.get_by_role("button", name="Menu")
    assert toggle.is_visible(), name
    links = tab.locator("#nav-links")
    assert links.is_hidden(), f"{name}: the navigation shows before Menu is pressed"
    toggle.click()
    assert links.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    targets_are_big_enough(tab, f"{name} (menu open)")
    fits(tab, f"{name} (menu open)")
    tab.keyboard.press("Escape")
    assert links.is_hidden()


def visit(tab: Any, path: str, name: str) -> None:
    response = tab.goto(path)
    assert response is not None
    expected = {"not-found": 404, "stems-deleted": 410}.get(name, 200)
    assert response.status == expected, f"{name}: {response.status}"
    tab.wait_for_load_state("load")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_a_phone(phone, jobs, scheme, live_stemworker) -> None:  # type: ignore[no-untyped-def]
    owner = jobs["finished"].user
    ids = {key: thing.pk for key, thing in jobs.items()}
    pages = [(name, path, None) for name, path in PUBLIC.items()]
    pages += [(name, path.format(**ids), owner) for name, path in SIGNED_IN.items()]
    for width in (360, 390):
        public, private = phone(width, scheme), phone(width, scheme, owner)
        for name, path, user in pages:
            tab = private if user else public
            visit(tab, path, name)
            label = f"{name} at {width} px, {scheme}"
            fits(tab, label)
            targets_are_big_enough(tab, label)
            if width == 390:
                axe_check(tab, label)
                if scheme == "light":
                    screenshot(tab, f"phone-{name}")
        menu_folds(private, f"dashboard at {width} px")


def test_the_desktop_keeps_its_navigation_open(phone, jobs, live_stemworker) -> None:  # type: ignore[no-untyped-def]
    tab = phone(1280, "light", jobs["finished"].user)
    for name, path in SIGNED_IN.items():
        visit(tab, path.format(**{k: j.pk for k, j in jobs.items()}), name)
        fits(tab, name)
        assert tab.locator("#nav-links").is_visible()
        assert tab.get_by_role("button", name="Menu").is_hidden()
