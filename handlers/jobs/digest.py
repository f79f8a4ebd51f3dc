"""The daily digest in Slack: posted once per channel per window, across restarts.

The window runs from the previous digest of the channel (else 24 h) to the scheduled time.
Before posting, the intent is recorded; after a crash, the channel's newest messages are
searched for the digest's metadata (channel + window end) before posting it again. A run
missed while the bot was down is posted late, marked so, within ``late_grace_hours``;
an older one is skipped with a log line. A digest that cannot be built (GitHub could not be
read at all) stays pending and is retried by the catch-up within the grace; after it, a short
"could not be built: <why>" note is posted instead, once (its intent recorded the same way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import DigestConfig
from bot.digest.gather import DigestBuilder
from bot.digest.records import Digest
from bot.digest.store import Deliveries, PendingDigest
from bot.render.digest import (
    DIGEST_EVENT,
    NOTE_EVENT,
    digest_message,
    digest_metadata,
    note_message,
    note_metadata,
)
from bot.scheduler import CronJob, digest_trigger, last_fire
from bot.timefmt import Clock
from handlers.deps import TimelineLink, no_timeline
from handlers.posted import find_posted

log = logging.getLogger(__name__)

# A run this much after its time is still "on time" (the scheduler's own delay).
ON_TIME = timedelta(minutes=5)


class DigestJob:
    def __init__(
        self,
        client: AsyncWebClient,
        builder: DigestBuilder,
        deliveries: Deliveries,
        channels: list[str],
        config: DigestConfig,
        clock: Clock,
        timeline: TimelineLink = no_timeline,
    ) -> None:
        self.client = client
        self.timeline = timeline
        self.builder = builder
        self.deliveries = deliveries
        self.channels = channels
        self.config = config
        self.clock = clock
        self.trigger: CronTrigger = digest_trigger(config.at, config.timezone, config.days)
        # The cron run and the catch-up must not post the same window side by side.
        self._lock = asyncio.Lock()

    def cron_jobs(self) -> list[CronJob]:
        return [
            CronJob(f"digest-{channel}", self._for(channel), self.trigger)
            for channel in self.channels
        ]

    def _for(self, channel: str) -> Any:
        async def run() -> None:
            await self.run(channel)

        return run

    async def run(self, channel: str) -> None:
        """The scheduled run: the digest for the latest scheduled time, unless already posted."""
        async with self._lock:
            now = self.clock()
            end = last_fire(self.trigger, now)
            if end is None:
                return
            await self.post(channel, end, late=now - end > ON_TIME)

    async def catch_up(self) -> None:
        """Finish digests left half-done and post a missed one, within the grace. Run at start
        and every few minutes (a run missed while no replica led, a post Slack refused)."""
        async with self._lock:
            await self._catch_up()

    async def _catch_up(self) -> None:
        now = self.clock()
        grace = timedelta(hours=self.config.late_grace_hours)
        for note in self.deliveries.pending_notes():  # a crash between intent and post
            await self._guarded(note.channel, self._post_note(note))
        for pending in self.deliveries.pending_digests():
            channel, pending_end = pending.channel, pending.end
            newer = self.deliveries.last_digest_end(channel)
            if newer is not None and newer >= pending_end:
                log.info(
                    "digest for %s due at %s is covered by a newer one; skipped",
                    channel,
                    pending_end,
                )
                self.deliveries.digest_skipped(channel, pending_end)
                continue
            if now - pending_end > grace:
                if pending.unbuilt is not None:  # tried until now: say so, once
                    self.deliveries.note_intent(channel, pending_end)  # before posting
                    await self._guarded(channel, self._post_note(pending))
                    continue
                log.info("digest for %s due at %s is too late now; skipped", channel, pending_end)
                self.deliveries.digest_skipped(channel, pending_end)
                continue
            late = pending.late or now - pending_end > ON_TIME
            await self._guarded(
                channel, self._post_window(channel, pending.start, pending_end, late)
            )
        end = last_fire(self.trigger, now)
        if end is None:
            return
        for channel in self.channels:
            if self.deliveries.digest_state(channel, end) is not None:
                continue
            last = self.deliveries.last_digest_end(channel)
            if last is not None and last >= end:
                continue
            if now - end > grace:
                log.info(
                    "digest for %s due at %s was missed while the bot was down; skipped "
                    "(more than %s h late)",
                    channel,
                    end.isoformat(),
                    self.config.late_grace_hours,
                )
                continue
            await self._guarded(channel, self.post(channel, end, late=now - end > ON_TIME))

    async def _guarded(self, channel: str, posting: Awaitable[None]) -> None:
        """One channel's failure (e.g. the bot was removed) must not hold up the others."""
        try:
            await posting
        except Exception:
            log.warning(
                "digest for %s failed; retrying at the next catch-up", channel, exc_info=True
            )

    async def post(self, channel: str, end: datetime, *, late: bool) -> None:
        state = self.deliveries.digest_state(channel, end)
        if state is not None and state[0] != "intent":  # posted, skipped, or noted instead
            return
        start = self.deliveries.window_start(channel, end)
        self.deliveries.digest_intent(channel, start, end, late)  # before posting
        await self._post_window(channel, start, end, late)

    async def _post_window(self, channel: str, start: datetime, end: datetime, late: bool) -> None:
        found = await self._posted(channel, end)
        if found is not None:
            log.info("digest for %s (%s) was posted before a restart", channel, end.isoformat())
            self.deliveries.digest_posted(channel, end, found, self.clock())
            return
        digest = await self.builder.build(channel, start, end, late=late)
        why = digest.unreadable
        if why is not None:  # nothing to post but a guess: left pending, for the catch-up
            self.deliveries.digest_unbuilt(channel, end, why)
            deadline = end + timedelta(hours=self.config.late_grace_hours)
            log.warning(
                "digest for %s (%s) could not be built (%s); retrying until %s, then a note "
                "says so",
                channel,
                end.isoformat(),
                why,
                deadline.isoformat(),
            )
            return
        await self.send(channel, digest, end, posted=self.record_posted)

    async def _post_note(self, pending: PendingDigest) -> None:
        """The "could not be built" note, once: looked for after a crash, as digests are."""
        channel, end = pending.channel, pending.end
        wanted = note_metadata(channel, end)
        found = await find_posted(
            self.client, channel, NOTE_EVENT, lambda p: p == wanted["event_payload"]
        )
        if found is not None:
            self.deliveries.note_posted(channel, end, found[0], self.clock())
            return
        message = note_message(pending.start, end, pending.unbuilt or "unknown reason")
        answer = await self.client.chat_postMessage(
            channel=channel, metadata=wanted, **message.kwargs()
        )
        self.deliveries.note_posted(channel, end, str(answer["ts"]), self.clock())
        log.info("digest for %s (%s) could not be built; note posted", channel, end.isoformat())

    def record_posted(self, channel: str, end: datetime, ts: str) -> None:
        self.deliveries.digest_posted(channel, end, ts, self.clock())

    async def send(
        self,
        channel: str,
        digest: Digest,
        end: datetime,
        posted: Callable[[str, datetime, str], None] | None = None,
    ) -> str:
        """Post the digest (then ``posted`` records it at once), then its chart, best effort."""
        message = digest_message(digest, partial(self.timeline, channel))
        answer = await self.client.chat_postMessage(
            channel=channel, metadata=digest_metadata(channel, end), **message.kwargs()
        )
        ts = str(answer["ts"])
        if posted is not None:
            posted(channel, end, ts)
        lead_times = digest.window.lead_times
        if len(lead_times) >= self.config.chart_min_changes:
            try:
                from bot.render.chart import lead_time_chart  # matplotlib: only when drawn

                await self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=ts,
                    file=lead_time_chart(lead_times, "Lead time per change (merge → live)"),
                    filename=f"lead-times-{end:%Y-%m-%d}.png",
                    title="Lead time per change",
                    initial_comment="Lead time per change (merge → live in the last environment)",
                )
            except Exception:  # the digest itself is out; the chart is a bonus
                log.warning("digest chart for %s not drawn or not uploaded", channel, exc_info=True)
        return ts

    async def _posted(self, channel: str, end: datetime) -> str | None:
        wanted = digest_metadata(channel, end)["event_payload"]
        found = await find_posted(self.client, channel, DIGEST_EVENT, lambda p: p == wanted)
        return found[0] if found else None
