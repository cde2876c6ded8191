"""The whole journey on a 390 px phone: sign up, confirm, upload, see the place
in line and the estimate, play, download, run out of credits; nothing
overflowing, contradicting itself or leading nowhere on the way."""

from typing import Any

import pytest

from cms import site_content
from jobs.models import Job
from tests.browser.test_journey import sign_up
from tests.helpers.browser import axe_check, drop_files, screenshot, wait_for, wav_bytes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


def fits(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name} is {width} px wide on a 390 px phone"


def test_a_phone_from_sign_up_to_no_credits_left(
    page, live_stemworker, rq_worker, tmp_path
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    site_content.pages_ensure()
    user = sign_up(page)  # confirmed with one click, on the dashboard
    fits(page, "dashboard")
    assert page.locator("[data-credits]").inner_text() == "3"
    assert page.locator("[data-no-credits-notice]").is_hidden()

    # Three songs for three free credits; no worker yet, so they wait in line.
    song = wav_bytes(tmp_path, "song.wav", 6.0)
    drop_files(page, "[data-dropzone]", [(f"take {n}.wav", song) for n in range(1, 4)])
    rows = page.locator("[data-job-list] > li")
    wait_for(
        lambda: rows.count() == 3 and not page.locator("[data-queue-item]").count()
    )
    texts = page.locator("[data-job-list] [data-state-text]").all_inner_texts()
    assert any(t.startswith("Next in line") for t in texts), texts
    assert any("in line" in t and "stems ready in" in t for t in texts), texts
    # Out of credits: the count and the notice agree, and the notice leads on.
    page.wait_for_function(
        "document.querySelector('[data-credits]').textContent === '0'"
    )
    notice = page.locator("[data-no-credits-notice]")
    assert notice.is_visible() and notice.get_by_role("link").count() == 1
    fits(page, "dashboard, three songs waiting")
    axe_check(page, "phone dashboard, waiting")
    screenshot(page, "phone-journey-waiting")

    # The queued job's own page says where it stands.
    first = Job.objects.get(user=user, original_filename="take 1.wav")
    page.goto(f"/jobs/{first.pk}/")
    assert "in line" in page.locator("[data-progress-text]").inner_text()
    assert (
        page.locator("[data-stages] [aria-current=step]")
        .inner_text()
        .endswith("Waiting")
    )
    fits(page, "queued job page")

    # The worker runs them; the page turns into the player by itself.
    rq_worker.start()
    page.wait_for_selector("[data-player]", timeout=120_000)
    fits(page, "job page with the player")
    player = page.locator("[data-player]")
    player.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "Number(document.querySelector('[data-player]').dataset.position) > 0.5"
    )
    mix = player.get_by_role("button", name="Hear the full mix")
    mix.click()
    assert (
        player.get_by_role("button", name="Back to your mix").get_attribute(
            "aria-pressed"
        )
        == "true"
    )
    with page.expect_download() as download:
        player.locator("[data-stem=vocals] a[data-download]").click()
    assert download.value.suggested_filename == "take 1 - vocals.mp3"
    axe_check(page, "phone job page")
    screenshot(page, "phone-journey-player")

    # Back on the dashboard: everything done, no credits, and a way to get more.
    wait_for(
        lambda: Job.objects.filter(user=user, status="succeeded").count() == 3,
        timeout=180,
    )
    page.goto("/jobs/")
    assert rows.count() == 3
    assert page.locator("[data-job-list] > li[data-status=succeeded]").count() == 3
    assert page.locator("[data-no-credits-notice]").is_visible()
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Credits").first.click()
    page.wait_for_url("**/billing/credits/")
    fits(page, "credits page")
    assert "does not sell credits" in page.locator("main").inner_text()
