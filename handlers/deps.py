"""What the Slack handlers and jobs need, in small groups built by the composition root.

Each listener and job takes only the groups it uses (``handlers.register`` hands them out), so
a signature says what a handler can touch: ``/where`` cannot post a follow, the drift job
cannot trace a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.config import ServiceMap
from bot.digest.gather import DigestBuilder
from bot.digest.store import Deliveries
from bot.drift.store import Incidents
from bot.follow.store import Follows
from bot.observe.metrics import Metrics
from bot.timefmt import Clock
from bot.trace.tracer import Tracer
from bot.trace.webhost import WebHost


@dataclass(frozen=True)
class TraceDeps:
    """Turning what someone typed or clicked into a trace (``handlers.answers``)."""

    tracer: Tracer
    services: ServiceMap  # which channel may trace what (bot.access)
    web: WebHost  # where PR / commit links are; parses what people type against it
    metrics: Metrics = field(default_factory=Metrics)  # counts the answers (/metrics)


@dataclass(frozen=True)
class FollowDeps:
    """Followed messages: the Follow buttons, Refresh on a followed message, the follow job."""

    follows: Follows
    clock: Clock
    interval: timedelta  # how often a followed message is traced again
    longest: timedelta  # when following gives up


@dataclass(frozen=True)
class DriftDeps:
    """Drift incidents: the scan job, and ``/where drift`` reading them."""

    services: ServiceMap  # alert channels, and which services a channel may see
    incidents: Incidents
    deliveries: Deliveries  # the scan records what runs where, for the digest
    clock: Clock


@dataclass(frozen=True)
class DigestDeps:
    """The delivery digest: the job posting it, and ``/where digest`` previewing it."""

    builder: DigestBuilder
    deliveries: Deliveries
    clock: Clock


@dataclass(frozen=True)
class WhereDeps:
    """``/where``: a reference is traced; ``drift`` and ``digest`` read their feature."""

    trace: TraceDeps
    drift: DriftDeps
    digest: DigestDeps


@dataclass(frozen=True)
class Deps:
    """Every group, as the composition root (``bot.app``) builds them."""

    trace: TraceDeps
    follow: FollowDeps
    drift: DriftDeps
    digest: DigestDeps
    reply_origins: frozenset[str]  # where answers may be POSTed: Slack's hosts (handlers.gate)

    @property
    def metrics(self) -> Metrics:
        return self.trace.metrics

    @property
    def where(self) -> WhereDeps:
        return WhereDeps(self.trace, self.drift, self.digest)

    # The bot's own records, one step away for whoever inspects a running bot (the tests).
    @property
    def follows(self) -> Follows:
        return self.follow.follows

    @property
    def incidents(self) -> Incidents:
        return self.drift.incidents

    @property
    def deliveries(self) -> Deliveries:
        return self.drift.deliveries
