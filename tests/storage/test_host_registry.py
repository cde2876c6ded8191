"""The separation hosts' registry (jobs/hosts.py): what a heartbeat writes from
a real stemworker, and where operators read it (/healthz, the admin), and the
models a web without a stemworker of its own offers (the hosts')."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from jobs import catalog, hosts
from jobs.models import Job, SeparationHost
from tests.helpers.accounts import signed_up_user
from tests.helpers.jobs import finished_job

pytestmark = pytest.mark.django_db


def test_a_beat_records_what_the_stemworker_says(live_stemworker, settings):
    settings.MUXMINUS_HOST = "gpu-1"
    host = hosts.host_beat(started_at=timezone.now())
    assert (host.name, host.slots, host.device, host.reachable) == (
        "gpu-1",
        1,
        "cpu",
        True,
    )
    assert "htdemucs" in hosts.host_model_names(host)
    assert "mdx_extra" not in hosts.host_model_names(host)  # no weights for it
    assert hosts.hosts_up_names() == {"gpu-1"}


def test_a_beat_without_its_stemworker_says_it_is_unreachable(settings):
    settings.MUXMINUS_HOST = "lonely"
    host = hosts.host_beat()
    assert host.reachable is False
    assert hosts.hosts_report()[0].as_dict()["stemworker"] == "unreachable"


def test_a_host_not_heard_for_three_beats_is_no_longer_up(settings):
    settings.HOST_BEAT_SECONDS = 10
    SeparationHost.objects.create(name="old", seen_at=timezone.now() - timedelta(31))
    SeparationHost.objects.create(name="new")
    assert hosts.hosts_up_names() == {"new"}


def test_operators_see_the_hosts_on_healthz_and_others_do_not(client, settings, user):
    settings.HEALTHZ_TOKEN = "ops-secret"
    SeparationHost.objects.create(name="cpu-1", slots=2, busy=1, device="cpu")
    job = finished_job(user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, host="cpu-1")
    public = client.get("/healthz").json()
    assert public["status"] == "ok" and "hosts" not in public
    wrong = client.get("/healthz", HTTP_AUTHORIZATION="Bearer nope").json()
    assert "hosts" not in wrong
    ops = client.get("/healthz", HTTP_AUTHORIZATION="Bearer ops-secret").json()
    [listed] = ops["hosts"]
    assert listed["name"] == "cpu-1" and listed["slots"] == 2 and listed["busy"] == 1
    assert listed["running"] == [str(job.pk)]
    client.force_login(signed_up_user(is_staff=True))
    assert client.get("/healthz").json()["hosts"][0]["name"] == "cpu-1"


def test_the_admin_lists_the_hosts_and_what_they_run(client, user):
    SeparationHost.objects.create(name="cpu-1", slots=1, busy=1, device="cpu")
    SeparationHost.objects.create(
        name="gone-1", seen_at=timezone.now() - timedelta(hours=1)
    )
    job = finished_job(user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, host="cpu-1")
    client.force_login(signed_up_user(is_staff=True, is_superuser=True))
    page = client.get("/django-admin/jobs/separationhost/").content.decode()
    assert "cpu-1" in page and f"../job/{job.pk}/change/" in page
    assert "gone (last seen" in page


def test_a_web_without_a_stemworker_offers_the_hosts_models(settings):
    cache.clear()
    assert settings.STEMWORKER_URL.endswith(":9")  # nothing listens there
    SeparationHost.objects.create(
        name="gpu-1",
        offered_models=[
            {"name": "htdemucs", "stems": ["drums", "bass", "other", "vocals"]},
            {"name": "htdemucs_6s", "stems": ["drums"], "available": False},
        ],
    )
    offered = {m["name"]: m for m in catalog.models_available()}
    assert sorted(offered) == ["htdemucs", "htdemucs_6s"]
    assert offered["htdemucs"]["available"] is True
    assert offered["htdemucs_6s"]["available"] is False
