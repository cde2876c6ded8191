"""Helpers for tests/production: people on the running product, and waiting."""

import http.client
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.helpers.browser import wait_for

PASSWORD = "correct horse battery staple"
JOB_DEADLINE_S = 180.0
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    """An account on the running product, with an API token."""

    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def path(url: str) -> str:
    """The path (and query) of an absolute URL the product printed."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def wait_for_job(client: httpx.Client, url: str) -> dict[str, Any]:
    """Poll GET `url` (a job of the API) until the job has ended; return it."""

    def ended() -> dict[str, Any] | None:
        job = client.get(path(url)).json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    job: dict[str, Any] = wait_for(ended, timeout=JOB_DEADLINE_S)
    return job


def csrf_token(page: httpx.Response) -> str:
    """The CSRF token a page's form carries."""
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


def sign_in(client: httpx.Client, person: Person, password: str = PASSWORD) -> None:
    """Sign in on the site's login form, as a browser does."""
    page = client.get("/accounts/login/")
    assert page.status_code == 200, page.text[:500]
    answer = client.post(
        "/accounts/login/",
        data={
            "login": person.email,
            "password": password,
            "csrfmiddlewaretoken": csrf_token(page),
        },
        headers={"Referer": f"https://{client.headers['Host']}/accounts/login/"},
    )
    assert answer.status_code == 302, answer.text[:2000]


def announce_body(
    url: str, path: str, size: int, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """POST that announces a `size`-byte body and sends none of it: nginx
    judges client_max_body_size on Content-Length and answers at once (a browser
    or curl sending a file that large gets the same answer, before the bytes).
    Returns (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", path, skip_host=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


@dataclass(frozen=True)
class Probe:
    """A request that lands in one location of nginx.conf, and who answers it:
    "nginx" itself or "django" behind it (Django's answers carry its CSP)."""

    uri: str
    answered_by: str
    status: int
    oversize: int = 0  # announce a body this large (a 413 location)


MB = 1024 * 1024
# Every location of nginx.conf's server block, with a request for it. The
# topology test fails when nginx.conf has a location missing here, or this a
# location nginx.conf no longer has; tests/production/test_edge.py sends each.
LOCATIONS: dict[str, Probe] = {
    "= /nginx-health": Probe("/nginx-health", "nginx", 200),
    "/static/": Probe("/static/css/site.css", "nginx", 200),
    r"~* \.[0-9a-f]{12}\.[a-z0-9]+$": Probe("/static/{hashed_css}", "nginx", 200),
    "/protected/": Probe("/protected/outputs/x/vocals.mp3", "nginx", 404),
    "/api/v1/jobs/": Probe("/api/v1/jobs/", "django", 401),
    "/jobs/upload/": Probe("/jobs/upload/", "django", 302),
    "/api/": Probe("/api/v1/me/", "django", 401),
    "/": Probe("/healthz", "django", 200),
    "@too_large_api": Probe("/api/v1/me/", "nginx", 413, oversize=101 * MB),
    "@too_large_page": Probe("/accounts/login/", "nginx", 413, oversize=101 * MB),
}
