"""Separation hosts: the machines that run RQ workers beside their own stemworker.

A host joins by starting (`manage.py rqworkers`), and leaves by stopping. While
it runs, its heartbeat (`manage.py host_heartbeat`, started by rqworkers) writes
its row every HOST_BEAT_SECONDS: slots, busy slots, device and models, as its
stemworker reports them. A SIGTERM marks it draining: it starts no new job, and
a separation still running after HOST_DRAIN_SECONDS goes back to the queue for
another host (jobs/runner/pipeline.py). A host that vanishes stops beating; the
reaper fails its jobs with their credit back, as for a killed worker.

Dispatch stays global: every host's workers take turns from the same queue and
start the fairest queued job (jobs/runner/dispatch.py) when their slot frees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import stemworker
from .models import Job, SeparationHost

logger = logging.getLogger(__name__)

# A host unheard of for this many beats is no longer listed as up.
SEEN_BEATS = 3


def this_host() -> str:
    return str(settings.MUXMINUS_HOST)


def host_beat(*, started_at: datetime | None = None) -> SeparationHost:
    """Write this host's row from what its stemworker says now."""
    now = timezone.now()
    values: dict[str, object] = {"seen_at": now, "reachable": True}
    try:
        health = stemworker.health()
        values.update(
            slots=int(health["slots"]),
            busy=int(health["busy"]),
            device=str(health.get("device", "")),
            offered_models=sorted(
                stemworker.models_list(), key=lambda model: str(model["name"])
            ),
        )
    except stemworker.StemworkerUnavailable as error:
        logger.warning("host %s: its stemworker did not answer: %s", this_host(), error)
        values["reachable"] = False
    if started_at is not None:
        values.update(started_at=started_at, draining_since=None)
    host, _ = SeparationHost.objects.update_or_create(name=this_host(), defaults=values)
    return host


def host_drain_begin() -> None:
    """This host was told to stop: it starts nothing new from now on."""
    SeparationHost.objects.update_or_create(
        name=this_host(), defaults={"draining_since": timezone.now()}
    )
    logger.warning(
        "host %s is draining: hands back what still runs in %.0f s",
        this_host(),
        settings.HOST_DRAIN_SECONDS,
    )


def host_leave() -> None:
    """This host stopped: it is no longer listed."""
    SeparationHost.objects.filter(name=this_host()).delete()


def host_is_draining() -> bool:
    return SeparationHost.objects.filter(
        name=this_host(), draining_since__isnull=False
    ).exists()


def host_must_hand_back() -> bool:
    """Draining for longer than HOST_DRAIN_SECONDS: give the running jobs back."""
    limit = timezone.now() - timedelta(seconds=settings.HOST_DRAIN_SECONDS)
    return SeparationHost.objects.filter(
        name=this_host(), draining_since__lte=limit
    ).exists()


def host_model_names(host: SeparationHost) -> list[str]:
    """The models this host can run now (its weights load)."""
    return [
        str(model["name"])
        for model in host.offered_models
        if model.get("available", True)
    ]


def hosts_models(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every model some host up now offers, as its stemworker describes it;
    available when any of them can run it."""
    merged: dict[str, dict[str, Any]] = {}
    for host in _recent(now):
        for model in host.offered_models:
            known = merged.setdefault(str(model["name"]), dict(model))
            if model.get("available", True):
                known.update(available=True, reason="")
    return list(merged.values())


def hosts_up_names(*, now: datetime | None = None) -> set[str]:
    return {host.name for host in _recent(now)}


@dataclass(frozen=True)
class HostReport:
    host: SeparationHost
    running: list[Job]

    def as_dict(self) -> dict[str, object]:
        host = self.host
        return {
            "name": host.name,
            "device": host.device,
            "slots": host.slots,
            "busy": host.busy,
            "models": host_model_names(host),
            "stemworker": "up" if host.reachable else "unreachable",
            "draining": host.draining_since is not None,
            "seen_at": host.seen_at.isoformat(),
            "running": [str(job.pk) for job in self.running],
        }


def hosts_report(*, now: datetime | None = None) -> list[HostReport]:
    """The hosts seen recently, each with the jobs it is running."""
    hosts = _recent(now)
    running: dict[str, list[Job]] = {host.name: [] for host in hosts}
    jobs = Job.objects.filter(status=Job.Status.RUNNING, host__in=list(running))
    for job in jobs.only("pk", "host", "model", "started_at").order_by("started_at"):
        running[job.host].append(job)
    return [HostReport(host, running[host.name]) for host in hosts]


def _recent(now: datetime | None) -> list[SeparationHost]:
    now = now or timezone.now()
    since = now - timedelta(seconds=SEEN_BEATS * settings.HOST_BEAT_SECONDS)
    return list(SeparationHost.objects.filter(seen_at__gte=since))
