from typing import Any

from django.core.management.base import BaseCommand

from jobs.lifecycle import jobs_purge_expired


class Command(BaseCommand):
    help = "Delete the stems of jobs past their expiry (what the cron runs)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = jobs_purge_expired()
        self.stdout.write(f"Purged the files of {count} expired job(s).")
