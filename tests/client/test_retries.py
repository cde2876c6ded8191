"""The client's retries and errors, against a real HTTP server on 127.0.0.1."""

import itertools
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from muxminus import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    Client,
    ConnectionFailed,
    Expired,
    FileTooLarge,
    InvalidAudio,
    MuxMinusError,
    NoCredits,
    NotFound,
    NotSignedIn,
    RateLimited,
    RetryPolicy,
    ServerError,
    TooManyActiveJobs,
    Unprocessable,
    UnsupportedMediaType,
    WaitTimeout,
)

from tests.client.payloads import ACCOUNT, job_json
from tests.client.server import DROP, Reply, Request, error, scripted_server

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)


class Sleeps(list[float]):
    """The client's pauses, taken for real and written down."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


def client(url: str, sleeps: Sleeps | None = None, retry: RetryPolicy = FAST) -> Client:
    return Client(
        "secret-token",
        url,
        retry=retry,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def answers(*replies: Reply) -> Callable[[Request], Reply]:
    """Answer with each reply in turn, then the last one forever."""
    queue = itertools.chain(replies, itertools.repeat(replies[-1]))
    return lambda request: next(queue)


def test_calls_carry_the_token_and_decode_the_answer():
    with scripted_server(answers(Reply(200, ACCOUNT))) as server:
        account = client(server.url).me()
    assert account.credits == 3 and account.max_active_jobs == 5
    [request] = server.requests
    assert request.path == "/api/v1/me/"
    assert request.headers["authorization"] == "Token secret-token"
    assert request.headers["user-agent"].startswith("muxminus-python/")


def test_token_and_url_come_from_the_environment(monkeypatch):
    with scripted_server(answers(Reply(200, ACCOUNT))) as server:
        monkeypatch.setenv("MUXMINUS_TOKEN", "from-env")
        monkeypatch.setenv("MUXMINUS_URL", f"{server.url}/api/v1/")
        Client().me()
    assert server.requests[0].headers["authorization"] == "Token from-env"
    assert server.requests[0].path == "/api/v1/me/"


def test_no_token_at_all_is_not_signed_in(monkeypatch):
    monkeypatch.delenv("MUXMINUS_TOKEN", raising=False)
    with pytest.raises(NotSignedIn):
        Client(base_url="http://127.0.0.1:9")


def test_a_429_waits_out_retry_after_then_succeeds():
    sleeps = Sleeps()
    replies = answers(
        error(429, "throttled", **{"Retry-After": "1"}), Reply(200, ACCOUNT)
    )
    with scripted_server(replies) as server:
        started = time.monotonic()
        client(server.url, sleeps).me()
    assert time.monotonic() - started >= 1.0
    assert sleeps == [1.0]
    assert len(server.requests) == 2


def test_429s_past_the_wait_budget_raise_rate_limited():
    policy = RetryPolicy(rate_limit_budget=0.25, max_retry_after=0.1)
    limited = error(429, "throttled", "Slow down.", **{"Retry-After": "60"})
    with scripted_server(answers(limited)) as server:
        with pytest.raises(RateLimited) as raised:
            client(server.url, retry=policy).me()
    assert raised.value.code == "throttled"
    assert raised.value.detail == "Slow down."
    assert raised.value.retry_after == 60
    # 0.1 s a wait (capped), at most 0.25 s in all: three requests.
    assert len(server.requests) == 3


def test_too_many_active_jobs_is_raised_at_once_when_not_waiting_for_a_slot(
    tmp_path: Path,
):
    song = tmp_path / "song.wav"
    song.write_bytes(b"RIFF....")
    busy = error(
        429, "too_many_active_jobs", "5 jobs at once.", **{"Retry-After": "42"}
    )
    with scripted_server(answers(busy)) as server:
        with pytest.raises(TooManyActiveJobs) as raised:
            client(server.url).jobs.create(
                [song], model="htdemucs", wait_for_slot=False
            )
    assert raised.value.retry_after == 42
    assert isinstance(raised.value, RateLimited)
    assert len(server.requests) == 1


def test_server_errors_are_retried_with_growing_jittered_pauses():
    sleeps = Sleeps()
    policy = RetryPolicy(attempts=4, backoff=0.02, max_backoff=1.0)
    replies = answers(*[error(500, "server_error")] * 3, Reply(200, ACCOUNT))
    with scripted_server(replies) as server:
        client(server.url, sleeps, retry=policy).me()
    assert len(server.requests) == 4
    # Equal jitter: between half and all of 0.02, 0.04, 0.08.
    for pause, step in zip(sleeps, (0.02, 0.04, 0.08), strict=True):
        assert step / 2 <= pause <= step


def test_server_errors_give_up_after_the_attempts():
    bad_gateway = Reply(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"})
    with scripted_server(answers(bad_gateway)) as server:
        with pytest.raises(ServerError) as raised:
            client(server.url).me()
    assert len(server.requests) == FAST.attempts
    assert raised.value.status == 502
    assert raised.value.code == "http_502"
    assert "Bad Gateway" in raised.value.detail


def test_a_503_with_retry_after_is_waited_out():
    sleeps = Sleeps()
    full = error(503, "storage_full", "Short of storage.", **{"Retry-After": "0.2"})
    with scripted_server(answers(full, Reply(200, ACCOUNT))) as server:
        client(server.url, sleeps).me()
    assert sleeps == [0.2]


def test_an_unreachable_server_is_connection_failed():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed) as raised:
        client(f"http://127.0.0.1:{port}").me()
    assert "after 4 attempts" in str(raised.value)
    assert isinstance(raised.value, MuxMinusError)


def test_a_lost_answer_to_an_upload_is_retried_with_the_same_key_and_bytes(
    tmp_path: Path,
):
    songs = [tmp_path / "one.wav", tmp_path / "two.flac"]
    for number, song in enumerate(songs):
        song.write_bytes(bytes([number]) * 5000)
    created = [job_json("a" * 32, filename="one.wav"), job_json("b" * 32)]
    with scripted_server(answers(DROP, Reply(201, created))) as server:
        jobs = client(server.url).jobs.create(
            songs, model="htdemucs", two_stems="vocals", output_format="wav"
        )
    assert [job.id for job in jobs] == ["a" * 32, "b" * 32]
    first, retry = server.requests
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
    assert _without_boundary(first) == _without_boundary(retry)
    for content in (b"\x00" * 5000, b"\x01" * 5000, b'name="two_stems"', b"vocals"):
        assert content in first.body
    assert b'filename="two.flac"' in first.body


def _without_boundary(request: Request) -> bytes:
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    return request.body.replace(boundary, b"BOUNDARY")


def test_every_upload_gets_its_own_key(tmp_path: Path):
    song = tmp_path / "song.wav"
    song.write_bytes(b"x")
    with scripted_server(answers(Reply(201, [job_json()]))) as server:
        mux = client(server.url)
        mux.jobs.create(song, model="htdemucs")
        mux.jobs.create([("memory.wav", b"y")], model="htdemucs")
    keys = {request.headers["idempotency-key"] for request in server.requests}
    assert len(keys) == 2
    assert b'filename="memory.wav"' in server.requests[1].body


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "invalid", BadRequest),
        (400, "invalid_audio", InvalidAudio),
        (401, "authentication_failed", AuthenticationFailed),
        (402, "no_credits", NoCredits),
        (404, "not_found", NotFound),
        (410, "expired", Expired),
        (413, "file_too_large", FileTooLarge),
        (415, "unsupported_media_type", UnsupportedMediaType),
        (422, "idempotency_key_reused", Unprocessable),
    ],
)
def test_refusals_raise_their_typed_error_at_once(status, code, kind):
    refusal = Reply(status, {"detail": "No.", "code": code, "credits": 0})
    with scripted_server(answers(refusal)) as server:
        with pytest.raises(kind) as raised:
            client(server.url).jobs.get("6f1c")
    assert len(server.requests) == 1
    assert isinstance(raised.value, ApiError)
    assert (raised.value.status, raised.value.code) == (status, code)
    assert raised.value.detail == "No."
    assert raised.value.error.credits == 0


def test_a_delete_whose_answer_was_lost_is_done():
    with scripted_server(answers(DROP, error(404, "not_found"))) as server:
        client(server.url).jobs.delete("6f1c")
    assert [r.method for r in server.requests] == ["DELETE", "DELETE"]


def test_a_delete_of_a_missing_job_is_not_found():
    with scripted_server(answers(error(404, "not_found"))) as server:
        with pytest.raises(NotFound):
            client(server.url).jobs.delete("6f1c")


def test_the_list_reads_every_page():
    def pages(request: Request) -> Reply:
        page = int(request.path.split("page=")[1].split("&")[0])
        results = [job_json(f"{page}-{n}") for n in range(2)]
        more = f"https://elsewhere.test/api/v1/jobs/?page={page + 1}"
        return Reply(
            200,
            {
                "count": 6,
                "next": more if page < 3 else None,
                "previous": None,
                "results": results,
            },
        )

    with scripted_server(pages) as server:
        ids = [job.id for job in client(server.url).jobs.list()]
    assert ids == ["1-0", "1-1", "2-0", "2-1", "3-0", "3-1"]
    # The next links name the public site; the client stays on its own URL.
    assert all(r.path.startswith("/api/v1/jobs/?") for r in server.requests)


def test_wait_polls_until_the_job_ends():
    states = [("queued", 0), ("running", 40), ("running", 90), ("succeeded", 100)]
    replies = [Reply(200, job_json(status=s, progress=p)) for s, p in states]
    seen: list[int] = []
    with scripted_server(answers(*replies)) as server:
        mux = client(server.url)
        job = mux.jobs.wait(
            "6f1c", on_progress=lambda j: seen.append(j.progress), poll_interval=0.5
        )
    assert job.status == "succeeded"
    assert seen == [0, 40, 90, 100]
    assert len(server.requests) == 4


def test_wait_gives_up_after_its_timeout():
    with scripted_server(answers(Reply(200, job_json(status="running")))) as server:
        with pytest.raises(WaitTimeout) as raised:
            client(server.url).jobs.wait("6f1c", timeout=0.6, poll_interval=0.5)
    assert raised.value.job.status == "running"
    assert len(server.requests) >= 2  # polled, and not past the deadline


def test_a_redirect_is_not_followed_but_explained():
    moved = Reply(301, b"", {"Location": "https://mux.example/api/v1/me/"})
    with scripted_server(answers(moved)) as server:
        with pytest.raises(ApiError) as raised:
            client(server.url).me()
    assert raised.value.code == "redirect"
    assert "https://mux.example/api/v1/me/" in raised.value.detail
    assert len(server.requests) == 1


def test_an_answer_that_is_not_json_is_explained():
    page = Reply(200, b"<html>some other site</html>", {"Content-Type": "text/html"})
    with scripted_server(answers(page)) as server:
        with pytest.raises(ApiError, match="Mux Minus server") as raised:
            client(server.url).models()
    assert raised.value.code == "not_json"
