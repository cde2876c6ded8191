"""Production settings: `check --deploy` is clean, and a real request gets the
security headers and secure cookies.

The settings are read in a subprocess with DJANGO_SETTINGS_MODULE=config.settings
and a production environment, never from config.test_settings.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
HOST = "muxminus.example.com"
PASSWORD = "correct horse battery staple"  # UserFactory's
SECURITY_SETTINGS = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
    "USE_X_FORWARDED_HOST",
]


def production_env() -> dict[str, str]:
    """What docker-compose.yml gives the web container (values are made up)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SQUARE_", "GITHUB_", "GOOGLE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        DJANGO_BEHIND_PROXY="true",
        SITE_URL=f"https://{HOST}",
        DATABASE_URL="postgres://muxminus@db:5432/muxminus",
        REDIS_URL="redis://redis:6379/0",
        STEMWORKER_TOKEN=secrets.token_urlsafe(32),
    )
    for key in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS"):
        env.pop(key, None)  # their production defaults
    return env


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def production_settings() -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"names = {SECURITY_SETTINGS!r}; "
        "print(json.dumps({k: getattr(settings, k, None) for k in names}))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    values: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def test_check_deploy_has_no_warnings_in_production() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in output


def test_production_settings_are_hardened(production_settings: dict[str, Any]) -> None:
    assert production_settings["DEBUG"] is False
    assert production_settings["SECURE_SSL_REDIRECT"] is True
    assert production_settings["SECURE_PROXY_SSL_HEADER"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31536000
    assert production_settings["SESSION_COOKIE_SECURE"] is True
    assert production_settings["CSRF_COOKIE_SECURE"] is True


@pytest.fixture
def production_like(settings, production_settings):  # type: ignore[no-untyped-def]
    """This process's settings, changed to the production values read above."""
    for key, value in production_settings.items():
        if key == "SECURE_PROXY_SSL_HEADER" and value is not None:
            value = tuple(value)
        setattr(settings, key, value)
    settings.ALLOWED_HOSTS = [HOST]
    return settings


def https_client() -> Client:
    return Client(HTTP_HOST=HOST, headers={"X-Forwarded-Proto": "https"})


def test_plain_http_is_redirected_to_https(production_like) -> None:  # type: ignore[no-untyped-def]
    response = Client(HTTP_HOST=HOST).get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/accounts/login/"


def test_pages_carry_the_security_headers(production_like) -> None:  # type: ignore[no-untyped-def]
    response = https_client().get("/accounts/login/")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = dict(
        part.strip().split(" ", 1)
        for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no nonce unless a page asks for one
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"].startswith("'self'")
    assert "unsafe" not in response["Content-Security-Policy"]
    csrf = response.cookies["csrftoken"]
    assert csrf["secure"]
    assert csrf["samesite"] == "Lax"


def test_the_session_cookie_is_secure_and_http_only(production_like) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    person = UserFactory()
    EmailAddress.objects.create(
        user=person, email=person.email, primary=True, verified=True
    )
    client = https_client()
    response = client.post(
        "/accounts/login/", {"login": person.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert "Content-Security-Policy" in response
    assert response["Strict-Transport-Security"]
