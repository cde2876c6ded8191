"""How each compose service runs on this machine: its command, environment,
folders and ports, read from docker-compose.yml and the Dockerfiles it builds.

Nothing is started here (devtools/production/stack.py starts what this plans).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools import deploy_config as deploy
from devtools.processes import ROOT
from devtools.stemworker_process import free_port

# The site's name as clients ask for it (DJANGO_ALLOWED_HOSTS, SITE_URL).
DOMAIN = "muxminus.test"
# Services the harness does not start, and what stands in for each.
PROVIDED = {
    "db": "this machine's PostgreSQL on 127.0.0.1:5432, a fresh database",
    "redis": "this machine's Redis on 127.0.0.1:6379, a DB number of its own",
    # The one-shot that downloads the real weights: the harness fills the
    # `models` volume with the tiny test models instead (no network here).
    "models": "the models volume, filled with the tiny test models",
}
PROVIDED_PORTS = {"db": 5432, "redis": 6379}
# What a container's environment has before its image's ENV (base_environment).
BASE_ENVIRONMENT = ("PATH", "HOME", "LANG", "TMPDIR")
# Environment variables holding paths inside a container: translated.
PATH_VARIABLES = frozenset(
    {"SHARED_ROOT", "STATIC_ROOT", "MEDIA_ROOT", "DEMUCS_REPO", "TORCH_HOME"}
)
# Values that look like paths but are URL paths: never translated.
URL_PATH_VARIABLES = frozenset({"SENDFILE_ACCEL_PREFIX"})


def variables() -> dict[str, str]:
    """The operator's shell for `docker compose up`: the secrets compose insists
    on, the site's name, and limits small enough to test quickly."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": DOMAIN,
        "SITE_URL": f"https://{DOMAIN}",
        # Spliced into compose's DATABASE_URL, which this machine's replaces.
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "STEMWORKER_TOKEN": secrets.token_urlsafe(24),
        # A file over the limit is then a few MB, not 200.
        "MAX_UPLOAD_MB": "2",
        # Two cores here: one separation at a time. RQ_WORKERS is left to
        # `manage.py rqworkers`, which asks the stemworker (2 x 1 + 1).
        "MAX_CONCURRENT_JOBS": "1",
        # The tests' webhook receivers listen on this machine's loopback.
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }


# --- where this run puts what compose names ---------------------------------------


def _under(path: str, folder: str) -> str | None:
    """`path` relative to `folder` ("" for the folder itself), or None."""
    folder = folder.rstrip("/")
    if path.rstrip("/") == folder:
        return ""
    if path.startswith(folder + "/"):
        return path[len(folder) + 1 :]
    return None


@dataclass
class Layout:
    """Folders, ports and data stores of one run."""

    root: Path
    services: Mapping[str, Mapping[str, Any]]
    database_url: str
    redis_url: str
    ports: dict[tuple[str, int], int] = field(default_factory=dict)

    def volume(self, name: str) -> Path:
        """The folder standing in for a named volume (or a bind mount's source)."""
        if name.startswith((".", "/")):  # a bind mount: the repository's file
            return (ROOT / name).resolve()
        return self.root / "volumes" / name

    def container_root(self, service: str) -> Path:
        """The service's private filesystem; its mounts are links to volumes."""
        return self.root / "containers" / service

    def container_path(self, service: str, path: str) -> Path:
        """Where `path`, as `service` sees it in its container, is here."""
        best: tuple[deploy.Mount, str] | None = None
        for mount in deploy.mounts(self.services[service]):
            rest = _under(path, mount.target)
            if rest is not None and (
                best is None or len(mount.target) > len(best[0].target)
            ):
                best = (mount, rest)
        if best is not None:
            mount, rest = best
            return self.volume(mount.source) / rest
        return self.container_root(service) / path.lstrip("/")

    def local_port(self, service: str, port: int) -> int:
        try:
            return self.ports[(service, port)]
        except KeyError:
            listening = [p for (s, p) in self.ports if s == service]
            raise deploy.ConfigError(
                f"{service}:{port} is used, but {service} listens on {listening}"
            ) from None

    def prepare(self) -> None:
        """Create the volumes and the containers' filesystems with their mounts."""
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        for name, service in self.services.items():
            if name in PROVIDED:
                continue
            container = self.container_root(name)
            (container / "home").mkdir(parents=True, exist_ok=True)
            for mount in deploy.mounts(service):
                volume = self.volume(mount.source)
                if volume.is_relative_to(self.root):
                    volume.mkdir(parents=True, exist_ok=True)
                link = container / mount.target.lstrip("/")
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.is_symlink():
                    link.symlink_to(volume)


# --- the services ---------------------------------------------------------------


@dataclass
class ServicePlan:
    """How one compose service runs here."""

    name: str
    argv: list[str]
    env: dict[str, str]
    listens: list[int]
    healthcheck: list[str] | None = None
    oneshot: bool = False
    provided: bool = False
    depends_on: dict[str, str] = field(default_factory=dict)


_BIND = re.compile(r"^0\.0\.0\.0:(\d+)$")
_LOOPBACK = re.compile(r"//127\.0\.0\.1(?::(\d+))?(?=/)")
_SERVICE_URL = re.compile(r"^(?P<scheme>[a-z]+)://(?:[^@/]*@)?(?P<host>[\w-]+):(\d+)")


def listening_ports(argv: list[str]) -> list[int]:
    """The ports a command binds: `0.0.0.0:<port>` or `--port <port>`."""
    ports = []
    for index, word in enumerate(argv):
        match = _BIND.match(word)
        if match:
            ports.append(int(match.group(1)))
        elif word == "--port" and index + 1 < len(argv):
            ports.append(int(argv[index + 1]))
    return ports


def nginx_listen_ports(conf: str) -> list[int]:
    tree = deploy.parse_nginx(conf)
    return [
        int(directive.args[0].rsplit(":", 1)[-1])
        for directive in tree.walk()
        if directive.name == "listen"
    ]


def image_command(
    service: Mapping[str, Any], shell: Mapping[str, str] | None = None
) -> list[str]:
    """The command a service runs: compose's `command`, else its image's CMD."""
    argv = deploy.command(service, shell)
    if argv:
        return argv
    build = service.get("build")
    if build is None:
        return []
    return deploy.dockerfile_cmd(_dockerfile(build))


def _dockerfile(build: Any) -> Path:
    if isinstance(build, str):
        return ROOT / build / "Dockerfile"
    return ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def image_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """The ENV of the image a service builds (empty for a pulled image)."""
    build = service.get("build")
    if build is None:
        return {}
    env: dict[str, str] = {}
    for keyword, rest in deploy.dockerfile_instructions(_dockerfile(build)):
        if keyword == "ENV":
            for word in shlex.split(rest):
                key, _, value = word.partition("=")
                env[key] = value
    return env


def _localize_argv(name: str, argv: list[str], layout: Layout) -> list[str]:
    out = []
    for index, word in enumerate(argv):
        bind = _BIND.match(word)
        if bind:
            word = f"127.0.0.1:{layout.local_port(name, int(bind.group(1)))}"
        elif index and argv[index - 1] == "--host" and word == "0.0.0.0":  # noqa: S104
            word = "127.0.0.1"
        elif index and argv[index - 1] == "--port":
            word = str(layout.local_port(name, int(word)))
        out.append(word)
    return out


def _localize_loopback(name: str, text: str, layout: Layout) -> str:
    def sub(match: re.Match[str]) -> str:
        port = int(match.group(1) or 80)
        return f"//127.0.0.1:{layout.local_port(name, port)}"

    return _LOOPBACK.sub(sub, text)


def localize_env(name: str, env: Mapping[str, str], layout: Layout) -> dict[str, str]:
    """A container's environment as this machine's processes need it."""
    out = {}
    for key, value in env.items():
        url = _SERVICE_URL.match(value)
        if key in PATH_VARIABLES:
            value = str(layout.container_path(name, value))
        elif url and url.group("host") == "db":
            value = layout.database_url
        elif url and url.group("host") == "redis":
            value = layout.redis_url
        elif url and url.group("host") in layout.services:
            host, port = url.group("host"), int(url.group(3))
            local = f"{url.group('scheme')}://127.0.0.1:{layout.local_port(host, port)}"
            value = local + value[url.end() :]
        out[key] = value
    return out


def _healthcheck(
    name: str, service: Mapping[str, Any], layout: Layout
) -> list[str] | None:
    check = service.get("healthcheck") or {}
    test = check.get("test")
    if not test or check.get("disable"):
        return None
    if isinstance(test, str):
        argv = ["sh", "-c", test]
    elif test[0] == "CMD":
        argv = [str(word) for word in test[1:]]
    elif test[0] == "CMD-SHELL":
        argv = ["sh", "-c", str(test[1])]
    else:
        return None
    return [_localize_loopback(name, word, layout) for word in argv]


def base_environment(name: str, layout: Layout) -> dict[str, str]:
    """What a container has before its image's ENV: a PATH (the virtualenv's
    python, gunicorn and uvicorn first, as the image's pip installed them) and
    a home of its own. Nothing of this process's environment leaks in."""
    home = layout.container_root(name) / "home"
    return {
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(layout.root / "tmp"),
    }


def plan(
    compose: Mapping[str, Any],
    shell: Mapping[str, str],
    layout: Layout,
    nginx_conf: str,
    nginx: Path,
) -> dict[str, ServicePlan]:
    """How every service of the compose file runs here (nothing is started)."""
    services = compose["services"]
    commands: dict[str, list[str]] = {}
    for name, service in services.items():
        if name in PROVIDED:
            continue
        if name == "proxy":
            prefix = layout.root / "nginx"
            commands[name] = [
                str(nginx), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                "-g", "daemon off;",
            ]  # fmt: skip
            for port in nginx_listen_ports(nginx_conf):
                layout.ports.setdefault((name, port), free_port())
            continue
        commands[name] = image_command(service, shell)
        for port in listening_ports(commands[name]):
            layout.ports.setdefault((name, port), free_port())
    plans = {}
    for name, service in services.items():
        if name in PROVIDED:
            plans[name] = ServicePlan(name, [], {}, [], provided=True)
            continue
        raw = {**image_environment(service), **deploy.environment(service, shell)}
        env = {**base_environment(name, layout), **localize_env(name, raw, layout)}
        plans[name] = ServicePlan(
            name=name,
            argv=_localize_argv(name, commands[name], layout),
            env=env,
            listens=[p for (s, p) in layout.ports if s == name],
            healthcheck=_healthcheck(name, service, layout),
            oneshot=service.get("restart") == "no",
            depends_on=deploy.depends_on(service),
        )
    return plans
