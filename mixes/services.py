"""Mix rules: what may be mixed, rendering it once, and serving it.

A request is checked against the job (finished, files still kept) and its
stems before anything is queued; the same parameters on the same job give the
same `Mix` (its fingerprint), so a mix is rendered once and every later
request for it is answered at once. Rendering runs on an RQ worker, never in a
web request; mixes cost no credit.
"""

import contextlib
import hashlib
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from jobs import catalog, storage
from jobs.models import Job
from jobs.store import content_type_for, store
from webhooks.models import EventType
from webhooks.services import event_publish

from . import render
from .models import Mix, MixSubmission
from .representation import mix_representation

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

QUEUE = "default"
PROGRESS_EVERY_SECONDS = 0.5
RENDER_FAILED = (
    "This mix could not be rendered. Please try again; if it fails again, "
    "download the stems and mix them in your own software."
)


class InvalidMix(DomainError):
    code = "invalid_mix"


class JobNotFinished(DomainError):
    code = "job_not_finished"
    status_code = 409


class FilesExpired(DomainError):
    code = "files_expired"
    status_code = 410


class MixKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422


@dataclass(frozen=True)
class MixParameters:
    """A mix as asked for, canonical: zero gains dropped, a region that is the
    whole song spelled None, numbers rounded to what can be heard."""

    gains: dict[str, float]
    start: float | None
    end: float | None
    tempo: float
    semitones: int
    output_format: str

    @property
    def fingerprint(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def spec(self) -> render.MixSpec:
        return render.MixSpec(
            gains=self.gains,
            start=self.start,
            end=self.end,
            tempo=self.tempo,
            semitones=self.semitones,
            output_format=self.output_format,
        )


def _stem_names(job: Job) -> list[str]:
    return list(job.stems.values_list("name", flat=True))


def mix_parameters(
    *,
    job: Job,
    gains: dict[str, float] | None = None,
    preset: str = "",
    start: float | None = None,
    end: float | None = None,
    tempo: float = 1.0,
    semitones: int = 0,
    output_format: str | None = None,
) -> MixParameters:
    """Check a request against the job and make it canonical.

    Raises JobNotFinished, FilesExpired, or InvalidMix with every problem in
    words. `preset` (without_vocals, ...) stands for its gains."""
    if job.status != Job.Status.SUCCEEDED:
        raise JobNotFinished("This song is not separated yet: mix it once it is done.")
    if job.expired:
        raise FilesExpired(
            "The stems of this song have expired and were deleted, so it can no "
            "longer be mixed. Upload it again to separate it anew."
        )
    names = _stem_names(job)
    if preset:
        chosen = {key: value for key, _, value in catalog.minus_one_presets(names)}.get(
            preset
        )
        if chosen is None:
            offered = (
                ", ".join(key for key, _, _ in catalog.minus_one_presets(names))
                or "none"
            )
            raise InvalidMix(
                f"Unknown preset {preset!r} for this job; offered: {offered}."
            )
        gains = {**chosen, **(gains or {})}
    gains = {name: float(value) for name, value in (gains or {}).items()}
    duration = job.duration_seconds or 0.0
    parameters = MixParameters(
        gains={name: round(value, 3) for name, value in sorted(gains.items()) if value},
        start=None if start is None or start <= 0 else round(float(start), 3),
        end=None if end is None or end >= duration - 0.001 else round(float(end), 3),
        tempo=round(float(tempo), 3),
        semitones=int(semitones),
        output_format=output_format or job.output_format,
    )
    problems = render.mix_spec_problems(
        render.MixSpec(
            gains=gains,
            start=start,
            end=end,
            tempo=float(tempo),
            semitones=int(semitones),
            output_format=parameters.output_format,
        ),
        names,
        duration,
    )
    if problems:
        raise InvalidMix(" ".join(problems))
    return parameters


def mix_request(
    *,
    user: "User",
    job: Job,
    parameters: MixParameters,
    preset: str = "",
    idempotency_key: str | None = None,
) -> tuple[Mix, bool]:
    """The mix of these parameters: the one already made, or a new one queued.

    Returns (mix, queued now). A failed render asked for again is queued
    again. With `idempotency_key`, a key already used for other parameters
    raises MixKeyReused (422). Atomic; the render is enqueued on commit.
    """
    fingerprint = parameters.fingerprint
    with transaction.atomic():
        if idempotency_key:
            earlier = (
                MixSubmission.objects.select_related("mix")
                .filter(user=user, key=idempotency_key)
                .first()
            )
            if earlier is not None:
                if (
                    earlier.mix.fingerprint != fingerprint
                    or earlier.mix.job_id != job.pk
                ):
                    raise MixKeyReused(
                        "This Idempotency-Key was already used for a different mix. "
                        "Use a new key for a new request."
                    )
                return earlier.mix, False
        mix, created = Mix.objects.get_or_create(
            job=job,
            fingerprint=fingerprint,
            defaults={"parameters": asdict(parameters), "preset": preset},
        )
        queued = created or bool(
            Mix.objects.filter(pk=mix.pk, status=Mix.Status.FAILED).update(
                status=Mix.Status.QUEUED, progress=0, error="", finished_at=None
            )
        )
        if queued:
            mix.refresh_from_db()
            mix_id, limit = str(mix.pk), _render_timeout(job, parameters)
            transaction.on_commit(lambda: _enqueue(mix_id, limit))
        if idempotency_key:
            MixSubmission.objects.create(user=user, key=idempotency_key, mix=mix)
    return mix, queued


def _render_timeout(job: Job, parameters: MixParameters) -> int:
    """Seconds a render may take: a tempo or key change costs about 0.12 s per
    second of audio on two cores (bench/mix.py), a plain mix a tenth of that;
    three times that, for a busy machine."""
    start = parameters.start or 0.0
    end = parameters.end if parameters.end is not None else job.duration_seconds or 0
    stretched = parameters.tempo != 1 or parameters.semitones != 0
    per_second = 0.36 if stretched else 0.06
    return int(120 + max(0.0, end - start) * per_second)


def _enqueue(mix_id: str, timeout: int) -> None:
    django_rq.get_queue(QUEUE).enqueue(
        "mixes.tasks.mix_render_task", mix_id, job_timeout=timeout
    )


class MixNotReady(DomainError):
    code = "not_ready"
    status_code = 404


MIX_NOT_READY = "This mix is not ready yet: its status says how far it is."


def mix_key(mix: Mix) -> str:
    """Where the rendered file is stored, for a download. Raises MixNotReady
    until it is rendered, FilesExpired once the job's files are gone."""
    if mix.job.expired:
        raise FilesExpired("This mix was deleted with the song's stems, which expired.")
    if mix.status != Mix.Status.SUCCEEDED or not mix.relative_path:
        raise MixNotReady(MIX_NOT_READY)
    return mix.relative_path


def mix_render(*, mix_id: str) -> bool:
    """Render a queued mix into its job's outputs folder. True when it succeeded.

    A mix another worker has (or that is gone) is left alone; a render that
    fails is marked failed with a message for people. Never raises for bad
    audio."""
    claimed = Mix.objects.filter(pk=mix_id, status=Mix.Status.QUEUED).update(
        status=Mix.Status.RUNNING, started_at=timezone.now(), progress=0
    )
    if not claimed:
        return False
    mix = Mix.objects.select_related("job").get(pk=mix_id)
    job = mix.job
    parameters = MixParameters(**mix.parameters)
    if job.expired:
        return _fail(mix, "The stems of this song expired before the mix was made.")
    stems = {stem.name: stem.relative_path for stem in job.stems.defer("peaks")}
    files = store()
    key = storage.relative(
        storage.output_dir(job) / "mixes" / f"{mix.pk}.{parameters.output_format}"
    )
    # Rendered in this host's scratch, then stored (on the filesystem, renamed
    # into place: nobody ever sees half a mix).
    scratch = storage.staging_dir() / f"mix-{uuid.uuid4().hex}"
    partial = scratch / Path(key).name
    try:
        scratch.mkdir(parents=True)
        with contextlib.ExitStack() as copies:
            local = {
                name: copies.enter_context(files.local_copy(stems[name]))
                for name in parameters.gains
            }
            result = render.mix_render(
                local, parameters.spec(), partial, progress=_progress_writer(mix)
            )
        size = partial.stat().st_size
        files.keep(key, partial, content_type=content_type_for(key))
    except Exception:
        logger.exception("mix %s of job %s failed", mix.pk, job.pk)
        return _fail(mix, RENDER_FAILED)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    done = Mix.objects.filter(pk=mix.pk, status=Mix.Status.RUNNING).update(
        status=Mix.Status.SUCCEEDED,
        progress=100,
        relative_path=key,
        size_bytes=size,
        duration_seconds=result.duration,
        finished_at=timezone.now(),
    )
    if not done:  # the job (and the mix with it) went meanwhile
        files.remove(key)
        return False
    _publish_ready(mix)
    return True


def _publish_ready(mix: Mix) -> None:
    """`mix.succeeded` to the owner's endpoints (and the job's webhook_url)."""
    mix.refresh_from_db()
    job = mix.job
    event_publish(
        user_id=job.user_id,
        subject_id=mix.pk,
        event_type=EventType.MIX_SUCCEEDED,
        callback_url=job.webhook_url,
        render=lambda: mix_representation(mix, base_url=settings.SITE_URL),
    )


def _progress_writer(mix: Mix) -> Callable[[float], None]:
    last = [0.0]

    def write(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = now
        value = max(0, min(99, int(fraction * 100)))
        Mix.objects.filter(
            pk=mix.pk, status=Mix.Status.RUNNING, progress__lt=value
        ).update(progress=value)

    return write


def _fail(mix: Mix, message: str) -> bool:
    Mix.objects.filter(pk=mix.pk, status=Mix.Status.RUNNING).update(
        status=Mix.Status.FAILED, error=message, finished_at=timezone.now()
    )
    return False


def mix_filename(mix: Mix) -> str:
    """`<song> - without vocals.mp3`, `<song> - mix, 0.8x, -2 st.mp3`."""
    parameters = MixParameters(**mix.parameters)
    label = mix.preset.replace("_", " ") if mix.preset else "mix"
    details = []
    if parameters.tempo != 1:
        details.append(f"{parameters.tempo:g}x")
    if parameters.semitones:
        details.append(f"{parameters.semitones:+d} st")
    if parameters.start is not None or parameters.end is not None:
        details.append("excerpt")
    name = ", ".join([label, *details])
    return f"{mix.job.title} - {name}.{parameters.output_format}"


def mixes_reap(*, older_than_seconds: int = 3600) -> int:
    """Fail renders whose worker died (cron); returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return Mix.objects.filter(status=Mix.Status.RUNNING, started_at__lt=cutoff).update(
        status=Mix.Status.FAILED, error=RENDER_FAILED, finished_at=timezone.now()
    )
