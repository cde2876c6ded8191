"""docker-compose.yml: the one-shot `models` service fetches the weights into the
`models` volume before the stemworker starts; nobody copies them by hand."""

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _targets(service: dict[str, Any], volume: str) -> list[str]:
    return [
        str(mount).split(":")[1]
        for mount in service.get("volumes", [])
        if str(mount).split(":")[0] == volume
    ]


def test_the_models_service_runs_fetch_models_once_into_the_volume(services):
    models = services["models"]
    assert models["build"]["dockerfile"] == "Dockerfile"  # Django + demucs' lists
    assert models["command"] == ["python", "manage.py", "fetch_models"]
    assert models["restart"] == "no"
    repo = models["environment"]["DEMUCS_REPO"]
    assert _targets(models, "models") == [repo]
    assert repo == services["stemworker"]["environment"]["DEMUCS_REPO"]
    assert not models.get("depends_on")  # needs no database, no Redis


def test_the_models_service_can_reach_the_internet_and_nothing_else(services):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    networks = services["models"]["networks"]
    assert networks == ["egress"]
    assert not (compose["networks"]["egress"] or {}).get("internal")


def test_the_stemworker_starts_once_the_weights_are_fetched(services):
    depends = services["stemworker"]["depends_on"]
    assert depends["models"] == {"condition": "service_completed_successfully"}


def test_the_web_image_gives_the_volume_mount_point_to_the_app_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "/models" in dockerfile.split("mkdir -p", 1)[1].split("\n")[0]
    assert "chown app:app" in dockerfile and " /models" in dockerfile
