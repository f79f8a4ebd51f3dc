"""The timeline page of one change, as ``shiptrace serve`` answers it.

``GET /changes/{owner}/{repo}/pull/{n}`` and ``/changes/{owner}/{repo}/commit/{sha}``, in this
order: the link's signature (:mod:`bot.web.links`) — a missing, wrong, expired or tampered
one is 403 and nothing is looked up; the repo — 404, still with no look-up, unless it is a
configured service's; then the change is traced live, through the same tracer as ``/where``,
its service's drift incidents are drawn on its environments, and the page
(:func:`bot.render.html.render_html`) reloads itself every minute until the change is live
everywhere. ``shiptrace where REF -o html`` writes the same page, from :func:`page_html`.

The page is a trace for whoever holds its link: it is never cached, and no Referer carries the
link's signature to the sites it links to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot.config import ServiceMap
from bot.drift.incidents import Incident, IncidentState
from bot.drift.store import Incidents
from bot.errors import (
    BadInput,
    ChangeNotFound,
    GitHubError,
    ShiptraceError,
    StoreError,
)
from bot.model import Trace
from bot.refs import parse_ref, permalink
from bot.render.html import render_html
from bot.render.timeline import IncidentSpan, layout
from bot.timefmt import Clock
from bot.trace.tracer import Tracer
from bot.web.links import Signer, commit_path, pull_path

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60
PULL_ROUTE = "/changes/{owner}/{repo}/pull/{number:[0-9]{1,10}}"
COMMIT_ROUTE = "/changes/{owner}/{repo}/commit/{sha:[0-9a-fA-F]{7,40}}"
MAX_SUMMARY_FINDINGS = 3
HEADERS = {
    # The page is one file with its own <style>: it needs nothing else, and may load nothing.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
NOT_VALID = (
    "This timeline link is not valid: it is incomplete, altered or expired. "
    "Ask shiptrace in Slack (/where REF) for a new one."
)
NOT_SERVED = "shiptrace serves no timeline pages here (SHIPTRACE_LINK_SECRET is not set)."


# --- the page, for serve and the CLI --------------------------------------------------------


def incident_span(inc: Incident) -> IncidentSpan:
    """An incident as the page draws it: over the stages that drift, linked to its thread."""
    summaries = [f.summary for f in inc.findings]
    summary = "; ".join(summaries[:MAX_SUMMARY_FINDINGS]) or "drifting"
    if len(summaries) > MAX_SUMMARY_FINDINGS:
        summary += f"; +{len(summaries) - MAX_SUMMARY_FINDINGS} more"
    return IncidentSpan(
        environment=inc.environment,
        detected_at=inc.first_seen,
        resolved_at=inc.resolved_at,
        summary=summary,
        url=permalink(inc.channel, inc.ts),
        stages=tuple(sorted({f.stage for f in inc.findings})),
    )


def incident_spans(
    trace: Trace, incidents: Iterable[Incident], now: datetime
) -> list[IncidentSpan]:
    """The incidents of the trace's service in its environments that were open at some time
    on the page's axis, oldest first. One still pending (shorter than the grace so far) is
    not an incident yet."""
    envs = {s.environment for s in trace.stages if s.environment is not None}
    start = layout(trace, now=now).axis.start
    chosen = {
        inc.id: inc
        for inc in incidents
        if inc.service == trace.service
        and inc.environment in envs
        and inc.state is not IncidentState.PENDING
        and (inc.resolved_at is None or inc.resolved_at >= start)
    }
    ordered = sorted(chosen.values(), key=lambda i: (i.first_seen, i.id))
    return [incident_span(i) for i in ordered]


def stored_incidents(store: Incidents, trace: Trace, now: datetime) -> list[Incident]:
    """What the store knows that may fall on the page: every incident not resolved, and
    those resolved since the axis starts."""
    start = layout(trace, now=now).axis.start
    return [*store.current(), *store.in_window(start, now + timedelta(seconds=1))]


def page_html(
    trace: Trace, store: Incidents, now: datetime, refresh_seconds: int | None = None
) -> str:
    """The standalone page of ``trace`` as of ``now``, with its service's drift incidents."""
    spans = incident_spans(trace, stored_incidents(store, trace, now), now)
    return render_html(trace, now=now, incidents=spans, refresh_seconds=refresh_seconds)


# --- serve's routes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pages:
    """What the page routes use; built by ``bot.app``. ``signer`` None: no page is served."""

    tracer: Tracer
    services: ServiceMap
    incidents: Incidents
    signer: Signer | None
    clock: Clock
    refresh_seconds: int = REFRESH_SECONDS

    async def pull(self, request: web.Request) -> web.Response:
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        number = int(request.match_info["number"])
        return await self._answer(request, repo, pull_path(repo, number), f"{repo}#{number}")

    async def commit(self, request: web.Request) -> web.Response:
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        sha = request.match_info["sha"].lower()
        return await self._answer(request, repo, commit_path(repo, sha), f"{repo}@{sha}")

    async def _answer(self, request: web.Request, repo: str, path: str, ref: str) -> web.Response:
        if self.signer is None:
            return _plain(403, NOT_SERVED)
        refusal = self.signer.refusal(
            path, _one(request, "exp"), _one(request, "sig"), self.clock()
        )
        if refusal is not None:
            log.info("timeline link for %s refused: %s", path, refusal)  # never the signature
            return _plain(403, NOT_VALID)
        if self.services.service_for_repo(repo) is None:
            return _plain(404, f"{repo} is not a configured service's repo.")
        try:
            trace = await self.tracer.trace(parse_ref(ref, None))
        except (BadInput, ChangeNotFound) as exc:
            return _plain(404, f"No such change: {exc.message}")
        except GitHubError as exc:
            return _plain(502, f"GitHub could not be read ({exc.message}); reload in a minute.")
        except StoreError as exc:
            return _plain(503, f"shiptrace's database is busy or unusable ({exc.message}).")
        except ShiptraceError as exc:
            return _plain(500, exc.message)
        now = self.clock()
        try:
            html = page_html(trace, self.incidents, now, self.refresh_seconds)
        except StoreError as exc:
            return _plain(503, f"shiptrace's database is busy or unusable ({exc.message}).")
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=HEADERS)


def add_routes(app: web.Application, pages: Pages) -> None:
    app.router.add_get(PULL_ROUTE, pages.pull)
    app.router.add_get(COMMIT_ROUTE, pages.commit)


def _one(request: web.Request, name: str) -> str | None:
    """A query parameter given exactly once; None when absent or repeated."""
    values = request.query.getall(name, [])
    return values[0] if len(values) == 1 else None


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers=HEADERS)
