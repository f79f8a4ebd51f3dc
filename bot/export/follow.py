"""``serve``'s trace export: every merged PR of the configured services followed on its own.

Each run (every ``SHIPTRACE_EXPORT_INTERVAL`` seconds, on the Lease holder when there is one)
lists the PRs merged in the last ``SHIPTRACE_EXPORT_MAX_DAYS`` days of every configured repo,
traces each one not done yet, builds its finished spans (:mod:`bot.export.spans`) and sends
those whose key the store has not recorded; the keys the collector accepted are recorded
(``exported_spans``). So each span is sent once, on the first run after its stage ended, and
a restart neither loses nor repeats one: what the collector did not take is sent on the next
run, what it took never again. (A process killed between the collector's answer and the
record sends that batch once more: the same ids, which a collector stores as the same spans.)

A change is done once its root span was exported OK (every stage ended: live in every
environment); one still on its way after the limit is no longer listed. A collector that
fails is logged once (:class:`bot.export.otlp.SpanSink`) and the run stops sending: the next
run tries again, so a dead collector costs one exporter timeout per run, not one per change.
Exporting happens in a worker thread: it never holds up an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import ServiceMap
from bot.drift.store import Incidents
from bot.errors import ShiptraceError
from bot.export.otlp import SpanSink
from bot.export.spans import SpanRecord, build_spans, span_id_for, span_key, trace_id_for
from bot.export.store import ExportedSpans
from bot.model import Status, Trace
from bot.refs import Ref
from bot.sources.github import GitHubClient
from bot.store import Store
from bot.timefmt import Clock
from bot.trace.tracer import Tracer

log = logging.getLogger(__name__)

_CONCURRENT_TRACES = 4
BATCH = 512  # spans per export request, as the SDK's batch processor sends them
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def change_spans(trace: Trace, store: Store, now: datetime) -> list[SpanRecord]:
    """The finished spans of ``trace``, with what the store knows: when each continuous
    stage was first seen holding, and the drift incidents since the change began."""
    change = trace.change

    def seen(environment: str, stage: str, status: Status) -> datetime | None:
        return store.seen_at(change.repo, change.sha, environment, stage, status.value)

    began = change.opened_at or change.merged_at or _EPOCH
    incidents = Incidents(store).in_window(began, now + timedelta(seconds=1))
    return build_spans(trace, incidents, now=now, opened_at=change.opened_at, seen=seen)


@dataclass(frozen=True)
class ExportRun:
    """What one run did, for the log and the tests."""

    traced: int = 0
    sent: int = 0  # spans the collector accepted
    failed: bool = False  # the collector did not take everything: the next run tries again


class TraceExport:
    """The export job: ``run`` is scheduled every interval by ``bot.app``."""

    def __init__(
        self,
        github: GitHubClient,
        tracer: Tracer,
        services: ServiceMap,
        store: Store,
        sink: SpanSink,
        clock: Clock,
        *,
        longest: timedelta,
    ) -> None:
        self.github = github
        self.tracer = tracer
        self.services = services
        self.store = store
        self.exported = ExportedSpans(store)
        self.sink = sink
        self.clock = clock
        self.longest = longest
        self._limit = asyncio.Semaphore(_CONCURRENT_TRACES)

    async def run(self) -> None:
        await self.once()

    async def once(self) -> ExportRun:
        now = self.clock()
        pulls: list[tuple[str, dict[str, Any]]] = []
        for repo in self.services.repos:
            try:
                merged = await self.github.merged_pulls(repo, now - self.longest, now)
            except ShiptraceError as exc:
                log.warning("trace export: cannot list merged PRs of %s: %s", repo, exc.message)
                continue
            pulls.extend((repo, p) for p in merged if not self._done(repo, p))
        traces = await asyncio.gather(*(self._trace(repo, p) for repo, p in pulls))
        new: list[SpanRecord] = []
        for trace in traces:
            if trace is None:
                continue
            known = self.exported.keys(f"{trace_id_for(trace.change.repo, trace.change.sha):032x}")
            new.extend(r for r in change_spans(trace, self.store, now) if span_key(r) not in known)
        traced = sum(1 for t in traces if t is not None)
        sent, failed = await self._send(new)
        return ExportRun(traced, sent, failed)

    def _done(self, repo: str, pull: dict[str, Any]) -> bool:
        """Its root span went out OK: every stage ended, nothing more to export."""
        sha = GitHubClient.pr_commit(pull)
        trace_id = f"{trace_id_for(repo, sha):032x}"
        root = f"{trace_id}/{span_id_for(repo, sha, 'deliver'):016x}/ok"
        return root in self.exported.keys(trace_id)

    async def _trace(self, repo: str, pull: dict[str, Any]) -> Trace | None:
        number = int(pull["number"])
        async with self._limit:
            try:
                return await self.tracer.trace(Ref(f"{repo}#{number}", repo=repo, pr=number))
            except ShiptraceError as exc:
                log.warning("trace export: cannot trace %s#%d now: %s", repo, number, exc.message)
                return None

    async def _send(self, records: Sequence[SpanRecord]) -> tuple[int, bool]:
        sent = 0
        for start in range(0, len(records), BATCH):
            result = await self.sink.export_async(records[start : start + BATCH])
            if not result.ok:
                return sent, True  # logged by the sink; the next run sends the rest
            self.exported.record(result.keys, self.clock())
            sent += len(result.keys)
        return sent, False
