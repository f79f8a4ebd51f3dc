"""Shared Slack text pieces."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.render.mrkdwn import date_token


def test_a_date_token_falls_back_to_utc_whatever_the_zone() -> None:
    berlin = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert date_token(berlin) == (
        "<!date^1795770000^{date_short_pretty} {time}|2026-11-27 09:00 UTC>"
    )
