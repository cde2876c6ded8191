"""Keep this separation host's row fresh (jobs/hosts.py) while rqworkers runs.

Started by `manage.py rqworkers`; ends with it (it watches its parent's pid, so
a SIGKILLed host stops beating and is seen as gone).
"""

import os
import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connection
from django.utils import timezone

from jobs import hosts


class Command(BaseCommand):
    help = "Write this separation host's heartbeat every HOST_BEAT_SECONDS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--parent", type=int, default=0, help="end when it ends")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        parent = options["parent"]
        started = timezone.now()
        first = True
        while not stopping and (not parent or os.getppid() == parent):
            try:
                hosts.host_beat(started_at=started if first else None)
                first = False
            except DatabaseError as error:
                self.stderr.write(f"host_heartbeat: database unreachable: {error}")
                connection.close()
            deadline = time.monotonic() + settings.HOST_BEAT_SECONDS
            while not stopping and time.monotonic() < deadline:
                if parent and os.getppid() != parent:
                    return
                time.sleep(0.2)
