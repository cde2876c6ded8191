"""docker-compose.yml, nginx.conf and the production harness agree by construction.

The harness (devtools/production/) reads compose, the Dockerfiles and
nginx.conf instead of restating them, and changes only what a machine without
Docker must. These checks fail when one of the three has a service, a port, a
volume, an environment variable or an nginx location that the others lack, or
when the harness changes more than it says. Nothing is started here.
"""

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from devtools import deploy_config as deploy
from devtools.production import (
    BASE_ENVIRONMENT,
    NGINX_SUBSTITUTIONS,
    NGINX_TEMP_PATHS,
    PATH_VARIABLES,
    PROVIDED,
    PROVIDED_PORTS,
    URL_PATH_VARIABLES,
    Layout,
    ServicePlan,
    image_command,
    image_environment,
    plan,
    render_nginx_conf,
    variables,
)
from tests.helpers.production import LOCATIONS

NGINX = Path("/usr/sbin/nginx")
_HOST_PORT = re.compile(r"//(?:[^@/]*@)?([a-z][\w-]*):(\d+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return deploy.load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def shell() -> dict[str, str]:
    return variables()


@pytest.fixture(scope="module")
def nginx_conf() -> str:
    return deploy.NGINX_PATH.read_text()


def _layout(root: Path, services: dict[str, Any]) -> Layout:
    return Layout(
        root=root,
        services=services,
        database_url="postgres://postgres@127.0.0.1:5432/topology",
        redis_url="redis://127.0.0.1:6379/12",
    )


@pytest.fixture(scope="module")
def layout(
    tmp_path_factory: pytest.TempPathFactory, services: dict[str, Any]
) -> Layout:
    return _layout(tmp_path_factory.mktemp("topology"), services)


@pytest.fixture(scope="module")
def plans(
    compose: dict[str, Any], shell: dict[str, str], layout: Layout, nginx_conf: str
) -> dict[str, ServicePlan]:
    return plan(compose, shell, layout, nginx_conf, NGINX)


@pytest.fixture(scope="module")
def server(nginx_conf: str) -> deploy.Directive:
    http = deploy.parse_nginx(nginx_conf).first("http")
    assert http is not None
    found = http.first("server")
    assert found is not None
    return found


def _started(plans: dict[str, ServicePlan]) -> dict[str, ServicePlan]:
    return {name: p for name, p in plans.items() if not p.provided}


# --- services -----------------------------------------------------------------


def test_every_compose_service_runs_here_and_nothing_else(services, plans):
    assert set(plans) == set(services)
    assert {name for name, p in plans.items() if p.provided} == set(PROVIDED)
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    # The weights one-shot stands in as the models volume the harness fills.
    assert services["models"]["restart"] == "no"
    assert {m.source for m in deploy.mounts(services["models"])} == {"models"}
    for name, service_plan in _started(plans).items():
        assert service_plan.argv, name
    assert {name for name, p in plans.items() if p.oneshot} == {"migrate"}


def test_each_service_runs_its_compose_command_with_only_the_address_changed(
    services, shell, plans
):
    for name, service_plan in _started(plans).items():
        if name == "proxy":
            continue
        original = image_command(services[name], shell)
        assert len(service_plan.argv) == len(original), name
        for index, (was, now) in enumerate(
            zip(original, service_plan.argv, strict=True)
        ):
            if was == now:
                continue
            before = original[index - 1] if index else ""
            assert (
                (re.fullmatch(r"0\.0\.0\.0:\d+", was) and now.startswith("127.0.0.1:"))
                or (before == "--host" and now == "127.0.0.1")
                or before == "--port"
            ), (
                name,
                was,
                now,
            )


def test_web_runs_the_images_own_command(services):
    # The web image's CMD and compose's web command are the same gunicorn.
    assert deploy.command(services["web"]) == deploy.dockerfile_cmd(
        deploy.WEB_DOCKERFILE
    )


def test_the_proxy_runs_nginx_in_the_foreground_on_the_repositorys_conf(plans):
    argv = plans["proxy"].argv
    assert argv[0] == str(NGINX)
    assert argv[argv.index("-c") + 1].endswith("/nginx.conf")
    assert argv[argv.index("-g") + 1] == "daemon off;"


def test_start_order_follows_depends_on(services):
    order = deploy.start_order(services)
    for name, service in services.items():
        for dependency in deploy.depends_on(service):
            assert order.index(dependency) < order.index(name), (dependency, name)


# --- ports --------------------------------------------------------------------


def _references(
    services: dict[str, Any], shell: dict[str, str], server: deploy.Directive
) -> set[tuple[str, int]]:
    """Every (service, port) something else reaches a service on."""
    found: set[tuple[str, int]] = set()
    http = server.parent
    assert http is not None
    for upstream in http.all("upstream"):
        for entry in upstream.all("server"):
            host, port = entry.args[0].rsplit(":", 1)
            found.add((host, int(port)))
    for name, service in services.items():
        for value in deploy.environment(service, shell).values():
            for host, port in _HOST_PORT.findall(value):
                found.add((host, int(port)))
        for published in service.get("ports") or []:
            found.add((name, int(deploy.interpolate(str(published)).rsplit(":", 1)[1])))
        check = " ".join(
            str(w) for w in (service.get("healthcheck") or {}).get("test", [])
        )
        for port in re.findall(r"//127\.0\.0\.1:(\d+)", check):
            found.add((name, int(port)))
        if re.search(r"//127\.0\.0\.1/", check):
            found.add((name, 80))
    return found


def test_every_port_a_service_is_reached_on_is_one_it_listens_on(
    services, shell, server, layout, plans
):
    listening = set(layout.ports) | set(PROVIDED_PORTS.items())
    references = _references(services, shell, server)
    assert references <= listening, references - listening
    # ... and no service listens where nobody reaches it.
    assert set(layout.ports) <= references, set(layout.ports) - references


def test_every_listening_port_has_a_local_port_of_its_own(layout, plans):
    local = list(layout.ports.values())
    assert len(local) == len(set(local))
    assert ("proxy", 80) in layout.ports
    assert ("web", 8000) in layout.ports
    assert ("stemworker", 8001) in layout.ports


# --- volumes --------------------------------------------------------------------


def test_every_mount_is_a_declared_volume_and_every_volume_is_mounted(compose):
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for mount in deploy.mounts(service):
            if mount.source.startswith((".", "/")):
                assert (deploy.ROOT / mount.source).exists(), (name, mount.source)
            else:
                assert mount.source in declared, (name, mount.source)
                used.add(mount.source)
    assert used == declared


def test_services_sharing_a_volume_see_it_in_the_same_local_folder(
    services, layout, plans
):
    for name in _started(plans):
        for mount in deploy.mounts(services[name]):
            assert layout.container_path(name, mount.target) == layout.volume(
                mount.source
            ), (name, mount.target)
    shared_roots = {
        plans[n].env["SHARED_ROOT"] for n in ("web", "worker", "stemworker")
    }
    assert shared_roots == {str(layout.volume("shared"))}
    assert plans["stemworker"].env["DEMUCS_REPO"] == str(layout.volume("models"))
    assert plans["web"].env["STATIC_ROOT"] == str(layout.volume("static"))


def test_nginx_serves_files_only_from_the_proxys_mounts(services, server, layout):
    proxy_volumes = {layout.volume(m.source) for m in deploy.mounts(services["proxy"])}
    served = 0
    for location in deploy.locations(server):
        for name in ("root", "alias"):
            directive = location.first(name)
            if directive is None:
                continue
            folder = directive.args[0]
            if name == "root":
                folder = folder.rstrip("/") + location.args[-1]
            local = layout.container_path("proxy", folder)
            assert any(local.is_relative_to(v) for v in proxy_volumes), (
                location.args,
                folder,
            )
            served += 1
    assert served == 2  # /static/ (the static volume), /protected/ (shared)


# --- environment ----------------------------------------------------------------


def test_every_variable_compose_sets_reaches_the_process_unchanged_or_translated(
    services, shell, layout, plans
):
    service_hosts = set(services)
    for name, service_plan in _started(plans).items():
        if name == "proxy":
            continue
        compose_env = {
            **image_environment(services[name]),
            **deploy.environment(services[name], shell),
        }
        assert set(service_plan.env) == set(compose_env) | set(BASE_ENVIRONMENT), name
        for key, value in compose_env.items():
            now = service_plan.env[key]
            if key in PATH_VARIABLES:
                assert now == str(layout.container_path(name, value)), (name, key)
                continue
            assert not value.startswith("/") or key in URL_PATH_VARIABLES, (
                f"{name}: {key}={value} looks like a path: list it in "
                "PATH_VARIABLES (a file path) or URL_PATH_VARIABLES"
            )
            hosts = {host for host, _ in _HOST_PORT.findall(value)}
            if hosts & service_hosts:
                assert not {h for h, _ in _HOST_PORT.findall(now)} & service_hosts, (
                    name,
                    key,
                    now,
                )
            else:
                assert now == value, (name, key)


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def test_the_harness_sets_only_variables_compose_reads(compose, shell):
    text = "\n".join(_strings(compose))
    read = set(re.findall(r"\$\{(\w+)", text))
    assert set(shell) <= read, set(shell) - read
    required = set(re.findall(r"\$\{(\w+):?\?", text))
    assert required <= set(shell), required - set(shell)


# --- nginx ----------------------------------------------------------------------


def test_every_nginx_location_has_a_probe_and_every_probe_a_location(server):
    in_conf = {" ".join(location.args) for location in deploy.locations(server)}
    assert in_conf == set(LOCATIONS)
    error_pages = {
        directive.args[-1]
        for directive in server.walk()
        if directive.name == "error_page"
    } | {d.args[-1] for d in server.all("error_page")}
    for key, probe in LOCATIONS.items():
        if key.startswith("@"):
            assert key in error_pages, key
            continue
        uri = probe.uri.format(hashed_css="css/site.0123456789ab.css")
        location = deploy.match_location(server, uri)
        assert location is not None and " ".join(location.args) == key, (key, uri)


def _render(conf: str, layout: Layout) -> str:
    return render_nginx_conf(
        conf, layout, prefix=layout.root / "nginx", user="www-data"
    )


def test_rendering_changes_only_the_directives_it_lists(nginx_conf, layout, plans):
    before = deploy.parse_nginx(nginx_conf)
    after = deploy.parse_nginx(_render(nginx_conf, layout))
    listed = set(NGINX_SUBSTITUTIONS) - {"upstream"} | {"server"}
    added = {f"{kind}_temp_path" for kind in NGINX_TEMP_PATHS}

    def compare(old: deploy.Directive, new: deploy.Directive) -> None:
        new_children = [c for c in new.children or [] if c.name not in added]
        old_children = [c for c in old.children or [] if c.name != "resolver"]
        assert [c.name for c in old_children] == [c.name for c in new_children], (
            old.args
        )
        for o, n in zip(old_children, new_children, strict=True):
            if o.children is not None:
                assert o.args == n.args or o.name == "server", (o.name, o.args)
                compare(o, n)
            elif o.args != n.args:
                assert o.name in listed, (o.name, o.args, n.args)

    compare(before, after)
    # Nothing left that only a compose container has.
    for directive in after.walk():
        assert directive.name != "resolver"
        for arg in directive.args:
            assert not arg.startswith(("/srv", "/shared", "/var/")), directive
            assert not re.match(r"[a-z]+:\d+$", arg), directive  # web:8000


def test_the_harness_refuses_a_topology_it_cannot_follow(
    compose, shell, nginx_conf, tmp_path
):
    # nginx proxying to a port web does not listen on.
    layout = _layout(tmp_path / "a", compose["services"])
    plan(compose, shell, layout, nginx_conf, NGINX)
    with pytest.raises(deploy.ConfigError, match="web:8080"):
        _render(nginx_conf.replace("web:8000", "web:8080"), layout)
    # A directive the harness must translate, gone from nginx.conf.
    with pytest.raises(deploy.ConfigError, match="listen"):
        _render(re.sub(r"listen 80 default_server;", "", nginx_conf), layout)
    # A service URL naming a port the service does not listen on.
    drifted = copy.deepcopy(compose)
    drifted["services"]["worker"]["environment"] = {
        **drifted["services"]["worker"]["environment"],
        "STEMWORKER_URL": "http://stemworker:9000",
    }
    with pytest.raises(deploy.ConfigError, match="stemworker:9000"):
        plan(
            drifted,
            shell,
            _layout(tmp_path / "b", drifted["services"]),
            nginx_conf,
            NGINX,
        )
