"""Helpers for the browser tests: accessibility checks, screenshots, dropping files."""

import os
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"


# Every screenshot goes to a temporary folder; the README's gallery (these
# names) is rewritten in docs/screenshots/ only when asked
# (MUXMINUS_UPDATE_SCREENSHOTS=1 make test): a plain run leaves the tree clean.
SCREENSHOTS = Path(tempfile.gettempdir()) / "muxminus-screenshots"
GALLERY_FOLDER = ROOT / "docs" / "screenshots"
GALLERY = {
    "about",
    "account",
    "dashboard",
    "dashboard-queue",
    "home",
    "home-demo-six-stems",
    "home-phone-dark",
    "job",
    "job-expired",
    "phone-journey-player",
    "phone-journey-waiting",
    "phone-webhook-log",
    "pricing",
    "signup",
    "webhook-log",
}
UPDATE_GALLERY = os.environ.get("MUXMINUS_UPDATE_SCREENSHOTS") == "1"


def axe_check(page: Any, name: str) -> None:
    """Run axe-core (WCAG 2.1 A/AA rules) on the page: no serious or critical."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # From our static files, not inlined: the page's CSP allows only 'self'.
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    results = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                            'best-practice']},
            resultTypes: ['violations'],
        })"""
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"axe on {name}:\n" + "\n".join(bad)


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    folder = GALLERY_FOLDER if UPDATE_GALLERY and name in GALLERY else SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def wait_for(
    predicate: Any, timeout: float = 60, interval: float = 0.25, what: str = ""
) -> Any:
    """predicate()'s first true value; AssertionError (saying `what`, or the
    predicate) once `timeout` s have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or predicate}"
            )
        time.sleep(interval)


def drop_files(page: Any, selector: str, files: list[tuple[str, bytes]]) -> None:
    """Drop files on an element the way a browser does: DataTransfer + drop."""
    import base64

    payload = [
        {"name": name, "b64": base64.b64encode(data).decode()} for name, data in files
    ]
    page.evaluate(
        """([selector, files]) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const raw = atob(f.b64);
                const bytes = new Uint8Array(raw.length);
                for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
                transfer.items.add(new File([bytes], f.name, {type: "audio/wav"}));
            }
            const target = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                target.dispatchEvent(new DragEvent(type, {
                    bubbles: true, cancelable: true, dataTransfer: transfer,
                }));
            }
        }""",
        [selector, payload],
    )


def wav_bytes(tmp_path: Path, name: str, seconds: float) -> bytes:
    """A small mono 22 kHz song made in code (tests/audio.py)."""
    from tests.helpers.audio import write_song

    return write_song(tmp_path / name, seconds, rate=22050, channels=1).read_bytes()


def log_in(tab_or_context: Any, live_server: Any, user: Any) -> None:
    """Sign `user` in for a tab's whole browser context (or a context): the
    test client's session cookie, since the log-in form is tested on its own."""
    from django.test import Client

    context = getattr(tab_or_context, "context", tab_or_context)
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    context.add_cookies(
        [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
    )
