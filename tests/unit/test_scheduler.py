"""The scheduled jobs: one run at a time, missed runs merged, a failing run logged not fatal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.scheduler import IntervalJob, build_scheduler, digest_trigger, last_fire


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


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 08:00 Berlin: before the day's run, so Friday's.
        (datetime(2026, 11, 30, 7, 0, tzinfo=UTC), datetime(2026, 11, 27, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
    ],
)
def test_last_fire_on_weekdays(now: datetime, expected: datetime) -> None:
    trigger = digest_trigger("09:00", "Europe/Berlin", "mon-fri")
    assert last_fire(trigger, now) == expected


def test_a_wall_time_that_repeats_when_clocks_go_back_is_one_run() -> None:
    # 2026-10-25 in Berlin: 02:30 happens at 00:30Z and again at 01:30Z.
    trigger = digest_trigger("02:30", "Europe/Berlin", "*")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert last_fire(trigger, datetime(2026, 10, 25, 1, 45, tzinfo=UTC)) == first
    later = last_fire(trigger, datetime(2026, 10, 27, 12, 0, tzinfo=UTC))
    assert later == datetime(2026, 10, 27, 1, 30, tzinfo=UTC)
