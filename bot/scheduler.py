"""The bot's periodic jobs, run by APScheduler on the bot's event loop.

Each run gets a request id of its own (``drift-3f2c1ab9e0d4``) that every line it logs
carries; APScheduler's own notes at each run stay out of the logs (``bot.observe.logging``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.observe.logging import new_request_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntervalJob:
    name: str
    run: Callable[[], Awaitable[None]]
    seconds: float


@dataclass(frozen=True)
class CronJob:
    """A job at a time of day, e.g. the digest at 09:00 Europe/Berlin on weekdays."""

    name: str
    run: Callable[[], Awaitable[None]]
    trigger: CronTrigger


@dataclass(frozen=True)
class StartJob:
    """A job run once, as soon as the scheduler starts (catching up after a restart)."""

    name: str
    run: Callable[[], Awaitable[None]]


Job = IntervalJob | CronJob | StartJob


def digest_trigger(at: str, timezone: str, days: str) -> CronTrigger:
    hour, minute = at.split(":")
    return CronTrigger(
        day_of_week=days, hour=int(hour), minute=int(minute), timezone=ZoneInfo(timezone)
    )


def last_fire(
    trigger: CronTrigger, now: datetime, horizon: timedelta = timedelta(days=8)
) -> datetime | None:
    """The latest time ``trigger`` fired at or before ``now`` (within ``horizon``).

    A wall time that repeats when clocks go back fires twice; the repeat counts as the same
    run (one digest). Steps are taken in UTC: local arithmetic across the repeat goes back.
    """
    fire = trigger.get_next_fire_time(None, now - horizon)
    last: datetime | None = None
    while fire is not None and fire <= now:
        if last is None or fire.replace(tzinfo=None) != last.replace(tzinfo=None):
            last = fire
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    # In UTC: an aware time in the repeated hour never compares equal across zones.
    return last.astimezone(UTC) if last is not None else None


def build_scheduler(jobs: Sequence[Job]) -> AsyncIOScheduler:
    """A scheduler (not yet started) running each job every ``seconds`` or on its cron.

    One run of a job at a time (``max_instances=1``), and runs missed while one was slow are
    merged into one (``coalesce``): a slow Slack or cluster never piles up work.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        trigger: IntervalTrigger | CronTrigger | DateTrigger
        if isinstance(job, StartJob):
            trigger, grace = DateTrigger(), 3600
        elif isinstance(job, CronJob):
            trigger = job.trigger
            grace = 3600  # a digest late by minutes (a slow loop) is still today's
        else:
            trigger = IntervalTrigger(seconds=job.seconds)
            grace = max(1, int(job.seconds))
        scheduler.add_job(
            _logged(job),
            trigger,
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
        )
    return scheduler


def _logged(job: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        new_request_id(job.name)  # APScheduler runs each job in a task: the id is this run's
        started = time.monotonic()
        try:
            await job.run()
        except Exception:
            # A failing run must not stop the schedule; the next run tries again.
            log.exception("scheduled job %s failed", job.name)
        else:
            log.debug("job %s ran in %.2f s", job.name, time.monotonic() - started)

    return run
