"""docker-compose.yml, the Dockerfiles and nginx.conf, read as compose and nginx do.

One reader for the static checks (tests/test_deploy_config.py) and for the
production harness (devtools/production/), which starts the services from
these very files: what they say is what both of them see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PATH = ROOT / "docker-compose.yml"
NGINX_PATH = ROOT / "nginx.conf"
WEB_DOCKERFILE = ROOT / "Dockerfile"
STEMWORKER_DOCKERFILE = ROOT / "stemworker" / "Dockerfile"


class ConfigError(Exception):
    """The deployment files say something the reader cannot follow."""


# --- compose --------------------------------------------------------------------

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})"
)


def interpolate(value: str, variables: Mapping[str, str] | None = None) -> str:
    """Resolve `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and
    `$$` as compose does with `variables` as the shell's environment.

    Without `variables` every variable counts as unset: a default is taken and
    anything else becomes `<VAR>` (what the static checks look at).
    """

    def sub(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        if variables is None:
            return arg if op in (":-", "-") else f"<{name}>"
        value = variables.get(name)
        unset_or_empty = not value
        if op == ":-":
            return arg if unset_or_empty else str(value)
        if op == "-":
            return arg if value is None else value
        if (op == ":?" and unset_or_empty) or (op == "?" and value is None):
            raise ConfigError(f"compose needs {name}: {arg}")
        return value or ""

    return _INTERPOLATION.sub(sub, value)


def load_compose(path: Path = COMPOSE_PATH) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def raw_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment`, uninterpolated (a list or a mapping)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def environment(
    service: Mapping[str, Any], variables: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A service's environment as its container gets it."""
    return {
        key: interpolate(value, variables)
        for key, value in raw_environment(service).items()
    }


@dataclass
class Mount:
    """One entry of a service's `volumes`: a named volume or a bind mount."""

    source: str
    target: str
    read_only: bool


def mounts(service: Mapping[str, Any]) -> list[Mount]:
    """A service's mounts, short or long syntax (defaults interpolated)."""
    found = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            parts = interpolate(entry).split(":")
            options = parts[2].split(",") if len(parts) > 2 else []
            found.append(Mount(parts[0], parts[1], "ro" in options))
        else:
            found.append(
                Mount(
                    str(entry.get("source", "")),
                    str(entry["target"]),
                    bool(entry.get("read_only", False)),
                )
            )
    return found


def command(
    service: Mapping[str, Any], variables: Mapping[str, str] | None = None
) -> list[str]:
    """A service's `command` as an argv list (empty when the image's CMD runs)."""
    raw = service.get("command") or []
    words = raw if isinstance(raw, list) else str(raw).split()
    return [interpolate(str(word), variables) for word in words]


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """{dependency: condition}; a plain list means `service_started`."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {
        name: (spec or {}).get("condition", "service_started")
        for name, spec in raw.items()
    }


def start_order(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every service after everything it depends on, as compose starts them."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ConfigError(f"a dependency cycle through {name}")
        visiting.add(name)
        for dependency in depends_on(services[name]):
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in services:
        visit(name)
    return order


# --- Dockerfiles ----------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) for every instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_cmd(path: Path) -> list[str]:
    """The image's last CMD, which must be in exec (JSON) form."""
    cmds = [rest for keyword, rest in dockerfile_instructions(path) if keyword == "CMD"]
    if not cmds:
        raise ConfigError(f"{path.name} has no CMD")
    argv = json.loads(cmds[-1])
    if not isinstance(argv, list):
        raise ConfigError(f"{path.name}'s CMD is not in exec form")
    return [str(word) for word in argv]


# --- nginx ----------------------------------------------------------------------


@dataclass
class Directive:
    """One nginx directive; a block's `children` is a list, a simple one's None."""

    name: str
    args: list[str]
    children: list[Directive] | None = None
    parent: Directive | None = field(default=None, repr=False)

    def all(self, name: str) -> list[Directive]:
        return [child for child in self.children or [] if child.name == name]

    def first(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[0] if found else None

    def walk(self) -> Iterator[Directive]:
        for child in self.children or []:
            yield child
            yield from child.walk()


_TOKEN = re.compile(
    r"""#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};"'#]+"""
)


def parse_nginx(text: str) -> Directive:
    """The directive tree of an nginx configuration (comments dropped)."""
    root = Directive("main", [], [])
    stack = [root]
    words: list[str] = []
    for piece in _TOKEN.findall(text):
        if piece.startswith("#"):
            continue
        if piece in ("{", ";"):
            if not words:
                raise ConfigError(f"empty directive before {piece!r}")
            node = Directive(
                words[0], words[1:], [] if piece == "{" else None, stack[-1]
            )
            siblings = stack[-1].children
            if siblings is None:  # only blocks go on the stack
                raise ConfigError(f"{stack[-1].name} is not a block")
            siblings.append(node)
            if piece == "{":
                stack.append(node)
            words = []
        elif piece == "}":
            if words or len(stack) == 1:
                raise ConfigError("unbalanced braces in nginx.conf")
            stack.pop()
        else:
            words.append(piece[1:-1] if piece[0] in "\"'" else piece)
    if len(stack) != 1 or words:
        raise ConfigError("unbalanced braces in nginx.conf")
    return root


def locations(block: Directive) -> list[Directive]:
    """Every location in a block, nested ones included."""
    found = []
    for location in block.all("location"):
        found.append(location)
        found.extend(locations(location))
    return found


def match_location(block: Directive, uri: str) -> Directive | None:
    """The location nginx would pick for `uri`: exact, longest prefix, ^~, regex."""
    prefix: Directive | None = None
    for location in block.all("location"):
        modifier, pattern = (
            location.args if len(location.args) == 2 else ["", *location.args]
        )
        if modifier == "=" and pattern == uri:
            return location
        if modifier in ("", "^~") and uri.startswith(pattern):
            if prefix is None or len(pattern) > len(prefix.args[-1]):
                prefix = location
    if prefix is not None:
        nested = match_location(prefix, uri)
        if nested is not None:
            return nested
        if prefix.args[0] == "^~":
            return prefix
    for location in block.all("location"):
        if location.args[0] in ("~", "~*"):
            flags = re.IGNORECASE if location.args[0] == "~*" else 0
            if re.search(location.args[1], uri, flags):
                return location
    return prefix


def effective(location: Directive, name: str) -> list[str] | None:
    """A directive's value as inherited from the enclosing blocks."""
    node: Directive | None = location
    while node is not None:
        found = node.first(name)
        if found is not None:
            return found.args
        node = node.parent
    return None
