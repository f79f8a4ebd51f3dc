"""The scheduled jobs: one run at a time, missed runs merged, a failing run logged not fatal."""

from __future__ import annotations

import pytest

from bot.scheduler import IntervalJob, build_scheduler


async def test_jobs_run_one_at_a_time_and_coalesce() -> None:
    async def noop() -> None:
        return None

    scheduler = build_scheduler([IntervalJob("follow", noop, 60)])
    [job] = scheduler.get_jobs()
    assert (job.id, job.max_instances, job.coalesce) == ("follow", 1, True)
    assert job.trigger.interval.total_seconds() == 60


async def test_a_failing_run_is_logged_and_the_schedule_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom() -> None:
        raise RuntimeError("cluster gone")

    scheduler = build_scheduler([IntervalJob("follow", boom, 60)])
    [job] = scheduler.get_jobs()
    await job.func()  # what the scheduler calls
    assert "scheduled job follow failed" in caplog.text
