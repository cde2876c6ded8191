"""The fake GitHub fixture for the social sign-in tests."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter

from tests.helpers.fake_github import FakeGitHub, handler_for


@pytest.fixture
def fake_github(settings, monkeypatch) -> Iterator[FakeGitHub]:  # type: ignore[no-untyped-def]
    """A fake GitHub Enterprise; the app configured as GITHUB_* env vars would."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    state = FakeGitHub(url=url)
    server.RequestHandlerClass = handler_for(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "github": {
            "SCOPE": ["read:user", "user:email"],
            "GITHUB_URL": url,
            "APP": {"client_id": "fake-client", "secret": "fake-secret", "key": ""},
        },
    }
    # allauth reads GITHUB_URL once, when its views module is imported: point the
    # adapter where it would point had GITHUB_URL been set at start-up.
    for name, value in {
        "web_url": url,
        "api_url": f"{url}/api/v3",
        "access_token_url": f"{url}/login/oauth/access_token",
        "authorize_url": f"{url}/login/oauth/authorize",
        "profile_url": f"{url}/api/v3/user",
        "emails_url": f"{url}/api/v3/user/emails",
    }.items():
        monkeypatch.setattr(GitHubOAuth2Adapter, name, value)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
