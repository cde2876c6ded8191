"""Where each queued job stands in line, and when each active job should start
and finish: what the job page says ("2nd in line, about 3 min") and what the
API's `queue_position`, `estimated_start` and `estimated_finish` hold.

The line is the dispatcher's own order (selectors.fairest_queued) played
forward: the fairest job takes the first slot to free, its owner then has one
more running job and was served last, and the next pick follows from that, as
the dispatcher's will. A running job frees its slot when its remaining time is
up; the time a job takes is what this server took per second of audio for its
model on recent jobs, or the budget's CPU estimate before there are any.

It is an estimate: a person who uploads meanwhile may take a place ahead (the
order is fair, not first come), and it says so on the page.
"""

import heapq
import logging
import statistics
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from . import budget, stemworker
from .models import Job

logger = logging.getLogger(__name__)

SLOTS_CACHE_KEY = "jobs:slots"
SLOTS_CACHE_SECONDS = 60
SPEED_CACHE_KEY = "jobs:seconds-per-audio-second"
SPEED_CACHE_SECONDS = 60
# Recent successes per model that set its speed; the median resists outliers.
SPEED_SAMPLE = 20
# Past this many queued jobs (the oldest first) the line is not played forward:
# jobs behind them get no estimate.
SIMULATED_AT_MOST = 2000


@dataclass(frozen=True)
class Estimate:
    queue_position: int | None  # 1: next to start; None once started
    start: datetime | None  # None once started
    finish: datetime | None


def slots() -> int:
    """How many separations run at once here (the stemworker's own count,
    cached; while it cannot be asked, one)."""
    count = cache.get(SLOTS_CACHE_KEY)
    if count is None:
        try:
            count = max(1, stemworker.slots_count())
        except stemworker.StemworkerUnavailable:
            logger.info("stemworker unreachable; estimating with one slot")
            return 1
        cache.set(SLOTS_CACHE_KEY, count, SLOTS_CACHE_SECONDS)
    return int(count)


def _measured_speeds() -> dict[str, float]:
    """Seconds from start to finish per second of audio, by model, over each
    model's most recent successes."""
    speeds = cache.get(SPEED_CACHE_KEY)
    if speeds is not None:
        return dict(speeds)
    rows = (
        Job.objects.filter(
            status=Job.Status.SUCCEEDED,
            started_at__isnull=False,
            finished_at__isnull=False,
            duration_seconds__gt=0,
        )
        .order_by("-finished_at")
        .values_list("model", "started_at", "finished_at", "duration_seconds")[
            : SPEED_SAMPLE * 10
        ]
    )
    samples: dict[str, list[float]] = defaultdict(list)
    for model, started, finished, duration in rows:
        if started and finished and duration and len(samples[model]) < SPEED_SAMPLE:
            samples[model].append((finished - started).total_seconds() / duration)
    speeds = {model: statistics.median(values) for model, values in samples.items()}
    cache.set(SPEED_CACHE_KEY, speeds, SPEED_CACHE_SECONDS)
    return speeds


def _seconds_for(job: Job, speeds: dict[str, float]) -> float:
    duration = job.duration_seconds or budget.DEFAULT_DURATION_SECONDS
    speed = speeds.get(job.model)
    if speed is None:
        return budget.estimate_seconds(model=job.model, duration=duration)
    return max(1.0, speed * duration)


def _remaining_seconds(job: Job, now: datetime, speeds: dict[str, float]) -> float:
    """What is left of a running job: from its own progress once it has some,
    else the expected time less what has passed (never quite nothing)."""
    expected = _seconds_for(job, speeds)
    elapsed = (now - (job.started_at or now)).total_seconds()
    if job.separated_at is None and 5 <= job.progress < 99 and elapsed > 0:
        expected = max(expected * 0.5, elapsed / (job.progress / 100))
    return max(expected - elapsed, 0.05 * expected, 1.0)


def estimates(
    jobs: Iterable[Job], *, now: datetime | None = None
) -> dict[str, Estimate]:
    """An Estimate for each active job of `jobs`, by job id (as text)."""
    wanted = {str(job.pk) for job in jobs if job.is_active}
    if not wanted:
        return {}
    now = now or timezone.now()
    speeds = _measured_speeds()
    fields = (
        "id",
        "user_id",
        "model",
        "duration_seconds",
        "progress",
        "created_at",
        "started_at",
        "separated_at",
        "status",
    )
    running = list(Job.objects.filter(status=Job.Status.RUNNING).only(*fields))
    queued = list(
        Job.objects.filter(status=Job.Status.QUEUED)
        .only(*fields)
        .order_by("created_at")[:SIMULATED_AT_MOST]
    )
    result: dict[str, Estimate] = {}
    ends: list[tuple[float, int]] = []  # (end, user) of the jobs holding slots
    user_running: dict[int, int] = defaultdict(int)
    for job in running:
        left = _remaining_seconds(job, now, speeds)
        heapq.heappush(ends, (left, job.user_id))
        user_running[job.user_id] += 1
        if str(job.pk) in wanted:
            result[str(job.pk)] = Estimate(None, None, now + timedelta(seconds=left))
    # When each slot frees, in seconds from now.
    free_at = [0.0] * max(0, slots() - len(ends)) + [end for end, _ in ends]
    heapq.heapify(free_at)
    user_ids = {job.user_id for job in queued}
    last_start: dict[int, float] = {
        user: (started - now).total_seconds()
        for user, started in Job.objects.filter(
            user_id__in=user_ids, started_at__isnull=False
        )
        .values("user_id")
        .annotate(last=Max("started_at"))
        .values_list("user_id", "last")
    }
    # A person's fairest job is always their oldest queued one: the pick is
    # among each person's first in line.
    lines: dict[int, deque[Job]] = defaultdict(deque)
    for job in queued:
        lines[job.user_id].append(job)
    left_to_place = wanted - set(result)
    position = 0
    while lines and left_to_place:
        at = heapq.heappop(free_at)
        while ends and ends[0][0] <= at:  # jobs done by then free their owner
            user_running[heapq.heappop(ends)[1]] -= 1
        user = min(
            lines,
            key=lambda u: (
                user_running[u],
                last_start.get(u, float("-inf")),
                lines[u][0].created_at,
            ),
        )
        job = lines[user].popleft()
        if not lines[user]:
            del lines[user]
        position += 1
        took = _seconds_for(job, speeds)
        heapq.heappush(free_at, at + took)
        heapq.heappush(ends, (at + took, user))
        user_running[user] += 1
        last_start[user] = at
        if str(job.pk) in left_to_place:
            left_to_place.discard(str(job.pk))
            result[str(job.pk)] = Estimate(
                position,
                now + timedelta(seconds=at),
                now + timedelta(seconds=at + took),
            )
    return result
