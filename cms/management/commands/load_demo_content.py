"""Create the site's pages and the landing-page demo; safe to run again.

    manage.py load_demo_content                 # pages + demo (once)
    manage.py load_demo_content --rerun         # separate the sample song again
    manage.py load_demo_content --song my.mp3 --title "My song" --credit "Me"

The demo talks to the stemworker itself (no RQ worker needed) and waits up to
`--wait` seconds for it to answer; `make run` starts it in the background once
the stemworker is up. Pages that exist are left as editors made them.
"""

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cms import demo, site_content


class Command(BaseCommand):
    help = "Create the home, pricing, terms, privacy and about pages and the demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rerun",
            action="store_true",
            help="Separate the sample song again even if its stems exist.",
        )
        parser.add_argument(
            "--song",
            type=Path,
            help="Replace the sample song with this file (mp3, wav, flac, ogg).",
        )
        parser.add_argument("--title", help="The sample song's title.")
        parser.add_argument("--credit", help="Who made the sample song.")
        parser.add_argument(
            "--pages-only",
            action="store_true",
            help="Create the pages and the original mix, but separate nothing.",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=120.0,
            help="Seconds to wait for the stemworker to answer (default 120).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = site_content.pages_ensure()
        for page in created:
            self.stdout.write(f"created page {page.url_path} ({page.title})")
        song = demo.sample_song_get_or_create()
        rerun = options["rerun"]
        if options["title"]:
            song.title = options["title"]
        if options["credit"] is not None:
            song.credit = options["credit"]
        if options["song"]:
            path: Path = options["song"]
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            with path.open("rb") as handle:
                song.source.save(path.name, File(handle), save=False)
            rerun = True
        song.save()
        site_content.home_sample_song_set(song)
        try:
            if rerun or not song.tracks.filter(stem_set="original").exists():
                demo.sample_song_write_original(song)
                self.stdout.write(f"wrote the original mix of “{song.title}”")
            if options["pages_only"]:
                return
            if rerun or not demo.sample_song_is_complete(song):
                self.stdout.write("separating the sample song (htdemucs, htdemucs_6s)…")
                demo.sample_song_separate(song, wait_seconds=options["wait"])
                self.stdout.write(self.style.SUCCESS("the demo is ready"))
            else:
                self.stdout.write("the demo is already separated (--rerun to redo)")
        except demo.DemoError as error:
            raise CommandError(f"The demo could not be made: {error}") from error
