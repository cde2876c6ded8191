"""Playwright on Debian's chromium against pytest-django's live server, with a
real RQ worker (a thread running rq's SimpleWorker against the test database)
and the real stemworker on tiny models.

Live-server tests need `transaction=True`, so every process and thread sees the
rows; the flush after each such test removes what the migrations seeded (the
Wagtail tree, the credit packs), so the `baseline` fixture puts it back.
"""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.db import connections
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

from tests.helpers.browser import AXE
from tests.helpers.db import seed_baseline

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]


@pytest.fixture
def baseline(transactional_db) -> None:  # type: ignore[no-untyped-def]
    seed_baseline()


_RUNNING: list[Any] = []


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make vendor` (npm ci)")
    if _RUNNING:  # tests/security imports this fixture too: one chromium
        yield _RUNNING[0]
        return
    original = playwright_sync.Page.wait_for_function
    playwright_sync.Page.wait_for_function = wait_for_function_without_eval
    try:
        with playwright_sync.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            _RUNNING.append(chromium)
            yield chromium
            chromium.close()
    finally:
        _RUNNING.clear()
        playwright_sync.Page.wait_for_function = original


def wait_for_function_without_eval(
    self: Any,
    expression: str,
    *,
    arg: Any = None,
    timeout: float | None = None,
    polling: Any = None,
) -> Any:
    """Page.wait_for_function, polled from here. Playwright's own polls in the
    page with eval(), which the site's CSP (no 'unsafe-eval') refuses; each
    page.evaluate is a DevTools call, which the page's CSP does not cover."""
    deadline = time.monotonic() + (30_000 if timeout is None else timeout) / 1000
    interval = polling if isinstance(polling, int | float) else 100
    while True:
        handle = self.evaluate_handle(expression, arg)
        if self.evaluate("(value) => Boolean(value)", handle):
            return handle
        handle.dispose()
        if time.monotonic() > deadline:
            raise playwright_sync.TimeoutError(
                f"wait_for_function: {expression!r} still false after {timeout} ms"
            )
        self.wait_for_timeout(interval)


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    violations = watch_csp(context)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(
        violations
    )


# Reported by the page itself (init scripts run outside the page's CSP).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked `
    + `${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def csp_violation(text: str) -> bool:
    return (
        text.startswith("CSP violation:")
        or "Refused to" in text
        or "Content Security Policy" in text
    )


def watch_csp(context: Any) -> list[str]:
    """Collect every CSP violation any page of `context` logs; the list fills
    up as pages load."""
    violations: list[str] = []
    context.add_init_script(CSP_LISTENER)

    def on_console(message: Any) -> None:
        if csp_violation(message.text):
            violations.append(f"{message.page.url if message.page else '?'}: "
                              f"{message.text}")  # fmt: skip

    context.on("console", on_console)
    return violations


class ThreadWorker(SimpleWorker):
    """rq's in-process worker, made to run in a thread: no signal handlers,
    timeouts by timer instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        return None


class WorkerThread:
    """Runs queued separations in a background thread until stopped."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                worker = django_rq.get_worker("stems", worker_class=ThreadWorker)
                worker.work(burst=True, with_scheduler=False)
                self.stop_event.wait(0.3)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=60)


@pytest.fixture
def rq_worker() -> Iterator[WorkerThread]:
    worker = WorkerThread()
    yield worker
    worker.stop()
