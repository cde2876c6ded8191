"""Fetching the demucs weights (jobs/weights.py and `manage.py fetch_models`)
over real HTTP from a local server: demucs' own lists, the checksum in each
name, resuming with Range, skipping what is there, one clear error offline."""

import io
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from devtools.stemworker_process import free_port
from jobs import weights
from jobs.management.commands.fetch_models import default_dest
from tests.helpers.weights_server import Served, weights_server

MODELS = ["htdemucs", "htdemucs_ft", "htdemucs_6s"]
ROOT = "hybrid_transformer/"


@pytest.fixture
def remote(tiny_models: Path, tmp_path: Path) -> Path:
    """A demucs remote/ folder (files.txt with a root:, yaml bags) listing the
    tiny models, whose names carry their real SHA-256 prefix."""
    folder = tmp_path / "remote"
    folder.mkdir()
    names = sorted(p.name for p in tiny_models.glob("*.th"))
    listing = ["# Tiny models", f"root: {ROOT}", *names, ""]
    (folder / "files.txt").write_text("\n".join(listing))
    for bag in tiny_models.glob("*.yaml"):
        shutil.copy(bag, folder / bag.name)
    return folder


@pytest.fixture
def server(tiny_models: Path):  # type: ignore[no-untyped-def]
    with weights_server() as served:
        for model in tiny_models.glob("*.th"):
            served.files[f"/{ROOT}{model.name}"] = model.read_bytes()
        yield served


def lines() -> tuple[list[str], weights.LineReporter]:
    out: list[str] = []
    return out, weights.LineReporter(out.append)


def fetch(server: Served, remote: Path, dest: Path, **kwargs):  # type: ignore[no-untyped-def]
    reporter = kwargs.pop("reporter", None) or lines()[1]
    return weights.fetch(
        kwargs.pop("models", MODELS),
        dest,
        reporter=reporter,
        base_url=server.url,
        remote=remote,
    )


def path_of(served: Served, prefix: str) -> str:
    return next(p for p in served.files if p.split("/")[-1].startswith(prefix))


# -- what demucs lists ------------------------------------------------------------


def test_the_plan_follows_demucs_own_file_list_and_bags() -> None:
    files, bags = weights.plan(MODELS, base_url="https://weights.example/demucs")
    assert [f.name for f in files] == [
        "955717e8-8726e21a.th",
        "f7e0c4bc-ba3fe64a.th",
        "d12395a8-e57c48e6.th",
        "92cfc3b6-ef3bcb9c.th",
        "04573f0d-f3cf25b2.th",
        "5c90dfd2-34c22ccb.th",
    ]
    assert files[0].url == (
        "https://weights.example/demucs/hybrid_transformer/955717e8-8726e21a.th"
    )
    assert files[-1].url.endswith("/hybrid_transformer/5c90dfd2-34c22ccb.th")
    assert files[0].checksum == "8726e21a"
    assert [b.name for b in bags] == [f"{m}.yaml" for m in MODELS]
    mdx, _ = weights.plan(["mdx_extra"], base_url="https://w.example/")
    assert all("/mdx_final/" in f.url for f in mdx) and len(mdx) == 4
    assert weights.demucs_root_url() == "https://dl.fbaipublicfiles.com/demucs/"
    with pytest.raises(weights.FetchError, match="not a model demucs publishes"):
        weights.plan(["my_own_model"], base_url="https://w.example/")


# -- fetching -----------------------------------------------------------------


def test_a_fresh_fetch_downloads_verifies_and_lays_out_a_repo(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    from demucs.pretrained import get_model

    dest = tmp_path / "models"
    out, reporter = lines()
    result = fetch(server, remote, dest, reporter=reporter)
    assert sorted(result.downloaded) == sorted(p.split("/")[-1] for p in server.files)
    assert result.present == []
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [*(p.split("/")[-1] for p in server.files), *(f"{m}.yaml" for m in MODELS)]
    )
    assert all(rng is None for _, rng in server.requests)
    assert any("downloading" in line for line in out)
    for model in MODELS:  # what demucs --repo loads, checksums checked
        assert get_model(model, repo=dest) is not None


def test_a_second_fetch_downloads_nothing(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "models"
    fetch(server, remote, dest)
    server.requests.clear()
    out, reporter = lines()
    result = fetch(server, remote, dest, reporter=reporter)
    assert server.requests == []
    assert result.downloaded == [] and len(result.present) == 3
    assert all("present, checksum verified" in line for line in out)


def test_a_download_that_does_not_match_its_checksum_is_refused_and_removed(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    path = path_of(server, "tiny4a")
    data = server.files[path]
    server.files[path] = data[:-1] + bytes([data[-1] ^ 0xFF])
    dest = tmp_path / "models"
    with pytest.raises(weights.ChecksumMismatch, match="does not match the checksum"):
        fetch(server, remote, dest, models=["htdemucs"])
    assert list(dest.iterdir()) == []  # neither the file nor its .part


def test_a_damaged_file_in_the_folder_is_downloaded_again(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "models"
    fetch(server, remote, dest, models=["htdemucs"])
    name = path_of(server, "tiny4a").split("/")[-1]
    (dest / name).write_bytes(b"not the weights")
    server.requests.clear()
    out, reporter = lines()
    result = fetch(server, remote, dest, models=["htdemucs"], reporter=reporter)
    assert result.downloaded == [name]
    assert weights.checksum_ok(dest / name, name.split("-")[1].removesuffix(".th"))
    assert f"{name}: checksum mismatch, downloading again" in out


def test_a_cut_connection_resumes_with_a_range_request(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    path = path_of(server, "tiny4a")
    server.cut(path, after=100_000)
    dest = tmp_path / "models"
    out, reporter = lines()
    result = fetch(server, remote, dest, models=["htdemucs"], reporter=reporter)
    assert result.downloaded == [path.split("/")[-1]]
    assert server.requested(path) == [None, "bytes=100000-"]
    assert (dest / path.split("/")[-1]).read_bytes() == server.files[path]
    assert any("connection lost" in line and "resuming" in line for line in out)


def test_an_interrupted_fetch_continues_on_the_next_run(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    path = path_of(server, "tiny4a")
    name = path.split("/")[-1]
    server.cut(path, after=50_000, times=weights.ATTEMPTS)
    dest = tmp_path / "models"
    with pytest.raises(weights.FetchError, match="run the fetch again"):
        fetch(server, remote, dest, models=["htdemucs"])
    part = dest / f"{name}.part"
    kept = part.stat().st_size
    assert kept == 50_000 * weights.ATTEMPTS  # each try went on from the last
    assert not (dest / name).exists()
    fetch(server, remote, dest, models=["htdemucs"])
    assert server.requested(path)[-1] == f"bytes={kept}-"
    assert (dest / name).read_bytes() == server.files[path]
    assert not part.exists()


def test_a_server_without_range_support_sends_the_file_again(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    server.ranges = False
    path = path_of(server, "tiny4a")
    server.cut(path, after=100_000)
    dest = tmp_path / "models"
    fetch(server, remote, dest, models=["htdemucs"])
    assert server.requested(path) == [None, "bytes=100000-"]  # asked, got a 200
    assert (dest / path.split("/")[-1]).read_bytes() == server.files[path]


def test_a_folder_of_tiny_models_is_not_filled_with_real_weights(
    server: Served, remote: Path, tiny_models: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "tiny"
    shutil.copytree(tiny_models, dest)
    with pytest.raises(weights.FetchError, match="make tiny-models"):
        fetch(server, remote, dest)
    assert server.requests == []


def test_a_terminal_gets_a_progress_bar_and_a_log_plain_lines(
    server: Served, remote: Path, tmp_path: Path
) -> None:
    screen = io.StringIO()
    fetch(server, remote, tmp_path / "a", reporter=weights.BarReporter(screen))
    name = path_of(server, "tiny4a").split("/")[-1]
    assert name in screen.getvalue() and "100%" in screen.getvalue()
    assert "\r" in screen.getvalue()  # one bar redrawn in place
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        chosen = weights.reporter_for(terminal, print)
        assert isinstance(chosen, weights.BarReporter)
    os.close(leader)
    assert isinstance(weights.reporter_for(io.StringIO(), print), weights.LineReporter)


# -- manage.py fetch_models -----------------------------------------------------------


def test_without_network_the_command_says_so_in_one_clear_error(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(CommandError) as refused:
        call_command(
            "fetch_models",
            dest=tmp_path / "models",
            url=f"http://127.0.0.1:{port}/demucs/",
            models="htdemucs",
        )
    message = str(refused.value)
    assert message.startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert message.endswith(
        "; to try the product without weights run `make tiny-models`"
    )
    assert not list((tmp_path / "models").glob("*.th"))


def test_the_command_uses_demucs_lists_and_refuses_a_wrong_file(
    tmp_path: Path, settings, capsys
) -> None:  # type: ignore[no-untyped-def]
    with weights_server() as served:
        served.files["/hybrid_transformer/955717e8-8726e21a.th"] = b"not htdemucs"
        settings.DEMUCS_WEIGHTS_URL = served.url
        settings.DEMUCS_MODELS = ["htdemucs"]
        with pytest.raises(CommandError, match="does not match the checksum"):
            call_command("fetch_models", dest=tmp_path / "models")
    assert served.requested("/hybrid_transformer/955717e8-8726e21a.th") == [None]
    assert list((tmp_path / "models").iterdir()) == []
    assert "fetching the weights of htdemucs into" in capsys.readouterr().out


def test_the_weights_go_to_demucs_repo_else_var_models(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.DEMUCS_REPO = str(tmp_path / "repo")
    assert default_dest() == tmp_path / "repo"
    settings.DEMUCS_REPO = ""
    assert default_dest() == Path(settings.BASE_DIR) / "var" / "models"


def test_ctrl_c_stops_the_command_and_the_next_run_resumes(tmp_path: Path) -> None:
    name = "955717e8-8726e21a.th"
    dest = tmp_path / "models"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DEMUCS_MODELS": "htdemucs",
    }
    with weights_server() as served:
        served.files[f"/hybrid_transformer/{name}"] = os.urandom(2_000_000)
        served.trickle = 0.01
        argv = [sys.executable, "manage.py", "fetch_models", "--dest", str(dest)]
        argv += ["--url", served.url]
        process = subprocess.Popen(  # noqa: S603 - our own argv
            argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        part = dest / f"{name}.part"
        deadline = time.monotonic() + 60
        while not (part.is_file() and part.stat().st_size > 100_000):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130
        assert "interrupted; run it again to continue where it stopped" in stderr
        kept = part.stat().st_size
        assert 100_000 <= kept < 2_000_000
        served.trickle = 0
        again = subprocess.run(  # noqa: S603 - our own argv
            argv, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
        )
    # It went on from where it stopped; the bytes are not htdemucs, so they go.
    assert served.requested(f"/hybrid_transformer/{name}")[-1] == f"bytes={kept}-"
    assert again.returncode == 1
    assert "does not match the checksum" in again.stderr
    assert not part.exists() and not (dest / name).exists()
