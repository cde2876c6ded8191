"""The dashboard while things happen elsewhere: a top-up, a failure, a
completion and a deletion, each reaching the open page, and nothing on it ever
contradicting anything else (credits and their notice, rows and the queue)."""

from typing import Any

import pytest

from billing.services import account_for_user, credits_adjust
from jobs import lifecycle, storage
from jobs.runner.collect import job_collect
from tests.helpers.accounts import signed_up_user
from tests.helpers.audio import song_bytes, write_song
from tests.helpers.browser import axe_check, log_in, wait_for
from tests.helpers.jobs import submit, upload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


def screen(page: Any) -> dict[str, Any]:
    """What the page says, in one read."""
    return page.evaluate(
        """() => ({
            credits: document.querySelector('[data-credits]').textContent.trim(),
            notice: !document.querySelector('[data-no-credits-notice]').hidden,
            rows: Object.fromEntries([...document.querySelectorAll(
                '[data-job-list] > [data-job]')].map((row) => [
                    row.querySelector('.job-name').textContent,
                    row.querySelector('[data-job-body]').innerText])),
            queue: document.querySelectorAll('[data-queue-item]').length,
        })"""
    )


def consistent(state: dict[str, Any]) -> None:
    assert state["notice"] == (state["credits"] == "0"), state
    assert state["queue"] == 0, state


def test_the_open_dashboard_follows_every_change(page, live_server, tmp_path) -> None:
    person = signed_up_user()  # 3 free credits
    wav = song_bytes(tmp_path, seconds=1.0)
    first, second = submit(person, upload(wav, "first.wav"), upload(wav, "second.wav"))
    credits_adjust(user=person, delta=-1, note="spent elsewhere")
    log_in(page, live_server, person)
    page.goto("/jobs/")

    def after(change: Any, expected: Any) -> dict[str, Any]:
        change()
        # What returning to the tab does; the page's own polling gets there too.
        page.evaluate("window.dispatchEvent(new Event('focus'))")

        def seen() -> dict[str, Any] | None:
            state = screen(page)
            return state if expected(state) else None

        state = wait_for(seen, 20)
        consistent(state)
        return state

    state = screen(page)
    consistent(state)
    assert state["credits"] == "0" and state["notice"]
    assert "Next in line" in state["rows"]["first.wav"]
    assert "2nd in line" in state["rows"]["second.wav"]
    axe_check(page, "dashboard with no credits")

    # A top-up (a purchase, or staff): the notice goes with the zero.
    state = after(
        lambda: credits_adjust(user=person, delta=5, note="top-up"),
        lambda s: s["credits"] == "5",
    )
    assert not state["notice"]

    # A failure: the row says why, the credit comes back, the line moves up.
    state = after(
        lambda: lifecycle.job_fail(job=first, message="demucs could not read it."),
        lambda s: "Failed" in s["rows"]["first.wav"],
    )
    assert "demucs could not read it." in state["rows"]["first.wav"]
    assert state["credits"] == "6" == str(account_for_user(person).balance)
    assert "Next in line" in state["rows"]["second.wav"]

    # A completion: stems ready, a download, the expiry.
    def complete() -> None:
        running = lifecycle.job_start(job_id=str(second.pk))
        assert running is not None
        work = storage.work_dir(str(second.pk))
        work.mkdir(parents=True)
        paths = [
            (name, write_song(work / f"{name}.wav", seconds=1.0))
            for name in ("drums", "bass", "other", "vocals")
        ]
        assert job_collect(job=running, stems=paths)

    state = after(complete, lambda s: "Expires in 23 h" in s["rows"]["second.wav"])
    row = page.locator(f"[data-job='{second.pk}']")
    assert row.get_by_role(
        "link", name="Download all stems of second.wav (zip)"
    ).count()

    # A deletion in another tab: the row goes.
    state = after(
        lambda: lifecycle.job_delete(job=first),
        lambda s: "first.wav" not in s["rows"],
    )
    assert list(state["rows"]) == ["second.wav"]
    axe_check(page, "dashboard after every change")
