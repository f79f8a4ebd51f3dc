"""The composition root: build the engine, the Slack app, the web routes and the jobs, and run.

Nothing connects at import time. ``running()`` builds everything from settings and tears it
down in reverse; ``serve()`` runs it until SIGTERM / SIGINT. Slack reaches the bot over HTTP
(``/slack/events``) or, when ``SLACK_APP_TOKEN`` is set, over Socket Mode; ``/healthz``,
``/readyz`` and ``/metrics`` are served either way. Only the store and the Socket Mode
websocket make the pod unready: a restart mends those, not GitHub or a cluster, which
``/readyz`` reports all the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from socket import gethostname
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.config import ServiceMap, Settings
from bot.digest.gather import DigestBuilder
from bot.digest.store import Deliveries
from bot.drift.scan import ScanResult, scan_all
from bot.drift.store import Incidents
from bot.engine import Engine, open_engine
from bot.errors import ConfigError
from bot.export.follow import TraceExport
from bot.export.otlp import SpanSink, export_configured
from bot.follow.store import Follows, FollowState
from bot.leader import Elector, leader_only
from bot.observe.health import Health, Probe
from bot.observe.metrics import Metrics
from bot.observe.watch import GITHUB, Watch, cluster_check
from bot.scheduler import IntervalJob, Job, StartJob, build_scheduler
from bot.sources.lease import LeaseClient
from bot.timefmt import Clock, utcnow
from handlers import gate
from handlers.client import CountedClient
from handlers.deps import Deps, DigestDeps, DriftDeps, FollowDeps, TraceDeps
from handlers.jobs.digest import DigestJob
from handlers.jobs.drift import DriftJob
from handlers.jobs.follow import FollowJob

log = logging.getLogger("shiptrace")

SOCKET_CONNECT_TIMEOUT = 10.0
# Seconds a database call may wait for another process's lock: every call runs on the event
# loop, so a longer wait would hold up every ack. Past it the user is told the store is busy.
STORE_LOCK_WAIT = 0.05
CATCH_UP_EVERY = 300  # seconds: a digest missed during a takeover or refused is retried


@dataclass
class Bot:
    """A running bot; tests drive its jobs directly instead of waiting for the schedule."""

    app: AsyncApp
    engine: Engine
    deps: Deps
    follow_job: FollowJob
    drift_job: DriftJob
    digest_job: DigestJob
    scheduler: AsyncIOScheduler
    socket: AsyncSocketModeHandler | None
    url: str  # base URL of the web server, e.g. http://127.0.0.1:3000
    elector: Elector | None = None  # None: one replica runs every job
    # The jobs as the scheduler runs them (only on the Lease holder when there is a Lease).
    jobs: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    export_job: TraceExport | None = None  # None: no OTLP collector configured
    metrics: Metrics = field(default_factory=Metrics)
    health: Health = field(default_factory=Health)

    async def readiness(self) -> dict[str, Any]:
        """``/readyz``: the store (and the websocket) decide; GitHub and each configured
        cluster are reported from what the bot last saw of them (else one cheap probe)."""
        required = {"store": None if self.engine.store.ping() else "the database does not answer"}
        if self.socket is not None:
            connected = await self.socket.client.is_connected()
            required["slack_socket"] = None if connected else "the Socket Mode websocket is down"
        return await self.health.readiness(required, self.probes())

    def probes(self) -> dict[str, Probe]:
        engine = self.engine
        probes: dict[str, Probe] = {GITHUB: engine.github.probe}
        for context in configured_clusters(engine.services):

            async def probe(context: str | None = context) -> None:
                await engine.clusters.client(context).probe()

            probes[cluster_check(context or "current")] = probe
        return probes


def configured_clusters(services: ServiceMap) -> list[str | None]:
    """The kubeconfig contexts of every environment with something to read, in config order."""
    contexts = (
        env.cluster
        for service in services.services
        for env in service.environments
        if env.gitops is not None or env.workloads
    )
    return list(dict.fromkeys(contexts))


def slack_client(settings: Settings, metrics: Metrics | None = None) -> AsyncWebClient:
    """The Web API client; 429s wait out Retry-After, 5xx and dropped connections retry.
    With ``metrics``, the calls that fail are counted."""
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set; see README 'Create the Slack app'")
    token = settings.slack_bot_token.get_secret_value()
    if not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
    options: dict[str, Any] = {
        "token": token,
        "base_url": settings.slack_api_url,
        "retry_handlers": [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    }
    if metrics is None:
        return AsyncWebClient(**options)
    return CountedClient(metrics=metrics, **options)


def build_app(settings: Settings, deps: Deps, client: AsyncWebClient) -> AsyncApp:
    socket_mode = settings.slack_app_token is not None
    secret = settings.slack_signing_secret
    if not socket_mode and secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set; it is needed to check requests from Slack "
            "(or set SLACK_APP_TOKEN for Socket Mode)"
        )
    app = AsyncApp(
        # Bolt gives its loggers the root logger's level when it starts; from this one they
        # take the level bot.observe.logging sets for the libraries (WARNING).
        logger=logging.getLogger("slack_bolt"),
        name="slack_bolt.app",  # the listeners' logger (else "app.py")
        client=client,
        signing_secret=secret.get_secret_value() if secret is not None else "",
        # Socket Mode envelopes come over an authenticated websocket, not signed HTTP. Over
        # HTTP, handlers.gate has verified each request already; Bolt checks it once more.
        request_verification_enabled=not socket_mode,
        # One log line (handlers.errors) instead of Bolt's multi-line suggestion.
        raise_error_for_unhandled_request=True,
    )
    handlers.register(app, deps)
    return app


def _web_routes(web_app: web.Application, bot_ref: list[Bot]) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        report = await bot_ref[0].readiness()
        return web.json_response(report, status=200 if report["ready"] else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = bot_ref[0].metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics)


@asynccontextmanager
async def running(
    settings: Settings,
    services: ServiceMap,
    *,
    host: str,
    port: int,
    clock: Clock = utcnow,
    schedule: bool = True,
) -> AsyncIterator[Bot]:
    """Build and start the bot; stop everything on exit. ``schedule=False`` leaves jobs idle."""
    metrics, health = Metrics(), Health()  # this bot's own: tests run several in one process
    client = slack_client(settings, metrics)
    await _check_slack(client)
    async with open_engine(settings, services, clock, observer=Watch(metrics, health)) as engine:
        engine.store.wait_for_locks(STORE_LOCK_WAIT)
        incidents, deliveries = Incidents(engine.store), Deliveries(engine.store)
        follows = Follows(engine.store)
        metrics.watch_store(
            lambda: len(incidents.open_ones()),
            lambda: len(follows.in_state(FollowState.ACTIVE)),
        )
        digests = DigestBuilder(
            engine.github, engine.tracer, services, deliveries, incidents, clock
        )
        deps = Deps(
            trace=TraceDeps(
                tracer=engine.tracer, services=services, web=engine.web, metrics=metrics
            ),
            follow=FollowDeps(
                follows=follows,
                clock=clock,
                interval=timedelta(seconds=settings.shiptrace_follow_interval),
                longest=timedelta(hours=settings.shiptrace_follow_max_hours),
            ),
            drift=DriftDeps(
                services=services, incidents=incidents, deliveries=deliveries, clock=clock
            ),
            digest=DigestDeps(builder=digests, deliveries=deliveries, clock=clock),
            reply_origins=gate.reply_origins(settings.slack_api_url),
        )
        app = build_app(settings, deps, client)
        follow_job = FollowJob(deps.trace, deps.follow, client)

        async def scanner() -> ScanResult:
            with metrics.drift_scan_seconds.time():
                return await scan_all(engine.clusters, services)

        drift_job = DriftJob(
            deps.drift,
            client,
            scanner=scanner,
            grace=timedelta(seconds=settings.shiptrace_drift_grace),
            cooldown=timedelta(seconds=settings.shiptrace_drift_cooldown),
        )
        digest_job = DigestJob(
            client,
            digests,
            deliveries,
            [c for c, channel in services.slack.channels.items() if channel.digest],
            services.slack.digest,
            clock,
        )
        elector, lease = _elector(settings, engine)
        # OTEL_EXPORTER_OTLP_ENDPOINT set: merged PRs are followed and exported on their own.
        sink = SpanSink() if export_configured() else None
        export_job = (
            TraceExport(
                engine.github,
                engine.tracer,
                services,
                engine.store,
                sink,
                clock,
                longest=timedelta(days=settings.shiptrace_export_max_days),
            )
            if sink is not None
            else None
        )
        jobs: list[Job] = [
            IntervalJob("follow", follow_job.run, settings.shiptrace_follow_interval),
            IntervalJob("drift", drift_job.run, settings.shiptrace_drift_interval),
            *digest_job.cron_jobs(),
        ]
        if export_job is not None:
            jobs.append(IntervalJob("export", export_job.run, settings.shiptrace_export_interval))
        if digest_job.channels:
            jobs.append(StartJob("digest-start", digest_job.catch_up))
            jobs.append(IntervalJob("digest-catch-up", digest_job.catch_up, CATCH_UP_EVERY))
        if elector is not None:
            # Follows live in each replica's own database: each keeps its own up to date.
            # Drift and digests must run once for all: only on the Lease holder.
            jobs = [
                IntervalJob("leader", elector.run, elector.renew_every.total_seconds()),
                *(
                    j
                    if j.name == "follow"
                    else dataclasses.replace(j, run=leader_only(elector, j.run))
                    for j in jobs
                ),
            ]
        scheduler = build_scheduler(jobs)
        web_app = web.Application()
        if settings.slack_app_token is None:
            secret = settings.slack_signing_secret
            assert secret is not None  # build_app refused to start without it
            web_app.router.add_post("/slack/events", gate.endpoint(app, secret.get_secret_value()))
        bot_ref: list[Bot] = []
        _web_routes(web_app, bot_ref)
        runner = web.AppRunner(web_app, handle_signals=False, access_log=None)
        await runner.setup()
        socket: AsyncSocketModeHandler | None = None
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {host}:{port} ({exc.strerror}); choose another address "
                    "with --host/--port or SHIPTRACE_HOST/SHIPTRACE_PORT"
                ) from None
            bound = runner.addresses[0]
            bot = Bot(
                app,
                engine,
                deps,
                follow_job,
                drift_job,
                digest_job,
                scheduler,
                None,
                "",
                elector,
                metrics=metrics,
                health=health,
            )
            bot.jobs = {job.name: job.run for job in jobs}
            bot.export_job = export_job
            bot.url = f"http://{_url_host(bound[0])}:{bound[1]}"
            bot_ref.append(bot)
            if settings.slack_app_token is not None:
                app_token = settings.slack_app_token.get_secret_value()
                socket = AsyncSocketModeHandler(app, app_token=app_token)
                bot.socket = socket
                await _connect(socket, client, app_token)
            if schedule:
                if elector is not None:
                    await elector.tick()  # lead (or not) from the first run on
                scheduler.start()
            yield bot
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            if elector is not None:
                await elector.release()  # the next replica takes over at once
            if lease is not None:
                lease.close()
            if sink is not None:
                sink.shutdown()
            if socket is not None:
                await socket.close_async()
            await runner.cleanup()
            await health.close()


def _elector(settings: Settings, engine: Engine) -> tuple[Elector | None, LeaseClient | None]:
    if not settings.shiptrace_lease_name:
        return None, None
    namespace = settings.shiptrace_lease_namespace or settings.pod_namespace or _own_namespace()
    if namespace is None:
        raise ConfigError(
            "SHIPTRACE_LEASE_NAME is set but the Lease's namespace is unknown; "
            "set SHIPTRACE_LEASE_NAMESPACE (or POD_NAMESPACE from the downward API)"
        )
    cluster = engine.clusters.client(settings.shiptrace_lease_context)
    lease = LeaseClient(cluster.api, namespace, settings.shiptrace_lease_name)
    # Two replicas with one identity would both lead: the suffix keeps restarts distinct.
    identity = f"{settings.pod_name or gethostname()}_{uuid.uuid4().hex[:6]}"
    duration = timedelta(seconds=settings.shiptrace_lease_seconds)
    return Elector(lease, identity, duration, clock=engine.tracer.clock), lease


def _own_namespace() -> str | None:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


async def _check_slack(client: AsyncWebClient) -> None:
    """Fail at start, with a clear message, rather than on the first command."""
    try:
        await client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')}); "
            "copy the Bot User OAuth Token from the app's OAuth & Permissions page"
        ) from None
    except (TimeoutError, SlackClientError, OSError) as exc:
        raise ConfigError(f"cannot reach Slack at {client.base_url} ({exc})") from None


async def _connect(socket: AsyncSocketModeHandler, client: AsyncWebClient, app_token: str) -> None:
    # The Socket Mode client retries a refused token forever; ask once first, to fail clearly.
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}); it must be an "
            "app-level token (xapp-...) with the connections:write scope"
        ) from None
    try:
        await asyncio.wait_for(socket.connect_async(), SOCKET_CONNECT_TIMEOUT)
    except (SlackClientError, OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot open a Socket Mode connection ({exc!r})") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def serve(settings: Settings, services: ServiceMap, host: str, port: int) -> None:
    """Run the bot until SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings, services, host=host, port=port) as bot:
        mode = "Socket Mode" if bot.socket is not None else f"{bot.url}/slack/events"
        log.info("shiptrace is serving (%s); health at %s/healthz", mode, bot.url)
        await stop.wait()
        log.info("shiptrace is stopping")
