"""What the Slack handlers need, built once by the composition root (``bot.app``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.config import ServiceMap
from bot.delivery_store import Deliveries
from bot.digests import DigestBuilder
from bot.follows import Follows
from bot.incident_store import Incidents
from bot.trace import Clock, Tracer


@dataclass(frozen=True)
class Deps:
    tracer: Tracer
    services: ServiceMap
    follows: Follows
    incidents: Incidents
    deliveries: Deliveries
    digests: DigestBuilder
    github_host: str  # where PR / commit links point (github.com or an Enterprise host)
    clock: Clock
    follow_interval: timedelta
    follow_max: timedelta
    reply_origins: frozenset[str]  # where answers may be POSTed: Slack's hosts (handlers.gate)
