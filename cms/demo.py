"""The landing-page demo: the sample song, run through the real stemworker.

`load_demo_content` calls these directly (no RQ worker needed): it writes the
original to `SHARED_ROOT/demo/<song id>/` (and on s3 stores it, and every stem,
in the bucket under the same key), asks the stemworker for a two-stem
vocals separation (htdemucs) and a six-stem one (htdemucs_6s), waits for each,
and records every file with its waveform peaks.
"""

import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from django.conf import settings
from django.db import transaction
from django_rq import get_queue

from jobs import budget, storage
from jobs.audio import compute_peaks
from jobs.decoding import AudioTooLong, UnreadableAudio, canonical_decode
from jobs.encoding import FinishedStem, StemUnreadable, stems_finish
from jobs.runner import client
from jobs.stemworker import SeparationRequest, StemworkerUnavailable, models_list
from jobs.store import StoredFileMissing, store

from .models import SampleSong, SampleTrack
from .synth import RATE, sample_song

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 24.0
# What the browser plays as the original: the formats every browser decodes.
SOURCE_EXTENSIONS = ("mp3", "wav", "flac", "ogg")


class DemoError(Exception):
    """The demo could not be (re)made; the message says why."""


@dataclass(frozen=True)
class StemSetSpec:
    stem_set: str
    model: str
    two_stems: str | None


STEM_SETS = (
    StemSetSpec(SampleTrack.Set.TWO_STEMS, "htdemucs", "vocals"),
    StemSetSpec(SampleTrack.Set.SIX_STEMS, "htdemucs_6s", None),
)


def sample_song_get_or_create() -> SampleSong:
    song = SampleSong.objects.order_by("pk").first()
    return song or SampleSong.objects.create()


def sample_song_is_complete(song: SampleSong) -> bool:
    sets = set(song.tracks.values_list("stem_set", flat=True))
    return sets >= {choice.value for choice in SampleTrack.Set}


def sample_song_write_original(song: SampleSong) -> SampleTrack:
    """(Re)write the original mix: the editor's upload, or the song made in code."""
    folder = storage.demo_dir(song.pk) / SampleTrack.Set.ORIGINAL
    _folder_clear(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if song.source:
        extension = Path(song.source.name).suffix.lstrip(".").lower()
        if extension not in SOURCE_EXTENSIONS:
            raise DemoError(
                f"The sample song must be one of {', '.join(SOURCE_EXTENSIONS)} "
                f"so that every browser can play it, not {extension or 'unknown'}."
            )
        target = folder / f"mix.{extension}"
        with song.source.open("rb") as source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
    else:
        target = folder / "mix.mp3"
        sf.write(str(target), sample_song(SAMPLE_SECONDS), RATE, format="MP3")
    try:
        peaks, duration = compute_peaks(target)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise DemoError(f"Could not read {target.name}: {error}") from error
    mix = FinishedStem(name="mix", path=target, duration_seconds=duration, peaks=peaks)
    return _track_save(song, SampleTrack.Set.ORIGINAL, [mix])[0]


def _folder_clear(folder: Path) -> None:
    """Remove a stem set's files, stored and local."""
    store().remove(storage.relative(folder))
    shutil.rmtree(folder, ignore_errors=True)


def _track_save(
    song: SampleSong, stem_set: str, files: list[FinishedStem]
) -> list[SampleTrack]:
    tracks = []
    for file in files:
        key, size = storage.file_keep(file.path)
        tracks.append(
            SampleTrack(
                song=song,
                stem_set=stem_set,
                name=file.name,
                relative_path=key,
                size_bytes=size,
                duration_seconds=file.duration_seconds,
                peaks=file.peaks,
            )
        )
    with transaction.atomic():
        song.tracks.filter(stem_set=stem_set).delete()
        SampleTrack.objects.bulk_create(tracks)
    return tracks


def stemworker_wait(*, timeout: float) -> dict[str, str]:
    """Wait until the stemworker answers; each model it offers, with why it
    cannot run ("" when it can)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return {
                m["name"]: "" if m.get("available", True) else m.get("reason") or "?"
                for m in models_list()
            }
        except StemworkerUnavailable as error:
            if time.monotonic() >= deadline:
                raise DemoError(
                    f"The stemworker at {settings.STEMWORKER_URL} did not answer "
                    f"within {timeout:.0f} s ({error})."
                ) from error
            time.sleep(1)


def sample_song_separate(song: SampleSong, *, wait_seconds: float = 120) -> None:
    """Run the original through both stem sets; marks the song ready or failed."""
    original = song.tracks.filter(stem_set=SampleTrack.Set.ORIGINAL).first()
    if original is None or not store().exists(original.relative_path):
        original = sample_song_write_original(song)
    try:
        offered = stemworker_wait(timeout=wait_seconds)
        for spec in STEM_SETS:  # every model checked before any is run
            if spec.model not in offered:
                raise DemoError(f"The stemworker does not offer {spec.model}.")
            if offered[spec.model]:
                raise DemoError(
                    f"{spec.model} cannot run on the stemworker: {offered[spec.model]}."
                )
        with _original_local(original) as original_file:
            for spec in STEM_SETS:
                _separate_set(song, spec, original_file)
    except DemoError as error:
        song.status, song.error = SampleSong.Status.FAILED, str(error)[:500]
        song.save(update_fields=["status", "error", "updated_at"])
        raise
    song.status, song.error = SampleSong.Status.READY, ""
    song.save(update_fields=["status", "error", "updated_at"])


@contextlib.contextmanager
def _original_local(original: SampleTrack) -> Iterator[Path]:
    """The original mix as a local file (on s3, a copy from the bucket)."""
    with contextlib.ExitStack() as copies:
        try:
            path = copies.enter_context(store().local_copy(original.relative_path))
        except StoredFileMissing as missing:
            raise DemoError("The sample song's original file is missing.") from missing
        yield path


def _canonical_decode(song: SampleSong, original: Path) -> tuple[Path, float]:
    """The stemworker separates only our canonical decode, the demo's too."""
    target = storage.demo_dir(song.pk) / "canonical.wav"
    try:
        decoded = canonical_decode(
            original, target, limit_seconds=settings.MAX_AUDIO_MINUTES * 60.0
        )
    except AudioTooLong as error:
        raise DemoError(
            f"The sample song is longer than MAX_AUDIO_MINUTES "
            f"({settings.MAX_AUDIO_MINUTES})."
        ) from error
    except UnreadableAudio as error:
        raise DemoError(f"The sample song {error.reason}.") from error
    return target, decoded.seconds


def _separate_set(song: SampleSong, spec: StemSetSpec, original: Path) -> None:
    separation_id = f"demo-{song.pk}-{spec.stem_set}-{uuid.uuid4().hex[:8]}"
    logger.info("demo: separating %s with %s", spec.stem_set, spec.model)
    canonical, duration = _canonical_decode(song, original)
    request = SeparationRequest(
        id=separation_id,
        input_path=str(canonical),
        model=spec.model,
        two_stems=spec.two_stems,
        output_format="mp3",
        timeout_seconds=budget.separation_timeout_seconds(
            model=spec.model, duration=duration
        ),
    )
    try:
        client.submit_patiently(
            request, until=time.monotonic() + settings.STEMWORKER_WAIT_SECONDS
        )
        state = client.follow(separation_id)
        folder = storage.demo_dir(song.pk) / spec.stem_set
        _folder_clear(folder)
        stems = sorted(
            (str(s["name"]), Path(s["path"])) for s in state.get("stems", [])
        )
        if not stems:
            raise DemoError(f"{spec.model} wrote no stems.")
        # Encoded and measured as a person's stems are (jobs/encoding.py).
        _track_save(song, spec.stem_set, stems_finish(stems, folder, "mp3"))
    except StemUnreadable as error:
        raise DemoError(f"{spec.model}: {error}") from error
    except client.SeparationFailed as error:
        raise DemoError(f"{spec.model}: {error.message}") from error
    except (client.SeparationLost, client.SeparationCancelled) as error:
        raise DemoError(f"The separation was lost: {error}") from error
    finally:
        client.discard(separation_id)
        canonical.unlink(missing_ok=True)


def _rerun_timeout_seconds() -> int:
    """RQ's limit for a rerun: both stem sets, each waiting and separating."""
    return sum(
        settings.STEMWORKER_WAIT_SECONDS
        + budget.running_budget_seconds(
            model=spec.model,
            duration=budget.longest_admissible_seconds(model=spec.model),
        )
        for spec in STEM_SETS
    )


def sample_song_rerun_enqueue(song: SampleSong) -> None:
    """The admin's "Separate again": marks the song pending and queues the work."""
    SampleSong.objects.filter(pk=song.pk).update(
        status=SampleSong.Status.PENDING, error=""
    )
    transaction.on_commit(
        lambda: get_queue("default").enqueue(
            "cms.tasks.sample_song_rerun_task",
            song.pk,
            job_timeout=_rerun_timeout_seconds(),
            result_ttl=3600,
        )
    )


def sample_song_rerun(*, song_id: int) -> str:
    """Rewrite the original and separate it again; returns the final status."""
    song = SampleSong.objects.get(pk=song_id)
    try:
        sample_song_write_original(song)
        sample_song_separate(song, wait_seconds=300)
    except DemoError as error:
        logger.warning("demo: separating %s failed: %s", song, error)
        song.status, song.error = SampleSong.Status.FAILED, str(error)[:500]
        song.save(update_fields=["status", "error", "updated_at"])
    return song.status
