"""nginx.conf as this machine runs it: NGINX_SUBSTITUTIONS, and nothing else."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from devtools import deploy_config as deploy
from devtools.processes import ServiceError

from .topology import Layout

# Debian's nginx runs its workers as www-data (the compose image: `nginx`).
NGINX_USER = "www-data"
NGINX_BINARIES = ("/usr/sbin/nginx", "/usr/bin/nginx")

# What nginx.conf says that only a compose container has, and what this machine
# uses instead. Each pattern must match at least once (else the harness is out
# of date with nginx.conf and says so); nothing else in the file changes.
NGINX_SUBSTITUTIONS: dict[str, str] = {
    # The image's worker user; here www-data when root, none otherwise (a
    # master that is not root cannot switch users).
    "user": r"^user\s+\S+;",
    # Paths of the image's own filesystem: the run's nginx folder.
    "pid": r"^pid\s+\S+;",
    "error_log": r"^(\s*)error_log\s+/\S+",
    "access_log": r"^(\s*)access_log\s+/\S+",
    # Docker's embedded DNS: there is none here, and the upstream is an address.
    "resolver": r"^(\s*)resolver\s[^;]*;",
    # `server web:8000 resolve;`: compose's host and port become 127.0.0.1 and
    # web's local port. `resolve` goes: it needs a resolver and nginx >= 1.27.3
    # (the compose image); Debian's is older.
    "upstream": r"^(\s*)server\s+([a-z][\w-]*):(\d+)([^;{]*);",
    # The published port: a free port on 127.0.0.1.
    "listen": r"^(\s*)listen\s+(\d+)\b",
    # The proxy's mounts (the static and shared volumes): their folders.
    "root": r"^(\s*)root\s+(/\S*);",
    "alias": r"^(\s*)alias\s+(/\S*);",
}
# Added at the top of `http`: Debian's compiled-in temporary folders are root's
# and shared by every nginx on the machine; these are the run's own.
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_nginx_conf(
    conf: str, layout: Layout, *, prefix: Path, user: str | None
) -> str:
    """nginx.conf for this machine: NGINX_SUBSTITUTIONS, and nothing else."""

    def proxy_path(path: str) -> str:
        # alias keeps its trailing slash: nginx joins the rest of the URI to it.
        local = str(layout.container_path("proxy", path))
        return local + "/" if path.endswith("/") else local

    replacements: dict[str, Callable[[re.Match[str]], str]] = {
        "user": lambda m: f"user {user};" if user else "# user: not root here",
        "pid": lambda m: f"pid {prefix / 'nginx.pid'};",
        "error_log": lambda m: f"{m.group(1)}error_log {prefix / 'error.log'}",
        "access_log": lambda m: f"{m.group(1)}access_log {prefix / 'access.log'}",
        "resolver": lambda m: f"{m.group(1)}# resolver: no Docker DNS here",
        "upstream": lambda m: (
            f"{m.group(1)}server "
            f"127.0.0.1:{layout.local_port(m.group(2), int(m.group(3)))};"
        ),
        "listen": lambda m: (
            f"{m.group(1)}listen 127.0.0.1:"
            f"{layout.local_port('proxy', int(m.group(2)))}"
        ),
        "root": lambda m: f"{m.group(1)}root {proxy_path(m.group(2))};",
        "alias": lambda m: f"{m.group(1)}alias {proxy_path(m.group(2))};",
    }
    for name, pattern in NGINX_SUBSTITUTIONS.items():
        conf, count = re.subn(pattern, replacements[name], conf, flags=re.MULTILINE)
        if not count:
            raise deploy.ConfigError(
                f"nginx.conf has no `{name}` matching {pattern!r}: update "
                "NGINX_SUBSTITUTIONS in devtools/production/nginx.py"
            )
    temp = "".join(
        f"    {kind}_temp_path {prefix / 'temp' / kind};\n" for kind in NGINX_TEMP_PATHS
    )
    if conf.count("\nhttp {\n") != 1:
        raise deploy.ConfigError("nginx.conf has no `http {` block")
    return conf.replace("\nhttp {\n", "\nhttp {\n" + temp)


def nginx_binary() -> Path:
    for candidate in NGINX_BINARIES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ServiceError(
        "nginx is not installed (apt-get install nginx; .ci/run does it): "
        "tests/production run the product behind it"
    )
