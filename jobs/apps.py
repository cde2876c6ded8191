from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Separation jobs"

    def ready(self) -> None:
        from django.core import checks

        from .checks import (
            database_check,
            decoder_check,
            storage_check,
            time_limits_check,
        )

        checks.register(time_limits_check)
        checks.register(decoder_check)
        checks.register(database_check)
        checks.register(storage_check)
        # Uploads stream into the shared volume, so the later move is a rename.
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
