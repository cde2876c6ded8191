"""Write the client's typed models from the API's OpenAPI schema.

    .venv/bin/python clients/python/scripts/generate_models.py          # write
    .venv/bin/python clients/python/scripts/generate_models.py --check  # compare

Without --schema it builds the schema from the Django project this file sits
in (DJANGO_SETTINGS_MODULE defaults to config.test_settings), exactly as
/api/schema/ serves it; --schema FILE reads a saved one (JSON or YAML) instead.
The output, src/muxminus/_schema_models.py, is committed; the server's test
suite (tests/client/test_schema_models.py) regenerates it in memory and fails
when the two differ.

Every object in components/schemas becomes a dataclass with from_dict() and
to_dict(), every enum a Literal alias, and the API's operations are listed, so
a new field, model or endpoint changes the file. Stdlib only: the output runs
on Python 3.9+, and is already as `ruff format` writes it (collections are
written one item a line, with the trailing comma that keeps them so).
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENT = Path(__file__).resolve().parents[1]
REPOSITORY = CLIENT.parents[1]
TARGET = CLIENT / "src" / "muxminus" / "_schema_models.py"
COMMAND = ".venv/bin/python clients/python/scripts/generate_models.py"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
WIDTH = 88
# Enums whose values are the server's configuration, not its API (ModelEnum is
# DEMUCS_MODELS): typed as plain strings, so the file is the same everywhere.
DEPLOYMENT_ENUMS = frozenset({"ModelEnum"})

PREAMBLE = '''\
"""The API's bodies as typed dataclasses, generated from its OpenAPI schema.

Do not edit: after changing the API, run (from the repository root)

    {command}

Unknown fields in an answer are ignored, so an older client keeps working
when the server adds some.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import {typing_names}

_T = TypeVar("_T")


def _datetime(value: Any) -> datetime:
    # fromisoformat reads a trailing Z only from Python 3.11 on.
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _read(codec: str, value: Any) -> Any:
    if value is None or not codec:
        return value
    if codec == "datetime":
        return _datetime(value)
    if codec.startswith("list:"):
        return [_read(codec[5:], item) for item in value]
    return globals()[codec].from_dict(value)


def _write(codec: str, value: Any) -> Any:
    if value is None or not codec:
        return value
    if codec == "datetime":
        return _iso(value)
    if codec.startswith("list:"):
        return [_write(codec[5:], item) for item in value]
    return value.to_dict()


def _decode(cls: type[_T], data: Mapping[str, Any]) -> _T:
    # A key the answer lacks takes the field's default (or fails when required).
    values = {{
        name: _read(codec, data[key])
        for name, key, codec in _FIELDS[cls.__name__]
        if key in data
    }}
    return cls(**values)


def _encode(instance: object) -> dict[str, Any]:
    return {{
        key: _write(codec, getattr(instance, name))
        for name, key, codec in _FIELDS[type(instance).__name__]
    }}
'''


@dataclass
class Field:
    """One property of a schema object, as Python sees it."""

    name: str  # the attribute
    key: str  # the JSON key
    annotation: str
    codec: str  # "", "datetime", a class name, or "list:" and one of those
    default: str | None  # a Python literal, for optional fields
    description: str


def python_name(key: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
    if not name or name[0].isdigit():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def first_paragraph(text: str | None) -> str:
    """drf-spectacular appends the enum's choices after a blank line: drop them
    (for ModelEnum they are the server's configuration)."""
    return " ".join((text or "").strip().split("\n\n")[0].split())


def ref_name(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    members = schema.get("allOf")
    if isinstance(members, list) and len(members) == 1 and "$ref" in members[0]:
        return str(members[0]["$ref"]).rsplit("/", 1)[-1]
    return None


def python_literal(value: Any) -> str:
    """A JSON default as Python source, as `ruff format` writes it; "None" for
    mutable ones (a dataclass cannot share them)."""
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "None"


class Renderer:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.components: dict[str, Any] = schema.get("components", {}).get(
            "schemas", {}
        )

    def is_enum(self, name: str) -> bool:
        return "enum" in self.components.get(name, {})

    def is_object(self, name: str) -> bool:
        component = self.components.get(name, {})
        return not self.is_enum(name) and (
            component.get("type") == "object" or "properties" in component
        )

    # -- types ---------------------------------------------------------------------

    def kind(self, schema: dict[str, Any]) -> tuple[str, str]:
        """(annotation, codec) of a value of `schema`, nullability aside."""
        name = ref_name(schema)
        if name is not None:
            if name in DEPLOYMENT_ENUMS:
                return "str", ""
            if self.is_enum(name):
                return name, ""
            if self.is_object(name):
                return name, name
            return "Any", ""
        for union in ("oneOf", "anyOf"):
            if union in schema:
                return self.union(schema[union])
        if "enum" in schema:
            return literal(schema["enum"]), ""
        kind, form = schema.get("type"), schema.get("format")
        if kind == "string" and form == "date-time":
            return "datetime", "datetime"
        if kind == "array":
            item, codec = self.kind(schema.get("items", {}))
            return f"list[{item}]", f"list:{codec}" if codec else ""
        if kind == "object" and "properties" not in schema:
            return "dict[str, Any]", ""
        scalars = {"string": "str", "integer": "int", "number": "float"}
        scalars["boolean"] = "bool"
        if kind in scalars and form != "binary":
            return scalars[str(kind)], ""
        return "Any", ""

    def union(self, members: list[dict[str, Any]]) -> tuple[str, str]:
        parts: list[str] = []
        for member in members:
            annotation, codec = self.kind(member)
            if codec:  # objects or dates: no way to tell which member it is
                return "Any", ""
            if self.components.get(ref_name(member) or "", {}).get("enum") == [None]:
                annotation = "None"
            if annotation not in parts:
                parts.append(annotation)
        return " | ".join(parts) or "Any", ""

    # -- objects -------------------------------------------------------------------

    def fields(self, component: dict[str, Any]) -> list[Field]:
        required = set(component.get("required", []))
        found = []
        for key, prop in component.get("properties", {}).items():
            annotation, codec = self.kind(prop)
            nullable = bool(prop.get("nullable"))
            default = None
            if key not in required:
                default = python_literal(prop.get("default"))
                nullable = nullable or default == "None"
            if nullable and not annotation.endswith("None"):
                annotation = f"{annotation} | None"
            description = first_paragraph(prop.get("description"))
            found.append(
                Field(python_name(key), key, annotation, codec, default, description)
            )
        # A dataclass lists the fields with defaults last.
        return [f for f in found if f.default is None] + [
            f for f in found if f.default is not None
        ]

    def dataclass(self, name: str, component: dict[str, Any]) -> Iterator[str]:
        yield "@dataclass"
        yield f"class {name}:"
        doc = first_paragraph(component.get("description"))
        yield from docstring(doc or f"`{name}` in the API's schema.", "    ")
        yield ""
        for field in self.fields(component):
            if field.description:
                yield from wrap(field.description, "    #: ")
            default = "" if field.default is None else f" = {field.default}"
            yield f"    {field.name}: {field.annotation}{default}"
        yield ""
        yield "    @classmethod"
        yield f"    def from_dict(cls, data: Mapping[str, Any]) -> {name}:"
        yield "        return _decode(cls, data)"
        yield ""
        yield "    def to_dict(self) -> dict[str, Any]:"
        yield "        return _encode(self)"

    # -- the file --------------------------------------------------------------------

    def operations(self) -> list[tuple[str, str, str]]:
        found = []
        for path, item in self.schema.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    operation = item[method].get("operationId", "")
                    found.append((method.upper(), path, operation))
        order = {method.upper(): n for n, method in enumerate(HTTP_METHODS)}
        return sorted(found, key=lambda op: (op[1], order[op[0]]))

    def render(self) -> str:
        enums = [
            n
            for n in sorted(self.components)
            if self.is_enum(n) and n not in DEPLOYMENT_ENUMS
        ]
        objects = [n for n in sorted(self.components) if self.is_object(n)]
        body: list[str] = []
        for name in enums:
            body += ["", "", *alias(name, self.components[name]["enum"])]
        for name in objects:
            body += ["", "", *self.dataclass(name, self.components[name])]
        body += ["", "", "#: How each class reads and writes its fields:"]
        body += ["#: (attribute, JSON key, codec), codecs as in _read()."]
        # Lists, not tuples: `ruff format` keeps a one-item list as written.
        body += ["_FIELDS: dict[str, list[tuple[str, str, str]]] = {"]
        for name in objects:
            specs = [
                [json.dumps(f.name), json.dumps(f.key), json.dumps(f.codec)]
                for f in self.fields(self.components[name])
            ]
            body += list(collection(f'"{name}": [', specs, "],", "    "))
        body.append("}")
        body += [
            "",
            "",
            "#: (method, path, operationId) of every operation in the API.",
        ]
        body += ["OPERATIONS: list[tuple[str, str, str]] = ["]
        for operation in self.operations():
            body += list(item([json.dumps(part) for part in operation], "    "))
        body.append("]")
        names = ["Any", "TypeVar"]
        if any("Literal[" in line for line in body):
            names.insert(1, "Literal")
        preamble = PREAMBLE.format(command=COMMAND, typing_names=", ".join(names))
        return preamble + "\n".join(body) + "\n"


# -- formatting that `ruff format` leaves as it is ---------------------------------


def literal(values: list[Any]) -> str:
    shown = ["None" if v is None else json.dumps(v) for v in values]
    return f"Literal[{', '.join(shown)}]"


def alias(name: str, values: list[Any]) -> Iterator[str]:
    line = f"{name} = {literal(values)}"
    if len(line) <= WIDTH:
        yield line
        return
    yield f"{name} = Literal["
    for value in values:
        yield f"    {'None' if value is None else json.dumps(value)},"
    yield "]"


def item(parts: list[str], indent: str) -> Iterator[str]:
    """One tuple in a collection: on one line, or one part a line."""
    line = f"{indent}({', '.join(parts)}),"
    if len(line) <= WIDTH:
        yield line
        return
    yield f"{indent}("
    for part in parts:
        yield f"{indent}    {part},"
    yield f"{indent}),"


def collection(
    opening: str, items: list[list[str]], closing: str, indent: str
) -> Iterator[str]:
    if not items:
        yield f"{indent}{opening}{closing}"
        return
    yield f"{indent}{opening}"
    for parts in items:
        yield from item(parts, indent + "    ")
    yield f"{indent}{closing}"


def wrap(text: str, prefix: str) -> Iterator[str]:
    for line in textwrap.wrap(text, WIDTH - len(prefix), break_long_words=False):
        yield f"{prefix}{line}"


def docstring(text: str, indent: str) -> Iterator[str]:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if len(f'{indent}"""{text}"""') <= WIDTH:
        yield f'{indent}"""{text}"""'
        return
    lines = list(wrap(text, indent))
    yield f'{indent}"""{lines[0].strip()}'
    yield from lines[1:]
    yield f'{indent}"""'


# -- where the schema comes from -----------------------------------------------------


def schema_from_django() -> dict[str, Any]:
    """The schema /api/schema/ serves, built in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))
    import django

    django.setup()
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    loaded: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(schema))
    return loaded


def schema_from_file(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml  # only for a saved YAML schema

        loaded: dict[str, Any] = yaml.safe_load(text)
        return loaded
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def render(schema: dict[str, Any]) -> str:
    """The contents of _schema_models.py for `schema`."""
    return Renderer(schema).render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", type=Path, help="a saved schema (JSON or YAML)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    schema = schema_from_file(args.schema) if args.schema else schema_from_django()
    text = render(schema)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is out of date: run {COMMAND}\n")
            return 1
        return 0
    args.output.write_text(text)
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
