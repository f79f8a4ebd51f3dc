"""Followed messages: the job that keeps them current and ends them.

A followed message is updated in place (``chat.update``, blocks always resent) when what it
shows changes, at most once per interval, and ends with one thread reply mentioning its
followers: the change is live in the last environment, a stage failed, or following timed out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ChangeNotFound, ShiptraceError
from bot.follow.store import Ending, Follow, FollowState, follow_ending
from bot.model import Trace
from bot.timefmt import format_time
from handlers.answers import message_fingerprint, shared_message, timeline_url, trace_for
from handlers.deps import FollowDeps, TraceDeps
from handlers.posted import find_posted

log = logging.getLogger(__name__)

ENDED_EVENT = "shiptrace_follow_ended"
# The message is gone or the bot may no longer touch it: following it has no point.
MESSAGE_GONE = {"message_not_found", "channel_not_found", "is_archived", "not_in_channel"}


class FollowJob:
    """One run re-traces every followed change and updates or ends its message."""

    def __init__(
        self, tracing: TraceDeps, deps: FollowDeps, client: AsyncWebClient, concurrency: int = 4
    ) -> None:
        self.tracing = tracing
        self.deps = deps
        self.client = client
        self._limit = asyncio.Semaphore(concurrency)

    async def run(self) -> None:
        follows = self.deps.follows
        # Endings decided before a restart: their reply may already be in the thread.
        for record in follows.in_state(FollowState.ENDING):
            await self._one(record, ending=True)
        await asyncio.gather(*(self._one(r) for r in follows.in_state(FollowState.ACTIVE)))

    async def _one(self, record: Follow, ending: bool = False) -> None:
        async with self._limit:
            try:
                if ending:
                    await self._finish(record, check_thread=True)
                else:
                    await self._update(record)
            except SlackApiError as exc:
                # Rate limits were already retried by the client; the next run tries again.
                log.warning(
                    "follow %s: Slack refused a call (%s); trying again next run",
                    record.ref,
                    exc.response.get("error"),
                )

    async def _update(self, record: Follow) -> None:
        deps = self.deps
        now = deps.clock()
        trace: Trace | None = None
        ending: Ending | None
        try:
            trace = await trace_for(self.tracing, record.ref, record.channel)
        except ChangeNotFound as exc:
            ending = Ending(f"can no longer be found ({exc.message})", "gone")
        except ShiptraceError as exc:
            # GitHub down, a refused repo after a config change...: keep the last answer.
            log.warning("follow %s: cannot trace it now: %s", record.ref, exc.message)
            if now - record.started_at < deps.longest:
                return
            ending = Ending("could not be traced; stopped following", "timeout")
        else:
            ending = follow_ending(trace, record.started_at, now, deps.longest)
        # A click (Stop following, Follow) may have changed the follow while we traced.
        current = deps.follows.get(record.channel, record.ts)
        if current is None or current.state is not FollowState.ACTIVE:
            return
        record = current
        link = timeline_url(self.tracing, record.channel, trace) if trace is not None else None
        if ending is None:
            assert trace is not None
            message = shared_message(trace, record, None, interval=deps.interval, timeline_url=link)
            fingerprint = message_fingerprint(message)
            recent = record.updated_at is not None and now - record.updated_at < (
                deps.interval * 0.9  # a Refresh click may have just redrawn it
            )
            if fingerprint == record.digest or recent:
                return
            if await self._redraw(record, message.kwargs()):
                deps.follows.updated(record, fingerprint, now)
            return
        if not deps.follows.ending(record, ending.reason):
            return  # no longer active: someone stopped following it meanwhile
        ended = deps.follows.get(record.channel, record.ts)
        assert ended is not None
        if trace is not None and not await self._redraw(
            ended,
            shared_message(trace, ended, None, interval=deps.interval, timeline_url=link).kwargs(),
        ):
            return
        await self._finish(ended, check_thread=False)

    async def _redraw(self, record: Follow, content: dict[str, Any]) -> bool:
        """Update the followed message; False when it is gone (then following ends quietly)."""
        try:
            await self.client.chat_update(channel=record.channel, ts=record.ts, **content)
        except SlackApiError as exc:
            if exc.response.get("error") not in MESSAGE_GONE:
                raise
            log.info("follow %s: its message is gone; stopped following", record.ref)
            self.deps.follows.ended(record, self.deps.clock())
            return False
        return True

    async def _finish(self, record: Follow, check_thread: bool) -> None:
        """Post the one final thread reply, unless a run before a restart already did."""
        key = {"follow": record.id, "started_at": format_time(record.started_at)}
        if check_thread:
            existing = await self._posted_reply(record, key)
            if existing is not None:
                self.deps.follows.ended(record, self.deps.clock(), existing)
                return
        people = " ".join(f"<@{u}>" for u in record.followers)
        text = f"{people} {record.ref} {record.end_reason}.".strip()
        try:
            posted = await self.client.chat_postMessage(
                channel=record.channel,
                thread_ts=record.ts,
                text=text,
                metadata={"event_type": ENDED_EVENT, "event_payload": key},
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in MESSAGE_GONE:
                raise  # stays ``ending``: the next run tries again
            self.deps.follows.ended(record, self.deps.clock())
            return
        self.deps.follows.ended(record, self.deps.clock(), str(posted["ts"]))

    async def _posted_reply(self, record: Follow, key: dict[str, Any]) -> str | None:
        found = await find_posted(
            self.client, record.channel, ENDED_EVENT, lambda p: p == key, thread_ts=record.ts
        )
        return found[0] if found else None
