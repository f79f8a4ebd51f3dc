"""The four DORA figures over delivery records. Pure: no I/O, no clock.

Definitions:

- The window is half-open, [start, end). Every time is timezone-aware, and all arithmetic is on
  elapsed time (UTC), so a window across a DST change lasts 23 h or 25 h.
  days = (end - start) in seconds / 86400 (a 25 h window is 25/24 days).
- Deployment frequency, per environment: the deployments (a version first seen running in an
  environment) whose time is in the window; per day = that count / days. Environments with no
  deployment in the window are not listed. The drift scan's records are the deployments of an
  environment from its first look there (`watched`) on; before that, and in an environment it
  does not record, a change the traces show going live at `t` is a deployment there at `t`
  (the changes live there at the same `t` are one deployment).
- Watched since: the latest first look among the environments the scan records; None while
  one of them has not been looked at (or there are none). A figure that only the scan can
  measure (no deployment, no incident) is known only for a window starting after it.
- Lead time for changes: for each change first seen live in its service's last environment
  (in promotion order) within the window, that time minus its merge time. A change live only
  in an earlier environment (e.g. staging) has no lead time yet. Median: the middle value, the
  mean of the two middle values on an even count (as statistics.median). p90: nearest rank,
  the ceil(0.9 × n)-th smallest. Both are None when no change went live in the window. The
  lead times are listed in the order the changes went live (ties by ref).
- Change failure rate: failed deployments / deployments in the window; None when there were
  no deployments. A deployment at time `at` failed when, in the same service and environment,
  within the failure window after it (at < t <= at + failure window):
  a rollout failed, or a drift incident was opened, or a revert was merged of a change that
  deployment shipped (the latest deployment there at or before 15 minutes after the change
  was first seen live there: the scan and the trace see a rollout at slightly different
  times). What follows a deployment counts even when it falls after the end of the window.
- Time to restore: for each incident resolved in the window, resolved - opened; its median;
  None when no incident was resolved. Open incidents: opened before the end and not resolved
  before the end.
- The trailing window (trailing(end, 30)) starts at the same wall-clock time 30 calendar days
  before `end`, in end's time zone (30 × 24 h exactly for a UTC end).

A naive time, or an end not after the start, is a ValueError.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAY = timedelta(days=1)
Key = tuple[str, str]  # service, environment


@dataclass(frozen=True)
class ChangeRecord:
    service: str
    repo: str
    ref: str  # "acme/shop#12"
    title: str
    merged_at: datetime
    live_at: Mapping[str, datetime]  # environment -> first time seen live there
    environments: tuple[str, ...]  # the service's environments, in promotion order
    revert_of: str | None = None  # the ref this change reverts


@dataclass(frozen=True)
class DeploymentRecord:
    """A version first seen running in an environment."""

    service: str
    environment: str
    version: str
    at: datetime


@dataclass(frozen=True)
class FailureRecord:
    """A failed rollout, seen at `at`."""

    service: str
    environment: str
    at: datetime
    what: str


@dataclass(frozen=True)
class IncidentRecord:
    service: str
    environment: str
    opened_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Figures:
    start: datetime
    end: datetime
    deployments: dict[str, int]  # environment -> count, sorted by name
    deploys_per_day: dict[str, float]
    lead_time_median: timedelta | None
    lead_time_p90: timedelta | None
    lead_times: list[tuple[str, timedelta]]  # (ref, lead time), in the order they went live
    change_failure_rate: float | None
    failed_deployments: int
    total_deployments: int
    time_to_restore_median: timedelta | None
    restored: int
    open_incidents: int
    # Since when the drift scan has watched all these environments; None: not all of them yet.
    watched_since: datetime | None

    @property
    def scan_covers(self) -> bool:
        """Whether the drift scan watched the whole window: "no deployments" and "no incident"
        are then facts, not blanks."""
        return self.watched_since is not None and _utc(self.watched_since) <= _utc(self.start)


def trailing(end: datetime, days: int = 30) -> datetime:
    """The start of the `days` calendar days before `end` (same wall-clock time, end's zone)."""
    return end - timedelta(days=days)


def figures(
    changes: Iterable[ChangeRecord],
    deployments: Iterable[DeploymentRecord],
    failures: Iterable[FailureRecord],
    incidents: Iterable[IncidentRecord],
    start: datetime,
    end: datetime,
    failure_window: timedelta,
    *,
    watched: Mapping[Key, datetime | None],
) -> Figures:
    """``watched``: for each environment the drift scan records (service, environment), when
    it first looked there (None: not yet)."""
    lo, hi = _utc(start), _utc(end)
    if hi <= lo:
        raise ValueError("the window must end after it starts")
    changes, incidents = list(changes), list(incidents)

    def inside(when: datetime) -> bool:
        return lo <= _utc(when) < hi

    every = [*deployments, *_traced_deployments(changes, watched)]
    deployed = [d for d in every if inside(d.at)]
    counts = Counter(d.environment for d in deployed)
    per_env = {env: counts[env] for env in sorted(counts)}

    went_live = [
        (when, c) for c in changes if (when := _live_at_last(c)) is not None and lo <= when < hi
    ]
    went_live.sort(key=lambda pair: (pair[0], pair[1].ref))
    lead_times = [(c.ref, when - _utc(c.merged_at)) for when, c in went_live]

    trouble = _trouble(failures, incidents)
    reverts = _reverts(changes, deployed)
    failed = sum(
        1
        for d in deployed
        if _followed(d.at, failure_window, trouble.get((d.service, d.environment), ()))
        or _followed(d.at, failure_window, reverts.get((d.service, d.environment, _utc(d.at)), ()))
    )

    restores = [
        _utc(i.resolved_at) - _utc(i.opened_at)
        for i in incidents
        if i.resolved_at is not None and inside(i.resolved_at)
    ]
    still_open = sum(
        1
        for i in incidents
        if _utc(i.opened_at) < hi and (i.resolved_at is None or _utc(i.resolved_at) >= hi)
    )

    return Figures(
        start=start,
        end=end,
        deployments=per_env,
        deploys_per_day={env: n / ((hi - lo) / DAY) for env, n in per_env.items()},
        lead_time_median=median([lt for _, lt in lead_times]),
        lead_time_p90=p90([lt for _, lt in lead_times]),
        lead_times=lead_times,
        change_failure_rate=failed / len(deployed) if deployed else None,
        failed_deployments=failed,
        total_deployments=len(deployed),
        time_to_restore_median=median(restores),
        restored=len(restores),
        open_incidents=still_open,
        watched_since=_watched_since(watched),
    )


def _traced_deployments(
    changes: Sequence[ChangeRecord], watched: Mapping[Key, datetime | None]
) -> list[DeploymentRecord]:
    """Where the scan was not watching yet: each time changes went live, one deployment."""
    seen: set[tuple[str, str, datetime]] = set()
    for c in changes:
        for env, when in c.live_at.items():
            first = watched.get((c.service, env))
            if first is None or _utc(when) < _utc(first):
                seen.add((c.service, env, _utc(when)))
    return [DeploymentRecord(s, e, "seen in a trace", at) for s, e, at in sorted(seen)]


def _watched_since(watched: Mapping[Key, datetime | None]) -> datetime | None:
    firsts = list(watched.values())
    if not firsts or any(f is None for f in firsts):
        return None
    return max(_utc(f) for f in firsts if f is not None)


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value; the mean of the two middle values on an even count."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p90(values: Sequence[timedelta]) -> timedelta | None:
    """Nearest rank: the ceil(0.9 × n)-th smallest value."""
    if not values:
        return None
    return sorted(values)[-(-9 * len(values) // 10) - 1]  # integer ceil, no float error


def _utc(when: datetime) -> datetime:
    # Aware datetimes sharing one tzinfo compare and subtract by wall clock: normalise first.
    if when.utcoffset() is None:
        raise ValueError(f"naive datetime {when.isoformat()}: DORA figures need aware times")
    return when.astimezone(UTC)


def _live_at_last(change: ChangeRecord) -> datetime | None:
    """When the change was first seen live in its service's last environment, if it was."""
    last = change.environments[-1] if change.environments else None
    when = change.live_at.get(last) if last else None
    return _utc(when) if when else None


def _trouble(
    failures: Iterable[FailureRecord], incidents: Iterable[IncidentRecord]
) -> dict[Key, list[datetime]]:
    """Per service+environment: when a rollout failed or an incident was opened."""
    times: dict[Key, list[datetime]] = defaultdict(list)
    for f in failures:
        times[f.service, f.environment].append(_utc(f.at))
    for i in incidents:
        times[i.service, i.environment].append(_utc(i.opened_at))
    return times


REVERT_MATCH = timedelta(minutes=15)


def _reverts(
    changes: Sequence[ChangeRecord], deployed: Sequence[DeploymentRecord]
) -> dict[tuple[str, str, datetime], list[datetime]]:
    """Per deployment (service, environment, time) that shipped a reverted change: when the
    reverts of that change were merged. Refs compare case-insensitively, as GitHub's do."""
    by_ref = {c.ref.lower(): c for c in changes}
    times: dict[tuple[str, str, datetime], list[datetime]] = defaultdict(list)
    for revert in changes:
        reverted = by_ref.get(revert.revert_of.lower()) if revert.revert_of else None
        if reverted is None:
            continue
        for env, when in reverted.live_at.items():
            shipped = [
                _utc(d.at)
                for d in deployed
                if d.service == reverted.service
                and d.environment == env
                and _utc(d.at) <= _utc(when) + REVERT_MATCH
            ]
            if shipped:
                times[reverted.service, env, max(shipped)].append(_utc(revert.merged_at))
    return times


def _followed(at: datetime, window: timedelta, times: Iterable[datetime]) -> bool:
    """Whether one of `times` falls in (at, at + window]."""
    at = _utc(at)
    return any(at < t <= at + window for t in times)
