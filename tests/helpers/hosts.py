"""Separation hosts for the tests: each one a stemworker and `manage.py
rqworkers` (with its heartbeat) on a scratch folder of its own, sharing with
the test process (the web) only PostgreSQL, Redis and the S3 bucket."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from devtools.s3_server import KEY_ID, REGION, SECRET
from devtools.stemworker_process import free_port, start_stemworker, wait_healthy
from tests.helpers.faults import descendants
from tests.helpers.jobs import STEMWORKER_MODELS

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@dataclass
class Host:
    """One separation host; `start_workers` is what an operator runs to join."""

    name: str
    models: Path
    bucket: str
    endpoint_url: str
    drain_seconds: float = 45.0
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp()))
    stemworker: subprocess.Popen[bytes] | None = None
    workers: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        (self.scratch / "tmp").mkdir(parents=True, exist_ok=True)
        self.log = self.scratch.parent / f"{self.scratch.name}-{self.name}.log"
        self.url = f"http://127.0.0.1:{free_port()}"

    def start_stemworker(self) -> None:
        env = {
            "STEMWORKER_TOKEN": settings.STEMWORKER_TOKEN,
            "SHARED_ROOT": str(self.scratch),
            "DEMUCS_REPO": str(self.models),
            "DEMUCS_MODELS": STEMWORKER_MODELS,
            "MAX_CONCURRENT_JOBS": "1",
            "STEMWORKER_WARMUP": "false",
        }
        port = int(self.url.rsplit(":", 1)[1])
        self.stemworker = start_stemworker(port, env, output=self.log.open("ab"))
        wait_healthy(self.url, timeout=120)

    def start_workers(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "TEST_DATABASE_URL": _database_url(),
            "TEST_REDIS_URL": settings.TEST_REDIS_URL,
            "MUXMINUS_TEST_SHARED_ROOT": str(self.scratch),
            "MUXMINUS_TEST_STEMWORKER_URL": self.url,
            "MUXMINUS_HOST": self.name,
            "HOST_BEAT_SECONDS": "1",
            "HOST_DRAIN_SECONDS": str(self.drain_seconds),
            "RQ_WORKERS": "3",
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
        }
        out = self.log.open("ab")
        self.workers = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "manage.py", "rqworkers", "--wait", "30"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )

    def start(self) -> "Host":
        self.start_stemworker()
        self.start_workers()
        return self

    def terminate(self) -> None:
        """SIGTERM to its main process, as `docker stop` does."""
        assert self.workers is not None
        self.workers.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> int:
        assert self.workers is not None
        return self.workers.wait(timeout=timeout)

    def stop(self, timeout: float = 120) -> int:
        """Stop the workers as an operator does and wait for them to leave."""
        self.terminate()
        return self.wait_stopped(timeout)

    def vanish(self) -> None:
        """SIGKILL to every process of the host, as when its machine is gone
        (RQ's work horses run in sessions of their own: found by parent)."""
        for process in (self.workers, self.stemworker):
            if process is None or process.poll() is not None:
                continue
            for pid in [*descendants(process.pid), process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait(timeout=30)

    def close(self) -> None:
        for process in (self.workers, self.stemworker):
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)

    def files(self) -> list[Path]:
        return sorted(p for p in self.scratch.rglob("*") if p.is_file())

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""
