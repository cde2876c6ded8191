"""Practising on a job's page, in a real browser: tempo with the stems in step,
an A/B loop from the keyboard, a key change and "Download this mix" rendered by
a real RQ worker, one-click minus-one; every new control reachable by Tab, no
serious axe finding, no JavaScript error or CSP violation (the `page` fixture)."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django_rq
import pytest
import soundfile
from django.db import connections

from mixes.models import Mix
from tests.browser.conftest import ThreadWorker
from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import axe_check, log_in, screenshot, wait_for
from tests.helpers.jobs import finished_job

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]

FOUR = ("vocals", "drums", "bass", "other")


@pytest.fixture
def renderer() -> Iterator[None]:
    """An RQ worker on the `default` queue (mix renders), in a thread."""
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                worker = django_rq.get_worker("default", worker_class=ThreadWorker)
                worker.work(burst=True, with_scheduler=False)
                stop.wait(0.2)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def open_job(page: Any, live_server: Any, seconds: float) -> Any:
    job = finished_job(
        signed_up_user(),
        stems=FOUR,
        seconds=seconds,
        two_stems="",
        output_format="wav",
    )
    log_in(page, live_server, job.user)
    page.goto(f"/jobs/{job.pk}/")
    page.locator("[data-practice]").wait_for()
    return job


def position(page: Any) -> float:
    return float(page.locator("[data-player]").get_attribute("data-position") or 0)


def spread(page: Any) -> float:
    """How far apart the stems are now, in seconds."""
    times = page.evaluate(
        "[...document.querySelectorAll('[data-stem] audio')].map(a => a.currentTime)"
    )
    return max(times) - min(times)


def test_a_slower_tempo_keeps_every_stem_in_step(page, live_server) -> None:  # type: ignore[no-untyped-def]
    open_job(page, live_server, seconds=40.0)
    tempo = page.get_by_label("Tempo")
    tempo.focus()
    for _ in range(4):  # the keyboard alone: 1.00 -> 0.80
        page.keyboard.press("ArrowLeft")
    assert page.locator("[data-tempo-value]").inner_text() == "0.80×"
    page.get_by_role("button", name="Play").click()
    wait_for(lambda: position(page) > 0.5, timeout=30)
    rates = page.evaluate(
        "[...document.querySelectorAll('[data-stem] audio')]"
        ".map(a => [a.playbackRate, a.preservesPitch])"
    )
    assert rates == [[0.8, True]] * 4
    worst = 0.0
    started, began = time.monotonic(), position(page)
    while time.monotonic() - started < 30:
        worst = max(worst, spread(page))
        time.sleep(0.5)
    played = position(page) - began
    assert worst <= 0.06, f"stems drifted {worst * 1000:.0f} ms apart"
    # The song moved, and at most 0.8 s per second (a slow machine plays less).
    assert 1 < played < 30 * 0.8 + 2


def test_the_ab_loop_from_the_keyboard_survives_seeks_and_tempo(
    page, live_server
) -> None:  # type: ignore[no-untyped-def]
    open_job(page, live_server, seconds=20.0)
    page.get_by_role("button", name="Play").click()
    wait_for(lambda: position(page) >= 1.0, timeout=30)
    page.keyboard.press("a")
    wait_for(lambda: position(page) >= 3.0, timeout=30)
    page.keyboard.press("b")
    loop = page.locator("[data-player]").get_attribute("data-loop")
    start, end = (float(x) for x in loop.split("-"))
    assert 0.9 <= start < end and end - start >= 1.5
    assert "Looping" in page.locator("[data-loop-label]").inner_text()
    wait_for(lambda: position(page) < start + 0.5, timeout=30)  # it went round
    page.get_by_label("Tempo").fill("1.5")
    page.get_by_label("Tempo").dispatch_event("input")
    seen = []
    for _ in range(12):
        seen.append(position(page))
        time.sleep(0.4)
    assert all(start - 0.3 <= p <= end + 0.4 for p in seen), seen
    page.keyboard.press("x")
    assert page.locator("[data-player]").get_attribute("data-loop") == ""
    wait_for(lambda: position(page) > end + 1.0, timeout=30)


def test_download_this_mix_gives_what_is_heard(
    page, live_server, renderer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    job = open_job(page, live_server, seconds=8.0)
    axe_check(page, "job page with practice tools")
    page.get_by_role("button", name="Mute Vocals").click()
    tempo = page.get_by_label("Tempo")
    tempo.fill("0.8")
    tempo.dispatch_event("input")
    page.get_by_role("button", name="Play").click()
    wait_for(lambda: position(page) >= 1.0, timeout=30)
    page.get_by_role("button", name="Set A").click()
    wait_for(lambda: position(page) >= 3.0, timeout=30)
    page.get_by_role("button", name="Set B").click()
    page.get_by_role("button", name="Pause").click()
    page.get_by_label("Key").select_option("-2")
    status = page.locator("[data-key-status]")
    wait_for(lambda: "Playing 2 semitones down" in status.inner_text(), timeout=120)
    assert page.locator("[data-player]").get_attribute("data-key-state") == "transposed"
    assert page.get_by_role("button", name="Mute Drums").is_disabled()
    page.get_by_label("Format").select_option("flac")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download this mix").click()
    saved = Path(tmp_path / "mix.flac")
    download.value.save_as(saved)
    loop = page.locator("[data-player]").get_attribute("data-loop")
    start, end = (float(x) for x in loop.split("-"))
    info = soundfile.info(str(saved))
    assert info.channels == 2
    assert abs(info.duration - (end - start) / 0.8) < 0.05
    mix = Mix.objects.get(job=job, parameters__output_format="flac")
    parameters = mix.parameters
    assert set(parameters["gains"]) == {"drums", "bass", "other"}
    assert parameters["tempo"] == 0.8 and parameters["semitones"] == -2
    assert (
        abs(parameters["start"] - start) < 0.01 and abs(parameters["end"] - end) < 0.01
    )
    screenshot(page, "job-practice")


def test_minus_one_is_heard_at_once_and_downloaded_in_one_click(
    page, live_server, renderer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    job = open_job(page, live_server, seconds=3.0)
    page.get_by_role("button", name="Without drums", exact=True).click()
    muted = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-stem]')]"
        ".map(r => [r.dataset.stem, r.querySelector('audio').muted]))"
    )
    assert muted == {"vocals": False, "drums": True, "bass": False, "other": False}
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download without drums").click()
    saved = Path(tmp_path / download.value.suggested_filename)
    download.value.save_as(saved)
    assert "without drums" in saved.name
    assert abs(soundfile.info(str(saved)).duration - 3.0) < 0.05
    mix = Mix.objects.get(job=job)
    assert mix.preset == "without_drums"
    assert set(mix.parameters["gains"]) == {"vocals", "bass", "other"}


def test_every_practice_control_is_reached_with_tab(page, live_server) -> None:  # type: ignore[no-untyped-def]
    open_job(page, live_server, seconds=2.0)
    page.get_by_role("button", name="Play").focus()
    reached = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return e.getAttribute('aria-label') || e.labels?.[0]?.textContent"
                " || e.textContent.trim(); })()"
            )
        )
    wanted = {
        "Tempo",
        "Normal speed",
        "Set A",
        "Set B",
        "Clear",
        "Key",
        "Format",
        "Download this mix",
        "Without vocals",
        "Download without vocals",
    }
    assert wanted <= {text.strip() for text in reached if text}, reached
