"""What people see of a job: its rows, its state in words, and the players.

The JSON shape of a job (the API's, the polling's, the webhooks') is
jobs.representation's.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.urls import reverse

from jobs import catalog, estimates, selectors
from jobs.models import Job
from jobs.representation import StemsByJob, Times

STEM_LABELS = {"other": "Other", "no_vocals": "Everything else"}


def stem_label(name: str) -> str:
    """ "no_drums" -> "Everything but drums", "vocals" -> "Vocals"."""
    if name in STEM_LABELS:
        return STEM_LABELS[name]
    if name.startswith("no_"):
        return f"Everything but {name[3:].replace('_', ' ')}"
    return name.replace("_", " ").capitalize()


def duration_label(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


KEY_STEPS = [
    (
        step,
        "Original key"
        if step == 0
        else f"{step:+d} semitone{'s' if abs(step) > 1 else ''}",
    )
    for step in range(6, -7, -1)
]


def player_context(
    *,
    player_id: str,
    label: str,
    stems: list[dict[str, Any]],
    duration: float,
    disabled: bool = False,
    downloads: bool = False,
    full_mix: bool = False,
    mixes_url: str = "",
    presets: list[tuple[str, str, list[str]]] | None = None,
) -> dict[str, Any]:
    """What templates/includes/player.html and static/js/player.js need;
    `full_mix` adds the A/B row: every stem at full volume, as the song was.
    Every player has a tempo control and an A/B loop; with `mixes_url` (the
    API's mixes of a job) also a key control and "Download this mix", which
    render on the server. `presets`: (preset, label, stems kept) minus-one
    buttons: heard at once (the others muted), and with `mixes_url` also
    rendered as a file in one click."""
    return {
        "full_mix": full_mix,
        "mixes_url": mixes_url,
        "key_steps": KEY_STEPS,
        "presets": presets or [],
        "id": player_id,
        "data_id": f"{player_id}-data",
        "label": label,
        "duration": duration,
        "duration_label": duration_label(duration),
        "disabled": disabled,
        "downloads": downloads,
        "stems": stems,
        "data": {
            "duration": duration,
            "stems": [{"name": s["name"], "peaks": s["peaks"]} for s in stems],
        },
    }


def job_player(job: Job) -> dict[str, Any]:
    """The job page's player: every stem, grayed out once the stems expired."""
    stems = sorted(job.stems.all(), key=lambda stem: catalog.stem_sort_key(stem.name))
    durations = [s.duration_seconds for s in stems if s.duration_seconds]
    duration = max(durations) if durations else (job.duration_seconds or 0.0)
    return player_context(
        player_id=f"job-{job.pk}",
        label=f"Stems of {job.original_filename}",
        duration=duration,
        disabled=not job.downloadable,
        downloads=True,
        # We keep no original: the stems together, untouched, are the song.
        full_mix=len(stems) > 1,
        mixes_url=reverse("api-job-mixes", args=[job.pk]) if job.downloadable else "",
        presets=[
            (preset, label, list(gains))
            for preset, label, gains in catalog.minus_one_presets(
                [s.name for s in stems]
            )
        ],
        stems=[
            {
                "name": stem.name,
                "label": stem_label(stem.name),
                "url": reverse("jobs:stem", args=[job.pk, stem.name]) + "?inline=1",
                "download_url": reverse("jobs:stem", args=[job.pk, stem.name]),
                "size": stem.size_bytes,
                "peaks": stem.peaks,
            }
            for stem in stems
        ],
    )


STAGES = [
    ("waiting", "Waiting"),
    ("separating", "Separating"),
    ("encoding", "Encoding"),
    ("ready", "Ready"),
]


def ordinal(number: int) -> str:
    """1 -> "1st", 12 -> "12th", 23 -> "23rd"."""
    if 11 <= number % 100 <= 13:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def about(seconds: float) -> str:
    """A wait in a person's words: "less than a minute", "about 3 min",
    "about 2 h"."""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {round(minutes / 60)} h"


def job_state_text(
    job: Job, estimate: estimates.Estimate | None, *, now: datetime
) -> str:
    """Where an active job stands, as its page and the job list say it
    (static/js/job-state.js says the same from the API's fields)."""
    if job.stage == "waiting":
        if estimate is None or estimate.queue_position is None:
            return "Waiting for a free slot."
        place = (
            "Next in line"
            if estimate.queue_position == 1
            else f"{ordinal(estimate.queue_position)} in line"
        )
        if estimate.start is not None and estimate.finish is not None:
            starts = (estimate.start - now).total_seconds()
            ready = (estimate.finish - now).total_seconds()
            start_text = "starts in " + about(starts) if starts >= 30 else "starts soon"
            return f"{place}, {start_text}; stems ready in {about(ready)}."
        return f"{place}."
    if job.stage == "separating":
        text = f"Separating: {job.progress}%"
        if estimate is not None and estimate.finish is not None:
            text += f", {about((estimate.finish - now).total_seconds())} left"
        return text + "."
    if job.stage == "encoding":
        return "Encoding the stems: almost ready."
    return ""


def model_label(name: str) -> str:
    """ "Four stems, fast (htdemucs)": for musicians first, engineers second."""
    model = catalog.model_get(name)
    description = model.get("description") if model else ""
    return f"{description} ({name})" if description else name


def _stems_label(job: Job, stems: Sequence[str]) -> str:
    if job.two_stems:
        return f"{stem_label(job.two_stems)} + everything else"
    if not stems:
        model = catalog.model_get(job.model)
        stems = sorted(model["stems"], key=catalog.stem_sort_key) if model else []
    return ", ".join(stem_label(name).lower() for name in stems).capitalize()


def expires_label(job: Job, *, now: datetime) -> str:
    """ "Expires in 23 h", "Expires in 40 min", "Expired: ..."."""
    if job.expired:
        return "Expired: stems deleted after 24 hours"
    if job.expires_at is None:
        return ""
    left = (job.expires_at - now).total_seconds()
    if left >= 3600:
        return f"Expires in {int(left // 3600)} h"
    return f"Expires in {max(1, int(left // 60))} min"


def job_rows(
    jobs: Sequence[Job],
    *,
    now: datetime,
    stems: StemsByJob | None = None,
    times: Times | None = None,
) -> list[dict[str, Any]]:
    """What each row of the job list shows (templates jobs/_job_row*.html);
    `stems` and `times` as for jobs_representation."""
    names = selectors.stems_by_job(jobs) if stems is None else stems
    if times is None:
        times = estimates.estimates(jobs, now=now)
    rows = []
    for job in jobs:
        estimate = times.get(str(job.pk))
        rows.append(
            {
                "job": job,
                "model_label": model_label(job.model),
                "stems_label": _stems_label(job, [n for n, _ in names.get(job.pk, ())]),
                "length": duration_label(job.duration_seconds)
                if job.duration_seconds
                else "",
                "state_text": job_state_text(job, estimate, now=now)
                if job.is_active
                else "",
                "expires": expires_label(job, now=now)
                if job.status == Job.Status.SUCCEEDED
                else "",
            }
        )
    return rows
