"""The bot's periodic jobs, run by APScheduler on the bot's event loop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntervalJob:
    name: str
    run: Callable[[], Awaitable[None]]
    seconds: float


def build_scheduler(jobs: list[IntervalJob]) -> AsyncIOScheduler:
    """A scheduler (not yet started) running each job every ``seconds``.

    One run of a job at a time (``max_instances=1``), and runs missed while one was slow are
    merged into one (``coalesce``): a slow Slack or cluster never piles up work.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            _logged(job),
            IntervalTrigger(seconds=job.seconds),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(job.seconds)),
        )
    return scheduler


def _logged(job: IntervalJob) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job.run()
        except Exception:
            # A failing run must not stop the schedule; the next run tries again.
            log.exception("scheduled job %s failed", job.name)

    return run
