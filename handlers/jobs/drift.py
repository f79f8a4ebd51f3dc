"""Drift incident threads: the scan job that opens, updates and resolves them in Slack.

Each incident is one parent message in the environment's alert channel, with thread replies
for material changes and a final "reconciled" reply. The parent carries message metadata
naming the incident: an intent (``opening``) is recorded before posting, and a restart looks
for that metadata in the channel before posting again, so a parent is never posted twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.drift.findings import Finding
from bot.drift.incidents import (
    Action,
    Forget,
    Incident,
    IncidentState,
    Keep,
    Open,
    Resolve,
    Revive,
    Track,
    Update,
    fingerprint,
    plan,
)
from bot.drift.scan import ScanResult
from bot.kube.tags import parse_image
from bot.render.incident import (
    INCIDENT_EVENT,
    incident_message,
    incident_metadata,
    reconciled_text,
    reopened_text,
    still_text,
    update_text,
)
from handlers.deps import DriftDeps
from handlers.posted import find_posted

log = logging.getLogger(__name__)

Scanner = Callable[[], Awaitable[ScanResult]]


class DriftJob:
    """One run scans every environment and moves each incident one step (``bot.drift.incidents``)."""

    def __init__(
        self,
        deps: DriftDeps,
        client: AsyncWebClient,
        scanner: Scanner,
        grace: timedelta,
        cooldown: timedelta,
    ) -> None:
        self.deps = deps
        self.client = client
        self.incidents = deps.incidents
        self.scan = scanner
        self.grace = grace
        self.cooldown = cooldown
        self._running: Mapping[str, str] = {}  # what the last scan saw running, by key

    async def run(self) -> None:
        result = await self.scan()
        findings, unchecked = result.findings, result.unchecked
        now = self.deps.clock()
        # What runs where: the deployments the digest counts, and the threads' timelines.
        self.deps.deliveries.record_versions(result.versions, now)
        self._running = result.versions
        by_key: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_key[finding.key].append(finding)
        blind = {f"{u.service}/{u.environment}" for u in unchecked}
        for u in unchecked:
            log.warning("drift: could not check %s/%s: %s", u.service, u.environment, u.message)
        actions = plan(self.incidents.current(), by_key, blind, now, self.grace, self.cooldown)
        for action in actions:
            try:
                await self._apply(action)
            except SlackApiError as exc:
                # Already retried by the client (429s included); the state is unchanged, so
                # the next scan tries this step again.
                log.warning("drift: Slack refused a call (%s); retrying next scan", exc)

    async def _apply(self, action: Action) -> None:
        match action:
            case Track(key, found, since):
                await self._open_if_due(self.incidents.track(key, found, since), found)
            case Revive(inc, found, since):
                await self._open_if_due(self.incidents.revive(inc, found, since), found)
            case Keep(inc, found):
                self.incidents.keep(inc, found)
            case Forget(inc):
                self.incidents.forget(inc)
            case Open(inc, found):
                await self._open(inc, found)
            case Update(inc, found):
                await self._update(inc, found)
            case Resolve(inc):
                await self._resolve(inc)

    async def _open_if_due(self, inc: Incident, found: tuple[Finding, ...]) -> None:
        """Drift the objects say started longer ago than the grace opens at once."""
        if self.deps.clock() - inc.first_seen >= self.grace:
            await self._open(inc, found)

    async def _open(self, inc: Incident, found: tuple[Finding, ...]) -> None:
        now = self.deps.clock()
        if inc.state is IncidentState.OPENING:
            inc = await self._recover(inc)
        if inc.ts is not None:
            # Redraw before any reply: if it fails, nothing was said and the next scan retries.
            await self._redraw(inc, found)
            if inc.state is IncidentState.PENDING:  # drifting again: same thread
                await self._reply(inc, reopened_text(found))
            self.incidents.opened(inc, found, inc.ts, now)
            return
        channel = inc.channel or self._channel(inc)
        if channel is None:
            log.info("drift: %s has no alert channel; tracked without a Slack thread", inc.key)
            self.incidents.opened(inc, found, None, now)
            return
        inc = self.incidents.opening(inc, channel, now)  # the intent, before the post
        # A thread another replica (or a lost database) left open for this key: carry it on.
        adopted = await self._posted_parent(inc, by_key=True)
        if adopted is not None:
            ts, payload = adopted
            log.info("drift: %s continues in its open thread %s", inc.key, ts)
            threaded = replace(inc, ts=ts)
            await self._redraw(threaded, found)  # first: a failure repeats nothing
            if payload.get("fingerprint") != fingerprint(found):  # changed since last told
                await self._reply(threaded, still_text(found))
            self.incidents.opened(inc, found, ts, now)
            return
        message = incident_message(inc, found, timeline_url=self._timeline(inc))
        posted = await self.client.chat_postMessage(
            channel=channel, metadata=incident_metadata(inc, found), **message.kwargs()
        )
        self.incidents.opened(inc, found, str(posted["ts"]), now)

    async def _update(self, inc: Incident, found: tuple[Finding, ...]) -> None:
        if inc.ts is not None:
            # Redraw first: if it fails, nothing was said and the next scan says it once.
            await self._redraw(inc, found)
            await self._reply(inc, update_text(inc.findings, found))
        self.incidents.told(inc, found)

    async def _resolve(self, inc: Incident) -> None:
        now = self.deps.clock()
        if inc.state is IncidentState.OPENING:
            inc = await self._recover(inc)
        if inc.ts is not None:
            after = now - inc.first_seen
            await self._redraw(inc, inc.findings, resolved_after=after)
            await self._reply(inc, reconciled_text(after))
        self.incidents.resolved(inc, now)

    async def _recover(self, inc: Incident) -> Incident:
        """An intent from before a crash: was the parent posted? Its metadata says."""
        found = await self._posted_parent(inc)
        if found is None:
            return inc
        log.info("drift: found the parent of incident %s posted before a restart", inc.id)
        self.incidents.opened(inc, inc.findings, found[0], self.deps.clock())
        return self.incidents.get(inc.id)

    async def _posted_parent(
        self, inc: Incident, by_key: bool = False
    ) -> tuple[str, dict[str, Any]] | None:
        """The parent already posted for this incident (or, ``by_key``, an open one for its
        service/environment), found by the metadata it carries."""
        if inc.channel is None:
            return None

        def match(payload: dict[str, Any]) -> bool:
            if payload.get("key") != inc.key:
                return False
            return payload.get("state") == "open" if by_key else payload.get("incident") == inc.id

        return await find_posted(self.client, inc.channel, INCIDENT_EVENT, match)

    async def _reply(self, inc: Incident, text: str) -> None:
        channel, ts = _thread(inc)
        await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text)

    async def _redraw(
        self, inc: Incident, found: tuple[Finding, ...], resolved_after: timedelta | None = None
    ) -> None:
        channel, ts = _thread(inc)
        message = incident_message(
            inc, found, resolved_after=resolved_after, timeline_url=self._timeline(inc)
        )
        content: dict[str, Any] = message.kwargs()
        try:
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                metadata=incident_metadata(inc, found, resolved=resolved_after is not None),
                **content,
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in ("message_not_found", "cant_update_message"):
                raise
            log.info("drift: the parent of incident %s is gone; replies only", inc.id)

    def _timeline(self, inc: Incident) -> str | None:
        """The timeline page of the commit running in the incident's environment (its image
        tag names it), where the incident is drawn; None when no tag names a commit."""
        service = next((s for s in self.deps.services.services if s.name == inc.service), None)
        if service is None or inc.channel is None:
            return None
        for image in self._running.get(inc.key, "").split():
            ref = parse_image(image)
            if ref.tag is None or (service.image and not ref.same_repository(service.image)):
                continue
            sha = service.tag_pattern.sha_prefix(ref.tag)
            if sha is not None:
                return self.deps.timeline(inc.channel, f"{service.repo}@{sha}")
        return None

    def _channel(self, inc: Incident) -> str | None:
        services = self.deps.services
        service = next((s for s in services.services if s.name == inc.service), None)
        if service is None:
            return None
        env = next((e for e in service.environments if e.name == inc.environment), None)
        return services.alert_channel(service, env) if env is not None else None


def _thread(inc: Incident) -> tuple[str, str]:
    assert inc.channel is not None and inc.ts is not None, "only incidents with a thread"
    return inc.channel, inc.ts
