"""The installed `mux` command (a real subprocess) against a scripted API."""

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.payloads import ACCOUNT
from tests.client.server import Reply, Request, error, scripted_server

MUX = Path(sys.executable).parent / "mux"


def mux(
    home: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MUXMINUS_")}
    return subprocess.run(
        [str(MUX), *args],
        env={**base, "XDG_CONFIG_HOME": str(home), "NO_COLOR": "1", **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def api(request: Request) -> Reply:
    if request.headers.get("authorization") != "Token good":
        return error(401, "authentication_failed", "Invalid token.")
    if request.path == "/api/v1/me/":
        return Reply(200, ACCOUNT)
    return error(404, "not_found", "No such job.")


def test_login_checks_the_token_and_keeps_it_for_its_owner_only(tmp_path: Path):
    with scripted_server(api) as server:
        done = mux(tmp_path, "login", "--token", "good", "--url", server.url)
        assert done.returncode == 0, done.stderr
        assert "you@example.com" in done.stdout
        stored = tmp_path / "muxminus" / "login.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert json.loads(stored.read_text()) == {"token": "good", "url": server.url}

        credits = mux(tmp_path, "credits")
        assert credits.returncode == 0, credits.stderr
        assert "3 credits; 0 of 5 job slots" in credits.stdout
        # The environment wins over the stored login.
        overridden = mux(tmp_path, "credits", env={"MUXMINUS_TOKEN": "stale"})
        assert overridden.returncode == 3
        assert "MUXMINUS_TOKEN" in overridden.stderr
        assert server.requests[-1].headers["authorization"] == "Token stale"


def test_login_asks_for_what_it_was_not_given(tmp_path: Path):
    with scripted_server(api) as server:
        done = mux(tmp_path, "login", "--json", stdin=f"{server.url}\ngood\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["email"] == "you@example.com"
    assert (tmp_path / "muxminus" / "login.json").exists()


def test_a_refused_token_is_not_kept(tmp_path: Path):
    with scripted_server(api) as server:
        done = mux(tmp_path, "login", "--token", "bad", "--url", server.url)
    assert done.returncode == 3
    assert "Not signed in" in done.stderr
    assert not (tmp_path / "muxminus" / "login.json").exists()


def test_without_a_token_it_says_to_sign_in(tmp_path: Path):
    done = mux(tmp_path, "models")
    assert done.returncode == 3
    assert "mux login" in done.stderr
    as_json = mux(tmp_path, "models", "--json")
    assert as_json.returncode == 3
    assert json.loads(as_json.stdout)["error"]["code"] == "NotSignedIn"


def test_an_unreachable_server_is_exit_6(tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = mux(tmp_path, "credits", env={"MUXMINUS_TOKEN": "t", "MUXMINUS_URL": url})
    assert done.returncode == 6
    assert f"Cannot reach the Mux Minus server at {url}" in done.stderr


@pytest.mark.parametrize("command", [["delete", "6f1c"], ["download", "6f1c"]])
def test_api_errors_come_as_json_with_their_exit_code(tmp_path: Path, command):
    with scripted_server(api) as server:
        env = {"MUXMINUS_TOKEN": "good", "MUXMINUS_URL": server.url}
        done = mux(tmp_path, *command, "--json", env=env)
    assert done.returncode == 7
    body = json.loads(done.stdout)["error"]
    assert (body["status"], body["code"], body["detail"]) == (
        404,
        "not_found",
        "No such job.",
    )


def test_logout_forgets_the_token(tmp_path: Path):
    with scripted_server(api) as server:
        mux(tmp_path, "login", "--token", "good", "--url", server.url)
    assert mux(tmp_path, "logout").returncode == 0
    assert not (tmp_path / "muxminus" / "login.json").exists()
    assert mux(tmp_path, "credits").returncode == 3
