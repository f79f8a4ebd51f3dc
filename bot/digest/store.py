"""What the digest counts, kept across days: deployments, traced changes, and digests posted.

A deployment is a new version (the workloads' images) first seen running in an environment by
the drift scan; the version found on the very first look is a baseline, not a deployment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.digest.dora import ChangeRecord, DeploymentRecord, FailureRecord, IncidentRecord
from bot.store import Store, db_time, from_db_time

FIRST_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PendingDigest:
    """A digest whose intent (or whose note's intent) was recorded but not its post."""

    channel: str
    start: datetime
    end: datetime
    late: bool
    unbuilt: str | None  # why the last attempt could not build it


class Deliveries:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # -- deployments -----------------------------------------------------------------------
    def record_versions(self, versions: Mapping[str, str], now: datetime) -> list[str]:
        """Record what runs where; returns the keys that changed (new deployments)."""
        deployed: list[str] = []
        with self.store.guard():
            for key, version in sorted(versions.items()):
                service, environment = key.split("/", 1)
                row = self.db.execute(
                    "select version from deployments where service = ? and environment = ? "
                    "order by id desc limit 1",
                    [service, environment],
                ).fetchone()
                if row is not None and row[0] == version:
                    continue
                self.db.table("deployments").insert(
                    {
                        "service": service,
                        "environment": environment,
                        "version": version,
                        "seen_at": db_time(now),
                        "baseline": 1 if row is None else 0,
                    }
                )
                if row is not None:
                    deployed.append(key)
        return deployed

    def first_looks(self) -> dict[tuple[str, str], datetime]:
        """When the drift scan first looked at each (service, environment) it records."""
        with self.store.guard():
            rows = self.db.execute(
                "select service, environment, min(seen_at) from deployments "
                "group by service, environment"
            ).fetchall()
        return {(r[0], r[1]): from_db_time(r[2]) for r in rows}

    def deployments(self, since: datetime) -> list[DeploymentRecord]:
        with self.store.guard():
            rows = self.db.execute(
                "select service, environment, version, seen_at from deployments "
                "where baseline = 0 and seen_at >= ? order by id",
                [db_time(since)],
            ).fetchall()
        return [DeploymentRecord(r[0], r[1], r[2], from_db_time(r[3])) for r in rows]

    # -- changes ---------------------------------------------------------------------------
    def remember_change(
        self, change: ChangeRecord, sha: str, url: str | None, now: datetime
    ) -> None:
        """Keep the earliest time the change was seen live in each environment: a later trace
        (a newer release running) must not move it or forget it."""
        pr = int(change.ref.rsplit("#", 1)[1])
        live = dict(change.live_at)
        with self.store.guard():
            row = self.db.execute(
                "select live_at from changes where repo = ? and pr = ?", [change.repo.lower(), pr]
            ).fetchone()
        for env, when in json.loads(row[0] or "{}").items() if row else ():
            earlier = from_db_time(when)
            live[env] = min(live.get(env, earlier), earlier)
        with self.store.guard():
            self.db.table("changes").upsert(
                {
                    "repo": change.repo.lower(),
                    "pr": pr,
                    "service": change.service,
                    "sha": sha,
                    "title": change.title,
                    "url": url,
                    "merged_at": db_time(change.merged_at),
                    "environments": json.dumps(list(change.environments)),
                    "live_at": json.dumps({k: db_time(v) for k, v in live.items()}),
                    "revert_of": change.revert_of,
                    "traced_at": db_time(now),
                },
                pk=("repo", "pr"),
            )

    def changes(self, merged_since: datetime) -> list[ChangeRecord]:
        with self.store.guard():
            rows = list(
                self.db.table("changes").rows_where(
                    "merged_at >= ?", [db_time(merged_since)], order_by="merged_at"
                )
            )
        return [
            ChangeRecord(
                service=str(r["service"]),
                repo=str(r["repo"]),
                ref=f"{r['repo']}#{r['pr']}",
                title=str(r["title"] or ""),
                merged_at=from_db_time(r["merged_at"]),
                live_at={k: from_db_time(v) for k, v in json.loads(r["live_at"] or "{}").items()},
                environments=tuple(json.loads(r["environments"] or "[]")),
                revert_of=r["revert_of"] or None,
            )
            for r in rows
        ]

    # -- what the trace and the incidents recorded -------------------------------------------
    def failures(self, since: datetime, service_of: Mapping[str, str]) -> list[FailureRecord]:
        """Failed rollouts traces saw (first seen failed), for repos in ``service_of``."""
        with self.store.guard():
            rows = self.db.execute(
                "select repo, environment, seen_at, sha from first_seen "
                "where stage = 'rollout' and status = 'failed' and seen_at >= ?",
                [db_time(since)],
            ).fetchall()
        return [
            FailureRecord(
                service_of[r[0]], r[1], from_db_time(r[2]), f"rollout of {r[3][:7]} failed"
            )
            for r in rows
            if r[0] in service_of
        ]

    def incidents(self, since: datetime) -> list[IncidentRecord]:
        with self.store.guard():
            rows = self.db.execute(
                # An episode starts when the drift did (first_seen), as "reconciled after" says.
                "select service, environment, first_seen, resolved_at from incidents "
                "where opened_at is not null and (resolved_at is null or resolved_at >= ?)",
                [db_time(since)],
            ).fetchall()
        return [
            IncidentRecord(r[0], r[1], from_db_time(r[2]), from_db_time(r[3]) if r[3] else None)
            for r in rows
        ]

    # -- digests posted ----------------------------------------------------------------------
    def last_digest_end(self, channel: str) -> datetime | None:
        with self.store.guard():
            row = self.db.execute(
                "select max(window_end) from digests where channel = ? and state = 'posted'",
                [channel],
            ).fetchone()
        return from_db_time(row[0]) if row and row[0] else None

    def window_start(self, channel: str | None, end: datetime) -> datetime:
        """Where a digest ending at ``end`` starts: the channel's previous digest, else 24 h
        before (also for a digest of no channel)."""
        last = self.last_digest_end(channel) if channel else None
        return last if last is not None and last < end else end - FIRST_WINDOW

    def digest_state(self, channel: str, end: datetime) -> tuple[str, str | None] | None:
        with self.store.guard():
            row = self.db.execute(
                "select state, ts from digests where channel = ? and window_end = ?",
                [channel, db_time(end)],
            ).fetchone()
        return (str(row[0]), row[1]) if row else None

    def digest_intent(self, channel: str, start: datetime, end: datetime, late: bool) -> None:
        with self.store.guard():
            self.db.table("digests").insert(
                {
                    "channel": channel,
                    "window_end": db_time(end),
                    "window_start": db_time(start),
                    "state": "intent",
                    "late": int(late),
                },
                pk=("channel", "window_end"),
                ignore=True,
            )

    def digest_posted(self, channel: str, end: datetime, ts: str | None, now: datetime) -> None:
        with self.store.guard():
            self.db.execute(
                "update digests set state = 'posted', ts = ?, posted_at = ? "
                "where channel = ? and window_end = ?",
                [ts, db_time(now), channel, db_time(end)],
            )

    def digest_skipped(self, channel: str, end: datetime) -> None:
        self._set_state(channel, end, "skipped")

    def digest_unbuilt(self, channel: str, end: datetime, why: str) -> None:
        """The digest could not be built this time (it stays pending, to be retried)."""
        with self.store.guard():
            self.db.execute(
                "update digests set unbuilt = ? where channel = ? and window_end = ?",
                [why, channel, db_time(end)],
            )

    def note_intent(self, channel: str, end: datetime) -> None:
        """About to post the "could not be built" note instead of the digest."""
        self._set_state(channel, end, "note")

    def note_posted(self, channel: str, end: datetime, ts: str | None, now: datetime) -> None:
        # Not 'posted': the next digest still starts where the last real one ended.
        with self.store.guard():
            self.db.execute(
                "update digests set state = 'noted', ts = ?, posted_at = ? "
                "where channel = ? and window_end = ?",
                [ts, db_time(now), channel, db_time(end)],
            )

    def pending_digests(self) -> list[PendingDigest]:
        """Digests whose intent was recorded but not their post, oldest first."""
        return self._pending("intent")

    def pending_notes(self) -> list[PendingDigest]:
        """ "Could not be built" notes whose intent was recorded but not their post."""
        return self._pending("note")

    def _pending(self, state: str) -> list[PendingDigest]:
        with self.store.guard():
            rows = self.db.execute(
                "select channel, window_start, window_end, late, unbuilt from digests "
                "where state = ? order by window_end",
                [state],
            ).fetchall()
        return [
            PendingDigest(r[0], from_db_time(r[1]), from_db_time(r[2]), bool(r[3]), r[4])
            for r in rows
        ]

    def _set_state(self, channel: str, end: datetime, state: str) -> None:
        with self.store.guard():
            self.db.execute(
                "update digests set state = ? where channel = ? and window_end = ?",
                [state, channel, db_time(end)],
            )
