"""The running product: every compose service on 127.0.0.1, nginx in front."""

from __future__ import annotations

import contextlib
import hashlib
import http.cookies
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import redis

from devtools import deploy_config as deploy
from devtools.processes import (
    ROOT,
    Service,
    ServiceError,
    create_database,
    database_url,
    databases,
    drop_database,
    flush_redis,
    manage,
    rename_database,
    tail,
)

from .nginx import NGINX_TEMP_PATHS, NGINX_USER, nginx_binary, render_nginx_conf
from .topology import DOMAIN, Layout, ServicePlan, plan, variables

# Redis DBs others use: 0 (make run), 13 and 14 (benches), 15 (the test suite).
RESERVED_REDIS_DBS = frozenset({0, 13, 14, 15})
# Migrated databases the runs copy (see ProductionStack._migrated_template).
TEMPLATE_PREFIX = "muxminus_prod_template_"


ACCOUNTS_SCRIPT = """
import json
from accounts.services import api_token_create, user_create_verified
tokens = {{}}
for email in {emails!r}:
    user = user_create_verified(email=email)
    user.set_password({password!r})
    user.save(update_fields=["password"])
    tokens[email] = api_token_create(user=user, name="production tests")[1]
print(json.dumps(tokens))
"""


# --- the running product --------------------------------------------------------


class BrowserCookies(httpx.Auth):
    """The cookies a browser keeps for https://DOMAIN behind the TLS terminator.

    The site is https to the browser (X-Forwarded-Proto), so its Secure cookies
    go back to it; httpx's own jar sends them only over https, which the client
    does not speak to nginx here.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self.values:
            request.headers["Cookie"] = "; ".join(
                f"{name}={value}" for name, value in self.values.items()
            )
        response = yield request
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.value


class ProductionStack:
    """Every compose service on 127.0.0.1, nginx in front, for one test session."""

    def __init__(self, *, models: Path, db_name: str, redis_url: str) -> None:
        db_number = int(redis.connection.parse_url(redis_url).get("db", 0))
        if db_number in RESERVED_REDIS_DBS:
            raise ServiceError(f"Redis DB {db_number} belongs to others")
        self.nginx = nginx_binary()
        self.models = models
        self.db_name = db_name
        self.redis_url = redis_url
        self.tmp = Path(tempfile.mkdtemp(prefix="muxminus-production-"))
        # nginx's workers (www-data) read the volumes: as on a docker host, the
        # folders above them must be open to other users.
        self.tmp.chmod(0o755)
        self.logs = self.tmp / "logs"
        self.logs.mkdir()
        self.compose = deploy.load_compose()
        self.shell = variables()
        self.layout = Layout(
            root=self.tmp,
            services=self.compose["services"],
            database_url=database_url(db_name),
            redis_url=redis_url,
        )
        self.nginx_conf = deploy.NGINX_PATH.read_text()
        self.plans = plan(
            self.compose, self.shell, self.layout, self.nginx_conf, self.nginx
        )
        self.running: dict[str, Service] = {}
        self._healthy: set[str] = set()
        self._database_created = False

    # -- addresses -------------------------------------------------------------

    @property
    def url(self) -> str:
        """nginx: the only published port."""
        return f"http://127.0.0.1:{self.layout.local_port('proxy', 80)}"

    @property
    def web_url(self) -> str:
        """gunicorn itself, behind nginx's back (to see what Django answers)."""
        return f"http://127.0.0.1:{self.layout.local_port('web', 8000)}"

    def volume(self, name: str) -> Path:
        return self.layout.volume(name)

    def client(
        self, *, source: str | None = None, https: bool = True, **options: Any
    ) -> httpx.Client:
        """An httpx client talking to nginx as `DOMAIN`, from `source` (an address
        on 127.0.0.0/8: nginx sees it as the client's). With `https`, as a TLS
        terminator in front would, it says X-Forwarded-Proto: https."""
        headers = {"Host": DOMAIN, **options.pop("headers", {})}
        if https:
            headers.setdefault("X-Forwarded-Proto", "https")
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(
            base_url=options.pop("base_url", self.url),
            headers=headers,
            auth=BrowserCookies(),
            transport=transport,
            timeout=httpx.Timeout(60.0, connect=5.0),
            **{"follow_redirects": False, **options},
        )

    def manage(self, *args: str) -> str:
        """A manage.py command in the web container's environment."""
        return manage(self.plans["web"].env, *args, python="python")

    def accounts(self, emails: list[str], *, password: str) -> dict[str, str]:
        """Verified accounts with `password` and the signup bonus, as a person
        signing up ends with; {email: API token}. One manage.py run for all."""
        script = ACCOUNTS_SCRIPT.format(emails=emails, password=password)
        return dict(json.loads(self.manage("shell", "-c", script).splitlines()[-1]))

    def log(self, service: str) -> str:
        return tail(self.logs / f"{service}.log", 6000)

    # -- start and stop --------------------------------------------------------

    def start(self, timeout: float = 300.0) -> None:
        """Start every service as compose would: each once its dependencies
        are started, healthy or completed; return when all are up and healthy."""
        self._check_programs()
        self.layout.prepare()
        shutil.copytree(self.models, self.layout.volume("models"), dirs_exist_ok=True)
        self._render_nginx()
        create_database(self.db_name, template=self._migrated_template())
        self._database_created = True
        flush_redis(self.redis_url)
        order = deploy.start_order(self.compose["services"])
        pending = [name for name in order if not self.plans[name].provided]
        self._healthy |= {name for name in order if self.plans[name].provided}
        deadline = time.monotonic() + timeout
        while pending or not self._all_healthy():
            for name in list(pending):
                if self._ready_to_start(name):
                    self._start(name)
                    pending.remove(name)
            self._check_health()
            if time.monotonic() > deadline:
                waiting = pending or sorted(self._unhealthy())
                raise ServiceError(f"not up after {timeout:.0f}s: {waiting}")
            time.sleep(0.3)

    def close(self) -> None:
        """Stop every process, empty the Redis DB, drop the database."""
        # As `docker compose down`: SIGTERM to each container's main process,
        # SIGKILL to what is left after its stop_grace_period. The proxy goes
        # first, so that no kept-alive connection holds gunicorn's workers.
        stopping = list(self.running.items())
        for group in ([s for s in stopping if s[0] == "proxy"], stopping):
            for _, service in group:
                service.terminate()
            for name, service in group:
                service.kill_group(grace=self._stop_grace(name))
        self.running.clear()
        try:
            flush_redis(self.redis_url)
        finally:
            if self._database_created:
                drop_database(self.db_name)
            if os.environ.get("MUXMINUS_KEEP_PRODUCTION") != "1":
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _stop_grace(self, name: str) -> float:
        raw = str(self.compose["services"][name].get("stop_grace_period", "10s"))
        units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", raw)
        return sum(float(number) * units[unit] for number, unit in parts) or 10.0

    def _check_programs(self) -> None:
        """Every command and healthcheck program is here (wget for the proxy's
        healthcheck, as the nginx image has it), or say what to install."""
        for name, plan_ in self.plans.items():
            for argv in (plan_.argv, plan_.healthcheck or []):
                if argv and not shutil.which(argv[0], path=plan_.env["PATH"]):
                    raise ServiceError(
                        f"{name} needs `{argv[0]}`, which is not installed here "
                        "(.ci/run installs it)"
                    )

    def _migrated_template(self) -> str:
        """A database with every migration applied, built once per set of
        migrations and requirements: the compose `migrate` service then finds
        the schema current instead of spending half a minute building it. On a
        fresh machine (CI) it is built here, by the same migrate command."""
        digest = hashlib.sha256()
        for path in sorted(ROOT.glob("*/migrations/*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
        digest.update((ROOT / "requirements.txt").read_bytes())
        name = f"{TEMPLATE_PREFIX}{digest.hexdigest()[:16]}"
        if name in databases(name):
            return name
        building = f"{TEMPLATE_PREFIX}building_{secrets.token_hex(4)}"
        migrator = next(p for p in self.plans.values() if "migrate" in " ".join(p.argv))
        env = {**migrator.env, "DATABASE_URL": create_database(building)}
        try:
            manage(env, "migrate", "--noinput", python="python")
            if name in databases(name):  # another run built it meanwhile
                drop_database(building)
            else:
                rename_database(building, name)
        except BaseException:
            drop_database(building)
            raise
        for stale in databases(TEMPLATE_PREFIX):
            if stale != name and "_building_" not in stale:
                # Not forced: a run copying an old template keeps it for now.
                with contextlib.suppress(Exception):
                    drop_database(stale, force=False)
        return name

    def _render_nginx(self) -> None:
        prefix = self.layout.root / "nginx"
        for kind in NGINX_TEMP_PATHS:
            (prefix / "temp" / kind).mkdir(parents=True, exist_ok=True)
        root = os.geteuid() == 0
        if root:
            shutil.chown(prefix / "temp", user=NGINX_USER)
            for kind in NGINX_TEMP_PATHS:
                shutil.chown(prefix / "temp" / kind, user=NGINX_USER)
        rendered = render_nginx_conf(
            self.nginx_conf,
            self.layout,
            prefix=prefix,
            user=NGINX_USER if root else None,
        )
        (prefix / "nginx.conf").write_text(rendered)
        checked = subprocess.run(  # noqa: S603 - fixed argv
            [
                str(self.nginx),
                "-t",
                "-p",
                str(prefix),
                "-c",
                str(prefix / "nginx.conf"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if checked.returncode != 0:
            raise ServiceError(
                f"nginx -t refused the rendered nginx.conf:\n{checked.stderr}"
            )

    def _ready_to_start(self, name: str) -> bool:
        for dependency, condition in self.plans[name].depends_on.items():
            if condition == "service_healthy" and dependency not in self._healthy:
                return False
            if condition == "service_completed_successfully":
                if not self._completed(dependency):
                    return False
            if dependency not in self.running and not self.plans[dependency].provided:
                return False
        return True

    def _completed(self, name: str) -> bool:
        if self.plans[name].provided:
            return True
        service = self.running.get(name)
        if service is None:
            return False
        code = service.proc.poll()
        if code is None:
            return False
        if code != 0:
            raise ServiceError(f"{name} exited {code}:\n{self.log(name)}")
        return True

    def _start(self, name: str) -> None:
        plan_ = self.plans[name]
        self.running[name] = Service(
            name, plan_.argv, plan_.env, self.logs / f"{name}.log"
        )

    def _unhealthy(self) -> set[str]:
        return {
            name
            for name, plan_ in self.plans.items()
            if plan_.healthcheck and name not in self._healthy
        }

    def _all_healthy(self) -> bool:
        return not self._unhealthy()

    def _check_health(self) -> None:
        for name, service in self.running.items():
            plan_ = self.plans[name]
            if plan_.oneshot:
                self._completed(name)
                continue
            service.check_alive()
            if plan_.healthcheck and name not in self._healthy:
                if self._passes(plan_):
                    self._healthy.add(name)

    def _passes(self, plan_: ServicePlan) -> bool:
        try:
            done = subprocess.run(  # noqa: S603 - compose's own healthcheck
                plan_.healthcheck or ["false"],
                cwd=ROOT,
                env=plan_.env,
                capture_output=True,
                timeout=10,
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0
