"""The official client and `mux` against the running product.

`mux` runs as a real subprocess of the installed console script. Between it
and nginx sits Edge, standing in for the TLS terminator in front of nginx (the
site's name as Host, X-Forwarded-Proto: https); Edge can also lose an answer:
forward an upload, let the product answer it, and drop the connection, so the
client never sees that its jobs were created.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from muxminus import Client, InvalidAudio

from devtools.audio import write_song
from devtools.production import DOMAIN, ProductionStack
from tests.helpers.browser import wait_for
from tests.helpers.production import JOB_DEADLINE_S, Person

pytestmark = pytest.mark.timeout(900)
MUX = Path(sys.executable).parent / "mux"
# Request headers Edge sets itself (hop-by-hop ones, and what it vouches for).
REPLACED = {b"host", b"connection", b"keep-alive", b"proxy-connection"}
REPLACED |= {b"x-forwarded-proto"}


class Edge:
    """A TCP proxy in front of nginx that rewrites each request's head; one
    request per connection (it asks for Connection: close)."""

    def __init__(self, upstream: int, *, drop_first_upload: bool = False) -> None:
        self.upstream = upstream
        self.drop_first_upload = drop_first_upload
        self.uploads = 0  # POST /api/v1/jobs/ seen
        self.dropped: list[bytes] = []  # the status lines of the answers lost
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream)) as nginx:
            head, rest = _read_head(client)
            if head is None:
                return
            request_line = head.split(b"\r\n", 1)[0]
            nginx.sendall(_rewritten(head) + rest)
            threading.Thread(target=_pump, args=(client, nginx), daemon=True).start()
            if request_line.startswith(b"POST /api/v1/jobs/ ") and self._drop_this():
                answer, _ = _read_head(nginx)  # the product has answered...
                self.dropped.append((answer or b"").split(b"\r\n", 1)[0])
                client.shutdown(socket.SHUT_RDWR)  # ...and the client never hears
                return
            _pump(nginx, client)

    def _drop_this(self) -> bool:
        with self.lock:
            self.uploads += 1
            return self.drop_first_upload and self.uploads == 1


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _rewritten(head: bytes) -> bytes:
    request_line, *fields = head.split(b"\r\n")
    kept = [f for f in fields if f.split(b":", 1)[0].strip().lower() not in REPLACED]
    added = [
        f"Host: {DOMAIN}".encode(),
        b"X-Forwarded-Proto: https",
        b"Connection: close",
    ]
    return b"\r\n".join([request_line, *kept, *added]) + b"\r\n\r\n"


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass  # either side closed: the exchange is over


@pytest.fixture(scope="module")
def edge(production: ProductionStack) -> Iterator[Edge]:
    proxy = Edge(int(production.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture
def person(
    production: ProductionStack, make_people: Callable[[int], list[Person]]
) -> Person:
    """A new account with 10 more credits than the signup bonus."""
    [someone] = make_people(1)
    production.manage("grant_credits", someone.email, "10")
    return someone


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("songs")
    return [write_song(folder / f"Song {n} – démo.wav", 2.0) for n in range(1, 8)]


def mux_env(person: Person, edge: Edge, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUXMINUS_")}
    return {
        **env,
        "MUXMINUS_TOKEN": person.token,
        "MUXMINUS_URL": edge.url,
        "XDG_CONFIG_HOME": str(home / "config"),  # no stored login of anybody's
        "NO_COLOR": "1",
        "COLUMNS": "160",
    }


def mux(
    person: Person, edge: Edge, home: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    assert MUX.exists(), f"{MUX}: `make install-dev` installs the client"
    return subprocess.run(
        [str(MUX), *args],
        env=mux_env(person, edge, home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )


def api(person: Person, edge: Edge) -> Client:
    return Client(person.token, edge.url)


def job_entries(production: ProductionStack, person: Person) -> list[list[Any]]:
    """[kind, delta, job id] of each job debit and refund in the person's ledger."""
    script = (
        "import json\n"
        "from billing.models import CreditEntry\n"
        "entries = CreditEntry.objects.filter(\n"
        f"    account__user__email={person.email!r},\n"
        "    kind__in=['job_debit', 'job_refund'],\n"
        ").order_by('pk')\n"
        "print(json.dumps([[e.kind, e.delta, e.job_id and str(e.job_id)]\n"
        "                  for e in entries]))\n"
    )
    return list(json.loads(production.manage("shell", "-c", script).splitlines()[-1]))


def wait_until_idle(client: Client) -> None:
    """Every job of the person has ended (so the next test finds the workers free)."""
    wait_for(lambda: client.me().active_jobs == 0, timeout=JOB_DEADLINE_S)


def test_split_separates_seven_songs_through_the_five_job_cap(
    production, person, edge, songs, tmp_path
):
    with api(person, edge) as client:
        before = client.me()
        assert before.max_active_jobs == 5 and before.credits >= 7
        done = mux(
            person, edge, tmp_path,
            "split", *map(str, songs), "--model", "htdemucs_6s",
            "--two-stems", "vocals", "--format", "flac", "--out", "stems", "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert [song["status"] for song in result["songs"]] == ["done"] * 7
        for song in songs:
            folder = tmp_path / "stems" / song.stem
            files = sorted(p.name for p in folder.iterdir())
            assert files == [
                f"{song.stem} - no_vocals.flac",
                f"{song.stem} - vocals.flac",
            ]
            for file in folder.iterdir():
                assert file.read_bytes()[:4] == b"fLaC"
        assert not [p for p in (tmp_path / "stems").iterdir() if p.is_file()]
        jobs = [client.jobs.get(song["job"]) for song in result["songs"]]
        assert {job.status for job in jobs} == {"succeeded"}
        assert client.me().credits == before.credits - 7


def test_no_credits_says_so_and_exits_4(production, person, edge, songs, tmp_path):
    with api(person, edge) as client:
        production.manage("grant_credits", person.email, str(-client.me().credits))
        done = mux(person, edge, tmp_path, "split", str(songs[0]), "--out", "stems")
        assert done.returncode == 4, done.stdout + done.stderr
        assert "No credits left" in done.stderr
        assert not list(client.jobs.list())  # nothing was created
        credits = mux(person, edge, tmp_path, "credits", "--json")
        assert credits.returncode == 0 and json.loads(credits.stdout)["credits"] == 0


def test_a_file_that_is_not_audio_is_refused_with_the_servers_message(
    production, person, edge, songs, tmp_path
):
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(os.urandom(50_000))
    with api(person, edge) as client:
        before = client.me().credits
        done = mux(
            person, edge, tmp_path, "split", str(noise), str(songs[0]), "--out", "stems"
        )
        assert done.returncode == 5, done.stdout + done.stderr
        [refusal] = [line for line in done.stderr.splitlines() if "noise.mp3:" in line]
        assert refusal.startswith("refused")
        # The server's own sentence, as the API gave it.
        with pytest.raises(InvalidAudio) as raised:
            client.jobs.create(noise, model="htdemucs")
        assert raised.value.detail in done.stderr
        assert (tmp_path / "stems" / songs[0].stem).is_dir()  # the good one went on
        assert client.me().credits == before - 1


def test_ctrl_c_cancels_the_jobs_it_started_and_refunds_them(
    production, person, edge, songs, tmp_path
):
    workers = production.running["worker"].proc.pid
    with api(person, edge) as client:
        before = client.me().credits
        # With the workers paused, every uploaded job stays queued: the
        # interruption finds five unfinished jobs, whatever the machine's speed.
        os.killpg(workers, signal.SIGSTOP)
        try:
            run = subprocess.Popen(
                [str(MUX), "split", *map(str, songs), "--out", "stems", "--json"],
                env=mux_env(person, edge, tmp_path),
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

            def five_queued() -> list[str] | None:
                queued = [j.id for j in client.jobs.list() if j.status == "queued"]
                return queued if len(queued) == 5 else None

            try:
                queued = wait_for(five_queued, timeout=120)
                run.send_signal(signal.SIGINT)
                stdout, stderr = run.communicate(timeout=120)
            finally:
                if run.poll() is None:
                    run.kill()
        finally:
            os.killpg(workers, signal.SIGCONT)
        assert run.returncode == 130, stdout + stderr
        result = json.loads(stdout)
        assert result["interrupted"] is True
        assert sorted(result["cancelled"]) == sorted(queued)
        assert len(result["not_uploaded"]) == 2
        assert not list(client.jobs.list())  # deleted: cancelled and gone
        me = client.me()
        assert (me.credits, me.active_jobs) == (before, 0)  # every credit back
        # Five debits and five refunds (the jobs are gone, so is the link to them).
        entries = job_entries(production, person)
        assert (
            sorted((kind, delta) for kind, delta, _ in entries)
            == [("job_debit", -1)] * 5 + [("job_refund", 1)] * 5
        )


def test_a_retried_upload_whose_answer_was_lost_is_charged_once(
    production, person, songs
):
    lossy = Edge(int(production.url.rsplit(":", 1)[1]), drop_first_upload=True)
    try:
        with Client(person.token, lossy.url) as client:
            before = client.me().credits
            jobs = client.jobs.create(songs[:2], model="htdemucs", two_stems="vocals")
            assert lossy.dropped == [b"HTTP/1.1 201 Created"]  # created, then lost
            assert lossy.uploads == 2  # the retry, with the same Idempotency-Key
            assert len(jobs) == 2
            assert sorted(j.id for j in client.jobs.list()) == sorted(
                j.id for j in jobs
            )
            assert client.me().credits == before - 2
            entries = job_entries(production, person)
            assert sorted(entries) == sorted(["job_debit", -1, j.id] for j in jobs)
            wait_until_idle(client)
    finally:
        lossy.close()


def test_the_other_commands_speak_json(production, person, edge, songs, tmp_path):
    with api(person, edge) as client:
        [job] = client.jobs.create(songs[0], model="htdemucs", two_stems="vocals")
        client.jobs.wait(job, timeout=JOB_DEADLINE_S)

    def run(*args: str) -> Any:
        done = mux(person, edge, tmp_path, *args, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    assert "htdemucs_6s" in {model["name"] for model in run("models")}
    assert run("credits")["email"] == person.email
    assert [listed["id"] for listed in run("jobs")] == [job.id]
    saved = Path(run("download", job.id, "--out", "zips")["file"])
    assert saved.name == f"{songs[0].stem} - stems.zip" and saved.stat().st_size > 0
    stem = Path(run("download", job.id, "--stem", "vocals", "--out", "one")["file"])
    assert stem.name == f"{songs[0].stem} - vocals.mp3"
    assert run("delete", job.id) == {"job": job.id, "deleted": True, "cancelled": False}
    missing = mux(person, edge, tmp_path, "delete", job.id, "--json")
    assert missing.returncode == 7
    assert json.loads(missing.stdout)["error"]["code"] == "not_found"
