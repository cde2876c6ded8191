"""A stem whose link stops working halfway through the file (on s3: the
presigned URL it was redirected to expired while the player sat paused) is
loaded again through our link and plays on, in step with the others."""

from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import log_in, wait_for
from tests.helpers.jobs import finished_job
from tests.helpers.stored import stored_bytes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


class ExpiringLink:
    """Routes one stem's requests: the first answer holds half the file (as a
    link that expires before the rest is asked for), every later range of it
    is refused with S3's 403, until the browser asks from the start again
    (a fresh link); from then on the real answers (on s3 the real redirect)."""

    def __init__(self, stem: str, content: bytes) -> None:
        self.stem, self.content = stem, content
        self.state = "fresh"
        self.refused = 0
        self.seen: list[tuple[str, str]] = []  # (Range asked, state then)

    def __call__(self, route: Any, request: Any) -> None:
        if f"/stems/{self.stem}/" not in request.url or self.state == "renewed":
            route.fallback()
            return
        asked = request.headers.get("range", "")
        self.seen.append((asked, self.state))
        from_start = asked in ("", "bytes=0-")
        if self.state == "expired" and from_start:
            self.state = "renewed"
            route.fallback()
        elif self.state == "fresh" or (self.state == "half" and from_start):
            half = len(self.content) // 2
            self.answer(
                route,
                status=206,
                body=self.content[:half],
                headers={
                    "Content-Type": "audio/wav",
                    "Accept-Ranges": "bytes",
                    "Content-Range": f"bytes 0-{half - 1}/{len(self.content)}",
                },
            )
            self.state = "half"
        else:
            self.refused += 1
            self.state = "expired"
            self.answer(
                route,
                status=403,
                headers={"Content-Type": "application/xml"},
                body=b"<Error><Code>AccessDenied</Code>"
                b"<Message>Request has expired</Message></Error>",
            )

    @staticmethod
    def answer(route: Any, **response: Any) -> None:
        try:
            route.fulfill(**response)
        except PlaywrightError:
            pass  # the browser gave up on this request first: it asks again


def stem_times(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            "[...document.querySelectorAll('[data-player] audio')].map(a => "
            "[a.closest('[data-stem]').dataset.stem,"
            " {time: a.currentTime, error: a.error && a.error.code, paused: a.paused}])"
        )
    )


def test_a_stem_whose_link_expires_mid_file_is_loaded_again_and_plays_on(
    page, live_server
) -> None:  # type: ignore[no-untyped-def]
    job = finished_job(
        signed_up_user(),
        stems=("vocals", "drums", "bass", "other"),
        seconds=40.0,
        two_stems="",
        output_format="wav",
    )
    vocals = job.stems.get(name="vocals")
    link = ExpiringLink("vocals", stored_bytes(vocals.path))
    page.route("**/*", link)
    log_in(page, live_server, job.user)
    page.goto(f"/jobs/{job.pk}/")
    page.locator("[data-player]").get_by_role("button", name="Play").click()

    # The route handler runs only while Playwright is called: wait in the page.
    def renewed() -> bool:
        page.wait_for_timeout(200)
        return link.state == "renewed"

    wait_for(renewed, timeout=60, what="the stem asked from the start again")
    assert link.refused >= 1, link.seen  # the expired link was met, then renewed

    def vocals_in_step() -> bool:
        stems = stem_times(page)
        vocals, drums = stems["vocals"], stems["drums"]
        return (
            vocals["error"] is None
            and not vocals["paused"]
            and vocals["time"] > 0.5
            and abs(vocals["time"] - drums["time"]) < 0.3
        )

    wait_for(vocals_in_step, timeout=30, what="the vocals playing in step again")
