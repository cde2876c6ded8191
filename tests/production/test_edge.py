"""What nginx in front of the product does: every location, static files, the
client's address, https, and the stemworker kept out of reach."""

import json
import re
import secrets

import httpx
import pytest
from django.conf import settings

from devtools.production import DOMAIN, ProductionStack
from tests.helpers.production import (
    LOCATIONS,
    Probe,
    announce_body,
    csrf_token,
    sign_in,
)

pytestmark = pytest.mark.timeout(600)


def _hashed(production: ProductionStack, name: str) -> str:
    manifest = json.loads(
        (production.volume("static") / "staticfiles.json").read_text()
    )
    return str(manifest["paths"][name])


def _answered_by(response: httpx.Response) -> str:
    # Every answer of Django carries its Content-Security-Policy; nginx's never.
    return "django" if "content-security-policy" in response.headers else "nginx"


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_each_location_answers_as_nginx_conf_says(production, location):
    probe: Probe = LOCATIONS[location]
    uri = probe.uri.format(hashed_css=_hashed(production, "css/site.css"))
    if probe.oversize:
        status, headers, _ = announce_body(
            production.url,
            uri,
            probe.oversize,
            {"Host": DOMAIN, "X-Forwarded-Proto": "https"},
        )
        assert status == probe.status
        assert "content-security-policy" not in headers
        return
    with production.client() as client:
        response = client.get(uri)
    assert response.status_code == probe.status, response.text[:300]
    assert _answered_by(response) == probe.answered_by


def test_health_checks_answer_through_nginx(production):
    with production.client() as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": True, "redis": True}
        own = client.get("/nginx-health")
        assert (own.status_code, own.text) == (200, "ok\n")


def test_static_files_are_nginxs_from_the_static_volume(production):
    # A file only the volume has (not in Django's manifest, so WhiteNoise
    # would 404 it): nginx serves the volume itself.
    probe = production.volume("static") / f"probe-{secrets.token_hex(4)}.txt"
    probe.write_text("served by nginx\n")
    try:
        with production.client() as client:
            answer = client.get(f"/static/{probe.name}")
            assert answer.status_code == 200
            assert answer.text == "served by nginx\n"
            assert answer.headers["server"] == "nginx"
            assert "content-security-policy" not in answer.headers
    finally:
        probe.unlink()


def test_the_pages_assets_are_served_hashed_compressed_and_immutable(production):
    with production.client() as client:
        home = client.get("/")
        assert home.status_code == 200
        css = f"/static/{_hashed(production, 'css/site.css')}"
        assert css in home.text
        answer = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert _answered_by(answer) == "nginx"


def test_modules_the_page_scripts_import_are_revalidated_not_kept(production, people):
    # dashboard.<hash>.js says `import ... from "./upload-queue.js"`: that name
    # has no hash, so a browser must ask again each time (304 while unchanged).
    with production.client() as browser:
        sign_in(browser, people[1])
        dashboard = browser.get("/jobs/")
        scripts = re.findall(r'<script[^>]+src="(/static/js/[^"]+)"', dashboard.text)
        imports = []
        for script in scripts:
            source = browser.get(script)
            assert source.headers["cache-control"].endswith("immutable"), script
            folder = script.rsplit("/", 1)[0]
            imports += [
                f"{folder}/{name}"
                for name in re.findall(r'from\s+"\./([^"]+)"', source.text)
            ]
        assert imports, scripts
        for module in imports:
            first = browser.get(module)
            assert first.status_code == 200, module
            assert first.headers["cache-control"] == "no-cache", module
            again = browser.get(
                module, headers={"If-None-Match": first.headers["etag"]}
            )
            assert again.status_code == 304, module


@pytest.mark.parametrize("proto", [None, "http"])
def test_plain_http_is_redirected_to_https(production, proto):
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    with production.client(https=False, headers=headers) as client:
        answer = client.get("/pricing/?from=test")
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://{DOMAIN}/pricing/?from=test"
    assert "strict-transport-security" not in answer.headers


def test_https_answers_carry_hsts_and_secure_cookies(production):
    with production.client() as client:
        page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert page.headers["strict-transport-security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    cookies = page.headers.get_list("set-cookie")
    assert any(c.startswith("csrftoken=") for c in cookies)
    assert all(re.search(r";\s*Secure(;|$)", c) for c in cookies), cookies


def test_links_and_csrf_hold_behind_a_port_other_than_443(production, people):
    # A TLS terminator on :8443 forwards Host with the port; Django must see
    # it (links, the browser's Origin for CSRF), so nginx passes $http_host.
    host = f"{DOMAIN}:8443"
    person = people[1]
    with production.client(headers={"Host": host}) as client:
        page = client.get("/accounts/login/")
        login = client.post(
            "/accounts/login/",
            data={
                "login": person.email,
                "password": "correct horse battery staple",
                "csrfmiddlewaretoken": csrf_token(page),
            },
            headers={
                "Origin": f"https://{host}",
                "Referer": f"https://{host}/accounts/login/",
            },
        )
        assert login.status_code == 302, login.text[:300]
        assert login.headers["location"] == "/jobs/"
        redirect = client.get("/jobs/", headers={"X-Forwarded-Proto": "http"})
    assert redirect.headers["location"] == f"https://{host}/jobs/"


def _signup_attempt(client: httpx.Client, **headers: str) -> int:
    page = client.get("/accounts/signup/")
    answer = client.post(
        "/accounts/signup/",
        data={
            "email": f"limit-{secrets.token_hex(4)}@example.com",
            "password1": "one password",
            "password2": "another password",  # refused: nothing is created
            "csrfmiddlewaretoken": csrf_token(page) if page.status_code == 200 else "",
        },
        headers={"Referer": f"https://{DOMAIN}/accounts/signup/", **headers},
    )
    return answer.status_code


def _loopback() -> str:
    """A client address of its own (all of 127.0.0.0/8 reaches nginx)."""
    a, b, c = (secrets.randbelow(250) + 2 for _ in range(3))
    return f"127.{a}.{b}.{c}"


def _per_address_limit(action: str) -> int:
    """allauth's per-address limit for `action` ("10/m/ip,50/h/ip" -> 10)."""
    rules = settings.ACCOUNT_RATE_LIMITS[action].split(",")
    return min(int(rule.split("/")[0]) for rule in rules if rule.endswith("/ip"))


def test_rate_limits_count_the_real_client_not_forwarding_headers(production):
    # Django sees every request come from nginx; the address allauth's signup
    # limit counts is the X-Real-IP nginx sets from the connection, whatever
    # the client claims in its own X-Real-IP and X-Forwarded-For.
    limit = _per_address_limit("signup")
    with production.client(source=_loopback()) as attacker:
        statuses = [
            _signup_attempt(
                attacker,
                **{"X-Real-IP": f"203.0.113.{n}", "X-Forwarded-For": f"198.51.100.{n}"},
            )
            for n in range(limit + 1)
        ]
    assert statuses[:limit] == [200] * limit
    assert statuses[limit] == 429
    with production.client(source=_loopback()) as someone_else:
        assert _signup_attempt(someone_else) == 200


@pytest.mark.parametrize(
    "uri",
    ["/separations", "/separations/x", "/health", "/models", "/openapi.json"],
)
def test_no_location_reaches_the_stemworker(production, uri):
    # These are the stemworker's own paths (it answers them directly) ...
    stemworker = production.layout.local_port("stemworker", 8001)
    direct = httpx.get(f"http://127.0.0.1:{stemworker}{uri}", timeout=10)
    assert direct.status_code in (200, 401, 404, 405)
    assert direct.headers["content-type"].startswith("application/json")
    # ... and through nginx they are the site's pages: its 404.
    with production.client(follow_redirects=True) as client:
        answer = client.get(uri)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert _answered_by(answer) == "django"
    assert "<html" in answer.text
