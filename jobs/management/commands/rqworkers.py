"""The product's RQ workers: two per stemworker slot, plus one.

Each RQ worker follows one separation to its end, then encodes and collects its
stems while the slot it left is already running the next one. So that a freed
slot is taken at once, each slot also has a spare worker waiting on the
stemworker's slot long-poll (jobs/runner/dispatch.py): 2 x slots, and one more
for housekeeping (purge, reaper, reconcile). The slots are the stemworker's own
(it may choose them from the machine); RQ_WORKERS overrides the count.
"""

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from jobs import stemworker

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
        self.stdout.write(f"rqworkers: {count} RQ worker(s) ({why})")
        call_command("rqworker-pool", *QUEUES, num_workers=count)

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
