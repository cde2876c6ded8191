"""The product's RQ workers (two per stemworker slot, plus one): a separation host.

Each RQ worker follows one separation to its end, then encodes and collects its
stems while the slot it left is already running the next one. So that a freed
slot is taken at once, each slot also has a spare worker waiting on the
stemworker's slot long-poll (jobs/runner/dispatch.py): 2 x slots, and one more
for housekeeping (purge, reaper, reconcile). The slots are the stemworker's own
(it may choose them from the machine); RQ_WORKERS overrides the count.

This machine joins the separation hosts by running this (jobs/hosts.py): a
child process beats for it every HOST_BEAT_SECONDS. On SIGTERM the host drains:
it starts nothing new, each worker finishes its job, and what still separates
after HOST_DRAIN_SECONDS goes back to the queue; then it leaves the list.
"""

import os
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django_rq.queues import get_queues
from rq.worker_pool import WorkerPool

from jobs import hosts, stemworker
from jobs.store import store_warm

QUEUES = ("stems", "default")
FALLBACK_SLOTS = 1


def workers_for(slots: int) -> int:
    """RQ workers for a stemworker with `slots` slots."""
    return 2 * slots + 1


class Command(BaseCommand):
    help = "Start the RQ workers (stems and default queues), sized to the stemworker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=120.0,
            help="seconds to wait for the stemworker to say how many slots it has",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, why = self._count(options["wait"])
        self.stdout.write(
            f"rqworkers: host {hosts.this_host()}, {count} RQ worker(s) ({why})"
        )
        argv = [sys.executable, "manage.py", "host_heartbeat"]
        beat = subprocess.Popen(  # noqa: S603 - our own manage.py
            [*argv, "--parent", str(os.getpid())], cwd=settings.BASE_DIR
        )
        queues = get_queues(*QUEUES)
        pool = DrainingPool(
            queues=queues, connection=queues[0].connection, num_workers=count
        )
        connections.close_all()  # none shared with the forked workers
        store_warm()  # built once here, inherited by every work horse
        stemworker.client_warm()  # the same for the stemworker client's TLS settings
        try:
            pool.start(burst=False)
        finally:
            beat.terminate()
            beat.wait(timeout=30)
            hosts.host_leave()
            connections.close_all()

    def _count(self, wait: float) -> tuple[int, str]:
        if settings.RQ_WORKERS > 0:
            return settings.RQ_WORKERS, "RQ_WORKERS"
        deadline = time.monotonic() + wait
        while True:
            try:
                slots = stemworker.slots_count()
            except stemworker.StemworkerUnavailable as error:
                if time.monotonic() >= deadline:
                    self.stderr.write(
                        f"rqworkers: the stemworker did not answer ({error}); "
                        f"sizing for {FALLBACK_SLOTS} slot(s). Set RQ_WORKERS to "
                        "two per slot plus one."
                    )
                    slots = FALLBACK_SLOTS
                    break
                time.sleep(1)
            else:
                break
        return workers_for(slots), f"two per stemworker slot ({slots}), plus one"


class DrainingPool(WorkerPool):
    """RQ's pool, which on SIGTERM first marks this host draining (so its
    workers start no new job and hand back what outlives the drain time),
    then asks its workers for a warm shutdown as RQ does."""

    def request_stop(self, signum: Any = None, frame: Any = None) -> None:
        try:
            hosts.host_drain_begin()
        except Exception:  # the database is gone: stopping goes on regardless
            self.log.exception("could not mark host %s draining", hosts.this_host())
        finally:
            connections.close_all()
        super().request_stop(signum, frame)
