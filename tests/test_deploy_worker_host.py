"""docker-compose.worker.yml: a separation host joining a central deployment
with no folder in common with it (issue 18)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKER = yaml.safe_load((ROOT / "docker-compose.worker.yml").read_text())
CENTRE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_runs_the_workers_and_a_stemworker_of_its_own():
    services = WORKER["services"]
    assert services["worker"]["command"] == ["python", "manage.py", "rqworkers"]
    assert services["stemworker"]["build"]["dockerfile"] == "stemworker/Dockerfile"
    assert services["worker"]["environment"]["STEMWORKER_URL"] == (
        "http://stemworker:8001"
    )


def test_it_shares_no_folder_with_the_centre_only_its_scratch():
    services = WORKER["services"]
    for name in ("worker", "stemworker"):
        mounts = services[name]["volumes"]
        assert "scratch:/scratch" in mounts
        assert not any(mount.startswith("shared:") for mount in mounts)
        assert services[name]["environment"]["SHARED_ROOT"] == "/scratch"
    assert services["worker"]["environment"]["STORAGE_BACKEND"] == "s3"
    assert "shared" not in WORKER["volumes"]


def test_its_stemworker_is_never_published():
    for service in WORKER["services"].values():
        assert "ports" not in service
    assert WORKER["services"]["stemworker"]["networks"] == ["internal"]
    assert WORKER["networks"]["internal"]["internal"] is True


def test_it_names_itself_and_drains_within_its_stop_grace_period():
    worker = WORKER["services"]["worker"]
    assert "MUXMINUS_HOST:?" in worker["environment"]["MUXMINUS_HOST"]
    drain = int(worker["environment"]["HOST_DRAIN_SECONDS"].split("-")[-1].rstrip("}"))
    assert drain < int(worker["stop_grace_period"].rstrip("s"))


def test_the_centre_can_switch_to_the_bucket():
    env = CENTRE["x-django-env"]
    for name in ("STORAGE_BACKEND", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL"):
        assert name in env
