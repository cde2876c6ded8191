"""The stemworker's gate: the bearer token on every route but the health check,
and input paths only under SHARED_ROOT, where a refused request runs nothing.

test_stemworker_api.py has the basic 401 and 400 cases; this
module checks every route the app has, more ways around the path check, and
that a refusal leaves no trace.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers.stemworker import AUTH, TOKEN

# Answer without a token: the liveness check only. The schema needs the token;
# FastAPI's docs pages are off.
PUBLIC_PATHS = {"/health", "/healthz"}
NO_DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")


@pytest.fixture
def worker(client: TestClient, shared_root: Path) -> TestClient:
    """tests/stemworker's client (fake CLI, one slot), with an upload folder."""
    (shared_root / "uploads" / "j").mkdir(parents=True)
    return client


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, from its OpenAPI schema."""
    paths = client.get("/openapi.json", headers=AUTH).json()["paths"]
    routes = [(m.upper(), path) for path, ops in paths.items() for m in ops]
    return [*routes, ("GET", "/healthz"), ("GET", "/openapi.json")]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Token {TOKEN}",
        f"Basic {TOKEN}",
        TOKEN,
    ],
)
def test_every_route_but_the_public_ones_needs_the_token(
    worker: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    routes = _routes(worker)
    assert {path for _, path in routes} >= {"/models", "/separations/{sep_id}"}
    for method, path in routes:
        url = path.replace("{sep_id}", "some-id")
        response = worker.request(method, url, headers=headers, json={})
        if path in PUBLIC_PATHS:
            assert response.status_code == 200, (method, path)
        else:
            assert response.status_code == 401, (method, path)
            assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_docs_are_off_and_the_schema_needs_the_token(worker: TestClient) -> None:
    for path in NO_DOCS:
        assert worker.get(path, headers=AUTH).status_code == 404, path
    assert worker.get("/openapi.json").status_code == 401
    schema = worker.get("/openapi.json", headers=AUTH).json()
    assert "/separations" in schema["paths"]


def _separation(path: str, sep_id: str = "probe") -> dict[str, str]:
    return {
        "id": sep_id,
        "input_path": path,
        "model": "htdemucs",
        "output_format": "mp3",
    }


def _assert_refused_and_nothing_ran(
    worker: TestClient, shared_root: Path, path: str
) -> None:
    response = worker.post("/separations", json=_separation(path), headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert worker.get("/separations/probe", headers=AUTH).status_code == 404
    assert not (shared_root / "work" / "probe").exists()
    assert worker.get("/health").json()["busy"] == 0


def test_a_path_outside_the_root_is_refused(
    worker: TestClient, shared_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"RIFF")
    for path in (str(outside), "/etc/passwd", "/", str(shared_root.parent)):
        _assert_refused_and_nothing_ran(worker, shared_root, path)


def test_dot_dot_traversal_is_refused(
    worker: TestClient, shared_root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    for path in (
        f"{shared_root}/uploads/../../secret.wav",
        f"{shared_root}/../secret.wav",
        f"{shared_root}/uploads/j/../../../secret.wav",
        f"{shared_root}/./uploads/../../{shared_root.name}/../secret.wav",
    ):
        _assert_refused_and_nothing_ran(worker, shared_root, path)


def test_symlinks_out_of_the_root_are_refused(
    worker: TestClient, shared_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "song.wav").write_bytes(b"RIFF")
    file_link = shared_root / "uploads" / "j" / "link.wav"
    file_link.symlink_to(outside / "song.wav")
    folder_link = shared_root / "uploads" / "k"
    folder_link.symlink_to(outside, target_is_directory=True)
    chain = shared_root / "uploads" / "chain.wav"
    chain.symlink_to(file_link)  # a link to a link that leaves the root
    for path in (file_link, folder_link / "song.wav", chain):
        _assert_refused_and_nothing_ran(worker, shared_root, str(path))


def test_a_relative_path_is_refused(worker: TestClient, shared_root: Path) -> None:
    _assert_refused_and_nothing_ran(worker, shared_root, "uploads/j/song.wav")


def test_a_malformed_path_is_a_400_not_a_500(
    worker: TestClient, shared_root: Path
) -> None:
    for path in (
        f"{shared_root}/uploads/j/so\x00ng.wav",
        f"{shared_root}/uploads/j/{'x' * 5000}.wav",
    ):
        _assert_refused_and_nothing_ran(worker, shared_root, path)
