"""Static checks of docker-compose.yml, nginx.conf and the Dockerfiles.

Pure file parsing: no Django, no database, no Docker. Runs with `-p no:django` too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from devtools.deploy_config import (
    COMPOSE_PATH,
    NGINX_PATH,
    ROOT,
    STEMWORKER_DOCKERFILE,
    WEB_DOCKERFILE,
    Directive,
    Mount,
    command,
    depends_on,
    dockerfile_instructions,
    effective,
    environment,
    interpolate,
    locations,
    match_location,
    mounts,
    parse_nginx,
    raw_environment,
)

DOCKERFILE_PATHS = [WEB_DOCKERFILE, STEMWORKER_DOCKERFILE]

# ARCHITECTURE.md section 1.
SERVICES = {"proxy", "web", "worker", "cron", "stemworker", "db", "redis"}
# Django answers downloads with `X-Accel-Redirect: /protected/<path>`, the path
# relative to SHARED_ROOT (jobs/downloads.py, prefix from SENDFILE_ACCEL_PREFIX).
X_ACCEL_PREFIX = "/protected/"
UPLOAD_PATHS = ["/api/v1/jobs/", "/jobs/upload/"]
UPLOAD_TIMEOUT_S = 300
MAX_UPLOAD_MB_DEFAULT = 200
STATIC_ROOT = "/app/staticfiles"
REQUIRED_SECRETS = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "POSTGRES_PASSWORD",
    "STEMWORKER_TOKEN",
]


# --- compose helpers


def _interpolate(value: str) -> str:
    """Resolve `${VAR:-default}` to its default, as compose would with VAR unset."""
    return interpolate(value)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_PATH.read_text()


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    return environment(service)


_raw_env = raw_environment


_mounts = mounts


def _mounts_of(service: dict[str, Any], volume: str) -> list[Mount]:
    return [mount for mount in _mounts(service) if mount.source == volume]


def _networks(service: dict[str, Any]) -> set[str]:
    raw = service.get("networks")
    if raw is None:
        return {"default"}
    return set(raw)


_depends_on = depends_on


def _command(service: dict[str, Any]) -> str:
    return " ".join(command(service))


def _healthcheck_test(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return ""
    test = check.get("test") or ""
    return " ".join(test) if isinstance(test, list) else str(test)


# --- nginx helpers

_parse_nginx = parse_nginx
_locations = locations
_match_location = match_location
_effective = effective


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return _parse_nginx(NGINX_PATH.read_text())


@pytest.fixture(scope="module")
def server(nginx: Directive) -> Directive:
    http = nginx.first("http")
    assert http is not None
    servers = http.all("server")
    assert servers, "nginx.conf has no server block"
    listening_80 = [
        s for s in servers if any(d.args[0].endswith("80") for d in s.all("listen"))
    ]
    return (listening_80 or servers)[0]


def _effective_proxy_headers(location: Directive) -> dict[str, str]:
    # proxy_set_header is inherited only when the inner block defines none of its own.
    node: Directive | None = location
    while node is not None:
        headers = node.all("proxy_set_header")
        if headers:
            return {d.args[0].lower(): d.args[1] for d in headers}
        node = node.parent
    return {}


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert match, value
    number, unit = int(match.group(1)), match.group(2) or "s"
    return {"ms": number // 1000, "s": number, "m": number * 60, "h": number * 3600}[
        unit
    ]


def _megabytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG])?", value)
    assert match, value
    number, unit = int(match.group(1)), (match.group(2) or "").lower()
    return {"": number // 2**20, "k": number // 1024, "m": number, "g": number * 1024}[
        unit
    ]


def _internal_location(server: Directive, prefix: str) -> Directive:
    for location in _locations(server):
        if location.args[-1] == prefix and location.first("internal") is not None:
            return location
    pytest.fail(f"no `internal;` location {prefix} in nginx.conf")


# --- compose: services


def test_every_architecture_service_exists(services):
    assert SERVICES <= set(services)


def test_only_the_proxy_publishes_ports(services):
    publishing = {name for name, service in services.items() if service.get("ports")}
    assert publishing == {"proxy"}
    published = [_interpolate(str(port)) for port in services["proxy"]["ports"]]
    assert any(port.endswith(":80") for port in published)


def test_stemworker_is_only_on_the_internal_network(compose, services):
    stemworker = services["stemworker"]
    assert not stemworker.get("ports")
    assert _networks(stemworker) == {"internal"}
    assert compose["networks"]["internal"]["internal"] is True


def test_proxy_reaches_web_but_not_the_backends(compose, services):
    proxy_networks = _networks(services["proxy"])
    assert "internal" not in proxy_networks
    assert proxy_networks & _networks(services["web"])
    for backend in ("db", "redis", "stemworker"):
        assert not proxy_networks & _networks(services[backend]), backend
    for name in ("db", "redis"):
        assert _networks(services[name]) == {"internal"}, name
    for name in ("web", "worker", "cron"):
        assert "internal" in _networks(services[name]), name
    for name in proxy_networks:
        assert not (compose["networks"].get(name) or {}).get("internal"), name


def test_web_worker_cron_build_from_the_root_dockerfile(services):
    for name in ("web", "worker", "cron"):
        build = services[name]["build"]
        build = {"context": build} if isinstance(build, str) else build
        assert build["context"] == ".", name
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
    build = services["stemworker"]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "stemworker/Dockerfile"


def test_process_commands(services):
    assert "config.wsgi:application" in _command(services["web"])
    # `manage.py rqworkers` sizes an rqworker-pool on both queues to the stemworker.
    assert _command(services["worker"]).split()[-2:] == ["manage.py", "rqworkers"]
    rqworkers = (ROOT / "jobs/management/commands/rqworkers.py").read_text()
    assert 'QUEUES = ("stems", "default")' in rqworkers
    assert "rqcron config.cron" in _command(services["cron"])
    assert "stemworker.main:app" in _command(services["stemworker"]) or not services[
        "stemworker"
    ].get("command")


def test_long_running_services_restart(services):
    for name in SERVICES:
        assert services[name].get("restart") == "unless-stopped", name


def test_migrations_run_before_the_django_processes(services):
    migrators = [
        name
        for name, service in services.items()
        if "migrate" in _command(service) and "manage.py" in _command(service)
    ]
    assert migrators, "nothing runs `manage.py migrate`"
    for name in ("worker", "cron"):
        deps = _depends_on(services[name])
        assert any(m == name or m in deps for m in migrators), name


# --- compose: volumes


def test_shared_volume_is_mounted_at_shared_root(services):
    for name in ("web", "worker", "stemworker"):
        shared_root = _env(services[name])["SHARED_ROOT"]
        mounts = _mounts_of(services[name], "shared")
        assert [m.target.rstrip("/") for m in mounts] == [shared_root.rstrip("/")], name
        assert not mounts[0].read_only, name


def test_proxy_mounts_shared_read_only_where_nginx_aliases_it(services, server):
    mounts = _mounts_of(services["proxy"], "shared")
    assert len(mounts) == 1
    assert mounts[0].read_only
    alias = _internal_location(server, X_ACCEL_PREFIX).first("alias")
    assert alias is not None
    assert alias.args[0].rstrip("/") == mounts[0].target.rstrip("/")


def test_models_volume_is_mounted_at_demucs_repo(services):
    stemworker = services["stemworker"]
    env = _env(stemworker)
    mounts = _mounts_of(stemworker, "models")
    assert [m.target.rstrip("/") for m in mounts] == [env["DEMUCS_REPO"].rstrip("/")]
    assert env["TORCH_HOME"].startswith(env["DEMUCS_REPO"].rstrip("/") + "/")
    assert env["HF_HUB_OFFLINE"] == "1"


def test_web_sends_downloads_through_the_internal_location(services, server):
    prefix = _env(services["web"])["SENDFILE_ACCEL_PREFIX"]
    assert prefix.rstrip("/") + "/" == X_ACCEL_PREFIX
    _internal_location(server, X_ACCEL_PREFIX)


def test_static_volume_links_collectstatic_to_nginx(services, server):
    static_root = _env(services["web"]).get("STATIC_ROOT", STATIC_ROOT)
    for name in ("web", "migrate"):
        mounts = _mounts_of(services[name], "static") if name in services else []
        assert [m.target.rstrip("/") for m in mounts] == [static_root.rstrip("/")], name
    proxy_static = _mounts_of(services["proxy"], "static")
    assert len(proxy_static) == 1 and proxy_static[0].read_only
    location = _match_location(server, "/static/css/site.css")
    assert location is not None
    root, alias = _effective(location, "root"), _effective(location, "alias")
    served_from = alias[0] if alias else root[0].rstrip("/") + "/static/"
    assert served_from.rstrip("/") == proxy_static[0].target.rstrip("/")


def test_declared_volumes(compose):
    assert {"shared", "models", "pgdata", "redisdata", "static"} <= set(
        compose["volumes"]
    )


def test_stateful_services_persist_data(services):
    assert [m.target for m in _mounts_of(services["db"], "pgdata")] == [
        "/var/lib/postgresql/data"
    ]
    assert [m.target for m in _mounts_of(services["redis"], "redisdata")] == ["/data"]
    assert "--appendonly yes" in _command(services["redis"])


# --- compose: health


def test_healthchecks_are_defined(services):
    assert "/healthz" in _healthcheck_test(services["web"])
    assert ":8000" in _healthcheck_test(services["web"])
    assert "/health" in _healthcheck_test(services["stemworker"])
    assert ":8001" in _healthcheck_test(services["stemworker"])
    assert "pg_isready" in _healthcheck_test(services["db"])
    assert "redis-cli" in _healthcheck_test(services["redis"])


def test_service_healthy_dependencies_have_healthchecks(services):
    for name, service in services.items():
        for dependency, condition in _depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition == "service_healthy":
                assert _healthcheck_test(services[dependency]), (
                    f"{name} -> {dependency}"
                )


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("web", {"db", "redis"}),
        ("worker", {"db", "redis", "stemworker"}),
        ("proxy", {"web"}),
    ],
)
def test_startup_order_waits_for_health(services, name, needs):
    deps = _depends_on(services[name])
    for dependency in needs:
        assert deps.get(dependency) == "service_healthy", f"{name} -> {dependency}"


# --- compose: env


def test_required_secrets_fail_fast(compose_text, services):
    assert "env_file" not in compose_text
    for secret in REQUIRED_SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", compose_text)
        assert uses, f"{secret} is never used"
        assert all(use.startswith(":?") for use in uses), f"{secret} has a fallback"
    for name in ("web", "worker", "cron"):
        env = _raw_env(services[name])
        for secret in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "STEMWORKER_TOKEN"):
            assert env[secret].startswith("${" + secret + ":?"), (name, secret)
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"], name
    assert _raw_env(services["db"])["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    assert _raw_env(services["stemworker"])["STEMWORKER_TOKEN"].startswith(
        "${STEMWORKER_TOKEN:?"
    )


def test_django_processes_point_at_the_compose_services(services):
    for name in ("web", "worker", "cron"):
        env = _env(services[name])
        assert env["DATABASE_URL"].startswith("postgres://muxminus:"), name
        assert env["DATABASE_URL"].endswith("@db:5432/muxminus"), name
        assert env["REDIS_URL"].startswith("redis://redis:6379/"), name
        assert env["STEMWORKER_URL"] == "http://stemworker:8001", name
        assert env["DJANGO_BEHIND_PROXY"].lower() == "true", name
        assert env.get("DJANGO_DEBUG", "false").lower() in ("false", "0", "no"), name


# --- nginx


def test_nginx_hides_its_version_and_compresses_text(nginx):
    http = nginx.first("http")
    assert http.first("server_tokens").args == ["off"]
    assert http.first("gzip").args == ["on"]
    assert "text/css" in http.first("gzip_types").args


def test_nginx_proxies_to_web(nginx, server):
    upstream_names = {}
    for upstream in nginx.first("http").all("upstream"):
        upstream_names[upstream.args[0]] = [s.args[0] for s in upstream.all("server")]
    location = _match_location(server, "/")
    target = location.first("proxy_pass").args[0].removeprefix("http://").rstrip("/")
    assert upstream_names.get(target, [target]) == ["web:8000"]
    assert not any("stemworker" in " ".join(d.args) for d in nginx.walk())


def test_nginx_allows_multi_file_uploads(server):
    for path in UPLOAD_PATHS:
        location = _match_location(server, path)
        assert location is not None, path
        limit = _effective(location, "client_max_body_size")
        assert limit is not None, path
        assert _megabytes(limit[0]) >= 2 * MAX_UPLOAD_MB_DEFAULT, path


def test_upload_locations_stream_to_django(server):
    for path in UPLOAD_PATHS:
        location = _match_location(server, path)
        assert location is not None and location.args[-1] != "/", path
        assert location.first("proxy_pass") is not None, path
        assert _effective(location, "proxy_request_buffering") == ["off"], path


def test_upload_locations_have_long_timeouts(server):
    for path in UPLOAD_PATHS:
        location = _match_location(server, path)
        for directive in ("proxy_read_timeout", "proxy_send_timeout"):
            value = _effective(location, directive)
            assert value is not None, (path, directive)
            assert _seconds(value[0]) >= UPLOAD_TIMEOUT_S, (path, directive)
        assert _effective(location, "client_body_timeout") is not None, path


def test_proxied_locations_forward_client_details(server):
    for path in ["/", *UPLOAD_PATHS]:
        headers = _effective_proxy_headers(_match_location(server, path))
        assert headers.get("host") in ("$host", "$http_host"), path
        assert headers.get("x-forwarded-for") == "$proxy_add_x_forwarded_for", path
        # Django sets USE_X_FORWARDED_HOST behind the proxy: overwrite a client's value.
        assert headers.get("x-forwarded-host") in ("$host", "$http_host"), path
        assert "x-forwarded-proto" in headers, path


def test_protected_downloads_are_internal_only(server):
    location = _internal_location(server, X_ACCEL_PREFIX)
    assert location.args[0] not in ("~", "~*", "=")
    assert location.first("alias") is not None
    assert location.first("proxy_pass") is None
    assert _effective(location, "autoindex") in (None, ["off"])
    # No other location serves the shared volume to the public.
    for other in _locations(server):
        if other is location:
            continue
        for name in ("alias", "root"):
            value = other.first(name)
            assert value is None or not value.args[0].startswith(
                location.first("alias").args[0]
            )
    # A client asking for the X-Accel path lands on the internal location (a 404).
    assert (
        _match_location(server, X_ACCEL_PREFIX + "outputs/job/vocals.mp3") is location
    )


# --- Dockerfiles


_dockerfile_instructions = dockerfile_instructions


@pytest.mark.parametrize(
    "path", DOCKERFILE_PATHS, ids=lambda p: str(p.relative_to(ROOT))
)
def test_dockerfiles_install_ffmpeg_and_cpu_torch_and_drop_root(path):
    instructions = _dockerfile_instructions(path)
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    assert any(
        "apt-get install" in run and re.search(r"\bffmpeg\b", run) for run in runs
    )
    pip_runs = " && ".join(run for run in runs if "pip install" in run)
    torch_at = pip_runs.find("torch==2.13.0")
    requirements_at = pip_runs.find("-r ")
    assert 0 <= torch_at < requirements_at, (
        "torch must be installed before the requirements"
    )
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_web_dockerfile_runs_gunicorn_by_default():
    instructions = _dockerfile_instructions(ROOT / "Dockerfile")
    assert "download.pytorch.org/whl/cpu" in " ".join(rest for _, rest in instructions)
    env = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert "DJANGO_SETTINGS_MODULE=config.settings" in env
    cmd = [rest for keyword, rest in instructions if keyword == "CMD"][-1]
    assert "gunicorn" in cmd and "config.wsgi:application" in cmd


def test_stemworker_image_holds_only_the_stemworker():
    instructions = _dockerfile_instructions(ROOT / "stemworker" / "Dockerfile")
    copies = [rest.split() for keyword, rest in instructions if keyword == "COPY"]
    assert copies
    for parts in copies:
        sources = [p for p in parts[:-1] if not p.startswith("--")]
        assert all(source.startswith("stemworker/") for source in sources), parts
    cmd = [rest for keyword, rest in instructions if keyword == "CMD"][-1]
    assert "stemworker.main:app" in cmd and "8001" in cmd


def test_dockerignore_keeps_secrets_and_venv_out():
    entries = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
    }
    assert {".env", ".venv", ".git"} <= entries
