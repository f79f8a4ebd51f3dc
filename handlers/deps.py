"""What the Slack handlers need, built once by the composition root (``bot.app``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.config import ServiceMap
from bot.digest.gather import DigestBuilder
from bot.digest.store import Deliveries
from bot.drift.store import Incidents
from bot.follow.store import Follows
from bot.timefmt import Clock
from bot.trace.tracer import Tracer
from bot.trace.webhost import WebHost


@dataclass(frozen=True)
class Deps:
    tracer: Tracer
    services: ServiceMap
    follows: Follows
    incidents: Incidents
    deliveries: Deliveries
    digests: DigestBuilder
    web: WebHost  # where PR / commit links are; parses what people type against it
    clock: Clock
    follow_interval: timedelta
    follow_max: timedelta
    reply_origins: frozenset[str]  # where answers may be POSTed: Slack's hosts (handlers.gate)
