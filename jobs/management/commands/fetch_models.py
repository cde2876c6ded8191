"""Download the demucs weights of the offered models, verified, resumable.

    manage.py fetch_models                       # DEMUCS_MODELS into DEMUCS_REPO
    manage.py fetch_models --models htdemucs     # just one
    manage.py fetch_models --dest /models        # another folder

The weights go to DEMUCS_REPO, or var/models when it is unset (`make
fetch-models` then sets DEMUCS_REPO in .env). The work is jobs.weights.
"""

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import weights


def default_dest() -> Path:
    """DEMUCS_REPO, or var/models beside the code."""
    repo = settings.DEMUCS_REPO
    return Path(repo) if repo else Path(settings.BASE_DIR) / "var" / "models"


class Command(BaseCommand):
    help = "Download the demucs weights DEMUCS_MODELS needs into DEMUCS_REPO."
    # Needs no database: it runs before anything else, in compose too.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dest",
            type=Path,
            help="Folder to fill (default: DEMUCS_REPO, else var/models).",
        )
        parser.add_argument(
            "--models",
            help="Comma-separated model names (default: DEMUCS_MODELS).",
        )
        parser.add_argument(
            "--url",
            help="URL root to download from (default: DEMUCS_WEIGHTS_URL, "
            "else demucs' own).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dest: Path = (options["dest"] or default_dest()).resolve()
        names = options["models"].split(",") if options["models"] else None
        models = [n.strip() for n in names or settings.DEMUCS_MODELS if n.strip()]
        reporter = weights.reporter_for(sys.stderr, self.stdout.write)
        self.stdout.write(f"fetching the weights of {', '.join(models)} into {dest}")
        try:
            result = weights.fetch(
                models,
                dest,
                reporter=reporter,
                base_url=options["url"] or settings.DEMUCS_WEIGHTS_URL or None,
            )
        except weights.FetchError as error:
            raise CommandError(str(error)) from error
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted; run it again to continue where it stopped",
                returncode=130,
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"weights ready in {dest}: {len(result.downloaded)} downloaded, "
                f"{len(result.present)} already present"
            )
        )
