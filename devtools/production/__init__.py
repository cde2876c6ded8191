"""The product as docker-compose.yml wires it, on this machine, without Docker.

tests/production starts it once and tests it through Debian's nginx. Nothing
here restates the deployment: every service, its command (or its image's CMD),
its environment (the image's ENV, then compose's, interpolated as compose does),
its volumes, the ports it listens on, the order `depends_on` gives and the
healthchecks are read from docker-compose.yml and the Dockerfiles it builds, and
nginx runs the repository's nginx.conf. Only what a machine without Docker must
do differently is replaced:

- hosts: compose's service names become 127.0.0.1 on free ports: the
  `0.0.0.0:<port>`, `--host` and `--port` arguments of commands, the loopback
  URLs of healthchecks, service URLs in the environment (STEMWORKER_URL);
- db and redis are this machine's PostgreSQL (a fresh database) and Redis (a DB
  number of the run's own): DATABASE_URL and REDIS_URL;
- volumes are folders under the run's temporary root. A path in a container
  (PATH_VARIABLES, nginx's root and alias) is the folder of the volume mounted
  there, or else the service's own private folder, where every mount of the
  service is a link to its volume (`Layout.container_path`);
- the operator's shell: the `${VAR}`s are interpolated from `variables()`;
- the `models` one-shot (which downloads the real weights) does not run: the
  harness fills the models volume with the tiny test models instead;
- nginx.conf: NGINX_SUBSTITUTIONS says what changes there, and why.

tests/production/test_topology.py checks that this holds for every service,
port, volume, variable and nginx location, so a change to one file that the
others do not follow fails there.
"""

from .nginx import NGINX_SUBSTITUTIONS, NGINX_TEMP_PATHS, render_nginx_conf
from .stack import BrowserCookies, ProductionStack
from .topology import (
    BASE_ENVIRONMENT,
    DOMAIN,
    PATH_VARIABLES,
    PROVIDED,
    PROVIDED_PORTS,
    URL_PATH_VARIABLES,
    Layout,
    ServicePlan,
    image_command,
    image_environment,
    plan,
    variables,
)

__all__ = [
    "BASE_ENVIRONMENT",
    "DOMAIN",
    "NGINX_SUBSTITUTIONS",
    "NGINX_TEMP_PATHS",
    "PATH_VARIABLES",
    "PROVIDED",
    "PROVIDED_PORTS",
    "URL_PATH_VARIABLES",
    "BrowserCookies",
    "Layout",
    "ProductionStack",
    "ServicePlan",
    "image_command",
    "image_environment",
    "plan",
    "render_nginx_conf",
    "variables",
]
