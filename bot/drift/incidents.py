"""Drift incidents: one per service and environment, from detection to reconciliation.

A finding first makes a ``pending`` incident; if it lasts the grace period the incident
``opens`` (one Slack thread). While open, a *material* change (other resources drifting, a
different error) is one thread reply, never one per scan. When the findings are gone it is
``resolved``. The same key drifting again within the cooldown reopens the same thread.

``plan`` is pure: it takes the stored incidents and this scan's findings and says what to do
(``bot.drift.store`` keeps them).
The ``opening`` state is the intent recorded before the parent message is posted: after a
crash, an ``opening`` incident is matched against the channel's recent messages (their
metadata names the incident) instead of being posted twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.drift.findings import Finding


class IncidentState(StrEnum):
    PENDING = "pending"  # seen, not yet for the grace period: nothing posted
    OPENING = "opening"  # about to post (or posted, not yet recorded) the parent message
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    id: int
    key: str
    service: str
    environment: str
    state: IncidentState
    first_seen: datetime  # when this episode started (the objects' own time when older)
    findings: tuple[Finding, ...]
    fingerprint: str  # of the findings last told in Slack (or seen, while pending)
    channel: str | None = None
    ts: str | None = None  # the parent message
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    intent_at: datetime | None = None

    @property
    def has_thread(self) -> bool:
        return self.ts is not None


def fingerprint(findings: Iterable[Finding]) -> str:
    """What makes a change material: which resources drift and how, not when it was seen."""
    parts = sorted(
        json.dumps([f.stage, f.kind, f.subject, f.summary, list(f.resources)]) for f in findings
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """A new episode: remember it, post nothing yet."""

    key: str
    findings: tuple[Finding, ...]
    since: datetime


@dataclass(frozen=True)
class Revive:
    """Drifting again within the cooldown: pending again, keeping its thread."""

    incident: Incident
    findings: tuple[Finding, ...]
    since: datetime


@dataclass(frozen=True)
class Open:
    """Grace passed: post the parent, or reopen ``incident``'s thread when it has one."""

    incident: Incident
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Update:
    """A material change while open: one thread reply."""

    incident: Incident
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Keep:
    """Nothing to tell; keep the latest findings (times, wording) for ``/where drift``."""

    incident: Incident
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Forget:
    """A pending episode ended within the grace period: it never happened."""

    incident: Incident


@dataclass(frozen=True)
class Resolve:
    incident: Incident


Action = Track | Revive | Open | Update | Keep | Forget | Resolve


def plan(
    incidents: Iterable[Incident],
    findings: Mapping[str, list[Finding]],
    unchecked: set[str],
    now: datetime,
    grace: timedelta,
    cooldown: timedelta,
) -> list[Action]:
    """What this scan means for each incident key. ``incidents`` holds every incident that is
    not resolved plus the latest resolved one per key; ``unchecked`` keys could not be read,
    so nothing about them changes."""
    latest: dict[str, Incident] = {}
    for incident in sorted(incidents, key=lambda i: i.id):
        latest[incident.key] = incident
    actions: list[Action] = []
    for key in sorted(set(latest) | set(findings)):
        if key in unchecked:
            continue
        inc, found = latest.get(key), tuple(findings.get(key, ()))
        if found:
            actions.extend(_drifting(key, inc, found, now, grace, cooldown))
        elif inc is not None:
            actions.extend(_quiet(inc))
    return actions


def _drifting(
    key: str,
    inc: Incident | None,
    found: tuple[Finding, ...],
    now: datetime,
    grace: timedelta,
    cooldown: timedelta,
) -> list[Action]:
    since = min([now, *(f.since for f in found if f.since is not None)])
    if inc is None:
        return [Track(key, found, since)]
    if inc.state is IncidentState.RESOLVED:
        if inc.resolved_at is not None and now - inc.resolved_at < cooldown:
            return [Revive(inc, found, since)]  # flapping: the same thread
        return [Track(key, found, since)]
    if inc.state is IncidentState.PENDING:
        if now - inc.first_seen >= grace:
            return [Open(inc, found)]
        return [Keep(inc, found)]
    if inc.state is IncidentState.OPENING:
        return [Open(inc, found)]  # the runner first looks for an already posted parent
    if fingerprint(found) != inc.fingerprint:
        return [Update(inc, found)]
    return [Keep(inc, found)]


def _quiet(inc: Incident) -> list[Action]:
    if inc.state is IncidentState.PENDING:
        return [Forget(inc)]
    if inc.state in (IncidentState.OPEN, IncidentState.OPENING):
        return [Resolve(inc)]
    return []


def duration_words(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
