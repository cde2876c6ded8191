"""A new person in a real browser, on real parts (live server, RQ worker thread,
stemworker with tiny models): sign up, upload seven songs through the queue,
play and download stems, delete a job, and see an expired one grayed out."""

import re
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from billing.services import credits_adjust
from cms import site_content
from jobs.lifecycle import jobs_purge_expired
from jobs.models import Job
from tests.helpers.browser import axe_check, drop_files, screenshot, wait_for, wav_bytes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]

EMAIL = "new.person@example.com"
PASSWORD = "a long and unusual passphrase 42"


def queue_states(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    states = page.eval_on_selector_all(
        "[data-queue-item]", "items => items.map(i => i.dataset.state)"
    )
    return {state: states.count(state) for state in set(states)}


def sign_up(page) -> User:  # type: ignore[no-untyped-def]
    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill(EMAIL)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    # The real confirmation email (locmem backend): follow its link.
    message = wait_for(lambda: mail.outbox and mail.outbox[-1])
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", message.body)
    assert link, message.body
    # One click: the link itself confirms and signs in, landing on the dashboard.
    page.goto(link.group(1))
    page.wait_for_url("**/jobs/")
    return User.objects.get(email=EMAIL)


def test_sign_up_upload_seven_songs_play_download_delete_expire(
    page, live_stemworker, rq_worker, tmp_path
) -> None:
    site_content.pages_ensure()
    user = sign_up(page)

    page.goto("/jobs/")
    assert page.locator("[data-credits]").inner_text() == "3"
    axe_check(page, "dashboard (empty)")
    # 3 free credits do not cover 7 songs: a staff top-up, as `grant_credits` does.
    credits_adjust(user=user, delta=10, note="browser test top-up")
    page.reload()
    assert page.locator("[data-credits]").inner_text() == "13"

    # Drop seven songs; the first is long, so its progress bar has time to move.
    files = [("long song.wav", wav_bytes(tmp_path, "long.wav", 45.0))]
    short = wav_bytes(tmp_path, "short.wav", 8.0)
    files += [(f"song {n}.wav", short) for n in range(2, 8)]
    drop_files(page, "[data-dropzone]", files)

    # No RQ worker yet: five jobs go up and wait; two files wait in the browser.
    # An uploaded song leaves the queue for the job list: one place, one state.
    rows = page.locator("[data-job-list] > li")
    wait_for(
        lambda: queue_states(page) == {"waiting": 2} and rows.count() == 5, timeout=60
    )
    page.wait_for_timeout(3000)
    assert queue_states(page) == {"waiting": 2}
    assert Job.objects.filter(user=user).count() == 5
    assert rows.count() == 5
    assert page.locator("[data-active-count]").inner_text() == "5"
    # Each waiting job says where it stands: the first in line, then the rest.
    states = page.locator("[data-job-list] [data-state-text]").all_inner_texts()
    assert sorted(states)[0].startswith("2nd in line"), states
    assert any(text.startswith("Next in line") for text in states), states
    summary = page.locator("[data-queue-summary]").inner_text()
    assert "5 songs are in progress" in summary
    waiting = page.locator("[data-queue-item][data-state=waiting] [data-queue-status]")
    assert waiting.all_inner_texts() == ["Waiting, 1st in line", "Waiting, 2nd in line"]
    screenshot(page, "dashboard-queue")

    # Watch what the progress bars show while the worker runs.
    page.evaluate(
        """() => {
            window.seenProgress = [];
            setInterval(() => document.querySelectorAll(
                '[data-job-list] progress[data-progress]').forEach(
                p => window.seenProgress.push(p.value)), 50);
            window.announced = [];
            const live = document.querySelector('[data-live-region]');
            new MutationObserver(() => live.textContent
                && window.announced.push(live.textContent)
            ).observe(live, {childList: true, characterData: true, subtree: true});
        }"""
    )
    rq_worker.start()
    wait_for(
        lambda: page.evaluate("window.seenProgress.some(v => v > 0 && v < 100)"),
        timeout=90,
    )
    # As jobs finish, the last two files go up too, and all seven finish.
    wait_for(lambda: queue_states(page) == {}, timeout=180)
    assert page.locator("[data-queue-section]").is_hidden()
    wait_for(
        lambda: Job.objects.filter(user=user, status="succeeded").count() == 7,
        timeout=180,
    )
    page.wait_for_function(
        "document.querySelectorAll('[data-job-list] > li[data-status=succeeded]')"
        ".length === 7",
        timeout=20_000,
    )
    assert page.locator("[data-credits]").inner_text() == "6"
    announced = page.evaluate("window.announced")
    assert "long song.wav: Done" in announced, announced  # said in the live region
    assert "song 7.wav uploaded; it is now in your jobs below." in announced
    axe_check(page, "dashboard")
    screenshot(page, "dashboard")

    # Open a finished job and play the stems together.
    job = Job.objects.get(user=user, original_filename="long song.wav")
    page.get_by_role("link", name="long song.wav", exact=True).click()
    page.wait_for_url(f"**/jobs/{job.pk}/")
    player = page.locator("[data-player]")
    assert player.locator("[data-stem]").count() == 4
    page.wait_for_function("document.querySelector('canvas.player-wave').width > 10")
    axe_check(page, "job page")
    player.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "Number(document.querySelector('[data-player]').dataset.position) > 1"
    )
    times = page.evaluate(
        "[...document.querySelectorAll('[data-player] audio')].map(a => a.currentTime)"
    )
    assert max(times) - min(times) < 0.3, times  # the stems play in sync

    def muted() -> dict[str, bool]:
        pairs = page.evaluate(
            "[...document.querySelectorAll('[data-player] audio')]"
            ".map(a => [a.closest('[data-stem]').dataset.stem, a.muted])"
        )
        return dict(pairs)

    drums = player.locator("[data-stem=drums]")
    drums.get_by_role("button", name="Mute Drums").click()
    assert drums.locator("[data-mute]").get_attribute("aria-pressed") == "true"
    assert muted() == {"drums": True, "bass": False, "other": False, "vocals": False}
    vocals = player.locator("[data-stem=vocals]")
    vocals.get_by_role("button", name="Solo Vocals").click()
    assert muted() == {"drums": True, "bass": True, "other": True, "vocals": False}
    # Keyboard: S on the focused stem's controls toggles its solo, M its mute.
    vocals.locator("[data-solo]").focus()
    page.keyboard.press("s")
    assert vocals.locator("[data-solo]").get_attribute("aria-pressed") == "false"
    page.keyboard.press("m")
    assert muted() == {"drums": True, "bass": False, "other": False, "vocals": True}
    screenshot(page, "job")
    # Space pauses when the focus is not on a control.
    page.locator("h1").click()
    page.keyboard.press("Space")
    assert player.get_attribute("data-state") == "paused"

    # Download the zip of all stems.
    with page.expect_download() as download_info:
        page.locator("[data-zip]").click()
    download = download_info.value
    assert download.suggested_filename == "long song - stems.zip"
    path = tmp_path / "stems.zip"
    download.save_as(path)
    assert sorted(zipfile.ZipFile(path).namelist()) == sorted(
        f"long song - {name}.mp3" for name in ("bass", "drums", "other", "vocals")
    )
    assert player.locator("a[data-download]").count() == 4

    # Delete it (after confirming).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this job").click()
    page.wait_for_url("**/jobs/")
    assert "Deleted “long song.wav”" in page.locator(".messages").inner_text()
    assert not Job.objects.filter(pk=job.pk).exists()
    assert page.locator("[data-job-list] > li").count() == 6

    # An expired job stays listed, its player and downloads grayed out.
    old = Job.objects.filter(user=user).order_by("created_at").first()
    assert old is not None
    Job.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert jobs_purge_expired() == 1
    page.goto("/jobs/")
    row = page.locator(f"[data-job='{old.pk}']")
    assert "Expired" in row.inner_text()
    row.get_by_role("link").click()
    page.wait_for_url(f"**/jobs/{old.pk}/")
    expired = page.locator("[data-player]")
    assert expired.get_attribute("aria-disabled") == "true"
    assert page.locator("[data-player] audio").count() == 0
    assert page.locator("[data-zip]").count() == 0
    for button in expired.locator("button").all():
        assert button.is_disabled()
    note = page.locator("[data-expired-note]").inner_text()
    assert "expired and were deleted" in note
    page.wait_for_function("document.querySelector('canvas.player-wave').width > 10")
    axe_check(page, "expired job page")
    screenshot(page, "job-expired")

    # The account and credits pages pass too.
    page.goto("/accounts/")
    axe_check(page, "account page")
    screenshot(page, "account")
    page.goto("/billing/credits/")
    axe_check(page, "credits page")
