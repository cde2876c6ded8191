"""The client's models are the API's schema, so the two cannot drift apart.

clients/python/src/muxminus/_schema_models.py is generated from the OpenAPI
schema that /api/schema/ serves; here it is generated again, in memory, from
this very server, and must be what is committed.
"""

import dataclasses
import difflib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import muxminus._schema_models
from muxminus import Jobs
from muxminus._schema_models import JobCreateFormRequest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "clients" / "python" / "scripts" / "generate_models.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_models", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def module_of(source: str, path: Path) -> ModuleType:
    module = ModuleType("generated_models")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - ours
    finally:
        del sys.modules[module.__name__]
    return module


def test_the_committed_models_are_what_the_schema_gives():
    generate = generator()
    expected = generate.render(generate.schema_from_django())
    committed = generate.TARGET.read_text()
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            "committed",
            "from the schema",
        )
    )
    assert committed == expected, (
        f"The API's schema changed, the client's models did not. Run\n\n"
        f"    {generate.COMMAND}\n\nand commit the result.\n\n{diff}"
    )


def test_the_tests_use_the_clients_sources_where_they_are():
    """The editable install: a change to clients/python is seen without a reinstall."""
    module = Path(muxminus._schema_models.__file__).resolve()
    assert module == generator().TARGET.resolve()


def test_jobs_create_takes_every_field_of_the_upload_form():
    form = {field.name for field in dataclasses.fields(JobCreateFormRequest)}
    accepted = set(inspect.signature(Jobs.create).parameters)
    assert form - {"file"} <= accepted, (
        "The upload form has fields that Jobs.create does not send: "
        f"{sorted(form - {'file'} - accepted)}"
    )


SCHEMA: dict[str, Any] = {
    "paths": {
        "/api/v1/things/{id}/with/a/rather/long/path/indeed/": {
            "get": {"operationId": "things_with_a_rather_long_operation_id_retrieve"}
        }
    },
    "components": {
        "schemas": {
            "ColourEnum": {"enum": ["red", "green"], "type": "string"},
            "BlankEnum": {"enum": [""]},
            "NullEnum": {"enum": [None]},
            "ModelEnum": {"enum": ["this-servers-own"], "type": "string"},
            "Part": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
            "Thing": {
                "type": "object",
                "description": "A thing.\n\n* `x` - an appended list of choices",
                "properties": {
                    "class": {"type": "string"},
                    "when": {"type": "string", "format": "date-time"},
                    "seen": {
                        "type": "array",
                        "items": {"type": "string", "format": "date-time"},
                    },
                    "part": {
                        "allOf": [{"$ref": "#/components/schemas/Part"}],
                        "nullable": True,
                    },
                    "parts": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Part"},
                    },
                    "colour": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/ColourEnum"},
                            {"$ref": "#/components/schemas/BlankEnum"},
                            {"$ref": "#/components/schemas/NullEnum"},
                        ]
                    },
                    "model": {"$ref": "#/components/schemas/ModelEnum"},
                    "a_rather_long_optional_field_name_for_wrapping": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Part"},
                        "nullable": True,
                    },
                    "count": {"type": "integer", "default": 3},
                },
                "required": [
                    "class",
                    "when",
                    "seen",
                    "part",
                    "parts",
                    "colour",
                    "model",
                ],
            },
        }
    },
}


def test_the_generator_writes_formatted_code_that_reads_and_writes_bodies(tmp_path):
    source = generator().render(SCHEMA)
    target = tmp_path / "models.py"
    target.write_text(source)
    ruff = Path(sys.executable).parent / "ruff"
    for check in (["format", "--check"], ["check", "--select", "E,F,W,I,UP"]):
        done = subprocess.run(
            [str(ruff), *check, "--target-version", "py39", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "this-servers-own" not in source  # the server's configuration, not its API

    namespace = module_of(source, target).__dict__
    body = {
        "class": "big",
        "when": "2026-11-25T15:40:00Z",
        "seen": ["2026-11-25T15:40:00.5+01:00"],
        "part": None,
        "parts": [{"name": "a", "unknown": 1}],
        "colour": "",
        "model": "htdemucs",
        "a_rather_long_optional_field_name_for_wrapping": [{"name": "b"}],
        "added_by_a_newer_server": True,
    }
    thing = namespace["Thing"].from_dict(body)
    assert thing.class_ == "big"
    assert thing.when.isoformat() == "2026-11-25T15:40:00+00:00"
    assert thing.parts[0].name == "a" and thing.count == 3
    assert thing.to_dict() == {
        **{k: v for k, v in body.items() if k != "added_by_a_newer_server"},
        "seen": ["2026-11-25T15:40:00.500000+01:00"],
        "parts": [{"name": "a"}],
        "count": 3,
    }
    assert namespace["OPERATIONS"] == [
        (
            "GET",
            "/api/v1/things/{id}/with/a/rather/long/path/indeed/",
            "things_with_a_rather_long_operation_id_retrieve",
        ),
    ]
