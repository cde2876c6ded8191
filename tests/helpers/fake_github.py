"""A fake GitHub (Enterprise) on 127.0.0.1, for the social sign-in tests."""

import json
import secrets
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class FakeGitHubUser:
    id: int = 4242
    login: str = "octocat"
    name: str = "Octo Cat"
    email: str = "octo@example.com"
    verified: bool = True


@dataclass
class FakeGitHub:
    """An OAuth2 server with GitHub Enterprise's paths (`/api/v3/...`)."""

    url: str
    person: FakeGitHubUser = field(default_factory=FakeGitHubUser)
    codes: dict[str, str] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)


def handler_for(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            return header.removeprefix("token ").strip() in state.tokens

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.requests.append(f"GET {parts.path}")
            if parts.path == "/login/oauth/authorize":
                code = secrets.token_hex(8)
                state.codes[code] = query["client_id"]
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode({"code": code, "state": query["state"]})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
            elif parts.path == "/api/v3/user" and self._authorized():
                person = state.person
                self._json(
                    {
                        "id": person.id,
                        "login": person.login,
                        "name": person.name,
                        "email": person.email,
                        "html_url": f"{state.url}/{person.login}",
                    }
                )
            elif parts.path == "/api/v3/user/emails" and self._authorized():
                person = state.person
                self._json(
                    [
                        {
                            "email": person.email,
                            "primary": True,
                            "verified": person.verified,
                        }
                    ]
                )
            else:
                self._json({"message": "Bad credentials"}, status=401)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {
                k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()
            }
            state.requests.append(f"POST {self.path}")
            code = form.get("code", "")
            if self.path.startswith("/login/oauth/access_token") and (
                state.codes.pop(code, None) == form.get("client_id")
                and form.get("client_secret") == "fake-secret"
            ):
                token = secrets.token_hex(16)
                state.tokens.add(token)
                self._json(
                    {"access_token": token, "token_type": "bearer", "scope": "user"}
                )
            else:
                self._json({"error": "bad_verification_code"}, status=400)

    return Handler
