"""The upload queue turns refusals into clear messages on the file concerned."""

import pytest

from billing.services import credits_adjust
from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import drop_files, log_in, wait_for, wav_bytes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


def statuses(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = page.eval_on_selector_all(
        "[data-queue-item]",
        """items => items.map(i => [
            i.querySelector('.queue-name').textContent,
            i.dataset.state + ': '
                + i.querySelector('[data-queue-status]').textContent])""",
    )
    return dict(rows)


def test_refusals_become_messages_and_the_queue_waits_for_credits(
    page, live_server, settings, tmp_path
) -> None:
    settings.MAX_UPLOAD_MB = 1
    user = signed_up_user(email="queue@example.com")
    log_in(page, live_server, user)

    # first.wav's first try is answered 429 with Retry-After: it waits and goes
    # again. fourth.wav is answered 402: the page keeps count of the credits, so a
    # real upload only meets the server's 402 (tested in tests/api) in a race.
    answered = []

    def fake_answers(route):  # type: ignore[no-untyped-def]
        body = route.request.post_data_buffer or b""
        if b'filename="first.wav"' in body and not answered:
            answered.append(429)
            route.fulfill(
                status=429,
                headers={"Retry-After": "1"},
                json={"detail": "busy", "code": "too_many_active_jobs"},
            )
        elif b'filename="fourth.wav"' in body:
            answered.append(402)
            route.fulfill(
                status=402,
                json={"detail": "You have 0 credits.", "code": "no_credits"},
            )
        else:
            route.continue_()

    page.route("**/api/v1/jobs/", fake_answers)
    page.goto("/jobs/")
    assert page.locator("[data-credits]").inner_text() == "3"
    credits_adjust(user=user, delta=-1, note="spent elsewhere")  # the page says 3
    song = wav_bytes(tmp_path, "song.wav", 2.0)
    drop_files(
        page,
        "[data-dropzone]",
        [
            ("first.wav", song),
            ("not audio.mp3", b"this is a text file, not a song" * 10),
            ("huge.wav", wav_bytes(tmp_path, "huge.wav", 40.0)),  # > 1 MB
            ("second.wav", song),
            ("third.wav", song),
        ],
    )

    def listed() -> list[str]:
        return page.locator("[data-job-list] .job-name").all_inner_texts()

    def until(expected: dict[str, str]) -> None:
        try:
            wait_for(lambda: statuses(page) == expected, timeout=30)
        except AssertionError:
            raise AssertionError(statuses(page)) from None

    # Two credits for three songs: the third waits, and says why.
    # An uploaded song leaves the queue: the job list shows it from then on.
    until(
        {
            "not audio.mp3": "error: Not accepted: “not audio.mp3” could not be "
            "read as audio.",
            "huge.wav": "error: Too large: each file can be at most 1 MB.",
            "third.wav": "waiting: Waiting, 1st in line",
        }
    )
    assert sorted(listed()) == ["first.wav", "second.wav"]
    assert answered == [429]
    notice = page.locator("[data-queue-notice]")
    assert "out of credits" in notice.inner_text()
    # This server sells nothing (no Square): the link says how credits come.
    assert notice.get_by_role("link", name="How to get credits").is_visible()
    page.wait_for_function(
        "document.querySelector('[data-credits]').textContent === '0'"
    )

    # Credits arrive (a purchase): the queue goes on by itself.
    credits_adjust(user=user, delta=2, note="bought")
    wait_for(lambda: "third.wav" not in statuses(page), timeout=30)
    assert "third.wav" in listed()
    assert notice.is_hidden()
    assert page.locator("[data-no-credits-notice]").is_hidden()

    # A 402 from the server becomes a message on the file and pauses the queue.
    drop_files(page, "[data-dropzone]", [("fourth.wav", song)])
    wait_for(lambda: statuses(page).get("fourth.wav", "").startswith("error"))
    assert statuses(page)["fourth.wav"] == (
        "error: Not enough credits. You have 0 credits."
    )
    assert "out of credits" in notice.inner_text()
    assert page.locator("[data-queue-item][data-state=error] button").first.is_visible()
