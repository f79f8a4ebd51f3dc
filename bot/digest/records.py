"""The daily delivery digest: what shipped, what is stuck, drift, and the DORA figures.

The data is gathered by ``bot.digest.gather`` (I/O); these records and the rendering are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.digest.dora import Figures
from bot.model import Status


@dataclass(frozen=True)
class Badge:
    """One compact stage badge: "CI", or an environment's name with its worst stage status."""

    label: str
    status: Status


@dataclass(frozen=True)
class ShippedChange:
    ref: str  # acme/shop#12
    title: str
    url: str | None
    author: str | None
    merged_at: datetime
    badges: tuple[Badge, ...]  # CI first, then each environment in order; () if not traced
    where: str  # the trace's one-line summary


@dataclass(frozen=True)
class StuckChange:
    ref: str
    title: str
    url: str | None
    merged_at: datetime
    stage: str  # where it waits, e.g. "sync in production" or "CI"
    status: Status  # that stage's status
    stuck_for: timedelta  # since the merge


@dataclass(frozen=True)
class IncidentLine:
    key: str  # service/environment
    summary: str
    opened_at: datetime
    resolved_at: datetime | None
    thread_url: str | None = None

    @property
    def time_to_restore(self) -> timedelta | None:
        return self.resolved_at - self.opened_at if self.resolved_at else None


@dataclass(frozen=True)
class ServiceDigest:
    service: str
    repo: str
    shipped: tuple[ShippedChange, ...]
    stuck: tuple[StuckChange, ...]
    incidents: tuple[IncidentLine, ...]  # opened or resolved in the window
    unread: str | None = None  # why its merged PRs could not be listed: its lists say nothing


@dataclass(frozen=True)
class Digest:
    channel: str
    start: datetime
    end: datetime
    services: tuple[ServiceDigest, ...]
    window: Figures
    trailing: Figures  # the 30 days before ``end``
    late: bool = False  # posted after its time (the bot was down then)
    errors: tuple[str, ...] = ()  # what could not be read, one line each

    @property
    def quiet(self) -> bool:
        """Nothing shipped, nothing stuck, no drift, and every source read: the digest is one
        line. A day the bot could not see is never quiet."""
        return not self.errors and not any(
            s.shipped or s.stuck or s.incidents or s.unread for s in self.services
        )

    @property
    def unread(self) -> bool:
        """Some service's merged PRs could not be listed: what came from GitHub is partial."""
        return any(s.unread for s in self.services)

    @property
    def unreadable(self) -> str | None:
        """Why GitHub could not be read at all (no service's PRs could be listed), else None:
        then there is no digest to give, only that reason."""
        if self.services and all(s.unread for s in self.services):
            return self.services[0].unread
        return None
