"""The database: one SQLite file (WAL), ordered migrations, two caches and first-seen times.

Caches:
- ``http_cache``: per URL, the last body with its ETag / Last-Modified, so a repeat look-up
  is a conditional request (a 304 is free of rate limit) that serves the stored body.
- ``facts``: things about a SHA that never change (a commit, the compare of two SHAs), served
  with no request at all; also the web host GitHub's ``html_url`` names (``bot.trace.webhost``).

All access happens on the event loop's thread; the store is small and each call is one
indexed statement, so it does not need a thread of its own. What could hold the loop is
SQLite's wait for another process's lock: the bot sets that wait short (``wait_for_locks``),
so a held lock is answered at once with ``StoreBusy`` instead of stalling every request.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.errors import StoreBusy, StoreError

migrations = Migrations("shiptrace")


@migrations()
def m001_caches(db: sqlite_utils.Database) -> None:
    db.table("http_cache").create(
        {"url": str, "etag": str, "last_modified": str, "body": str, "stored_at": str},
        pk="url",
    )
    db.table("facts").create({"key": str, "value": str, "stored_at": str}, pk="key")


@migrations()
def m002_first_seen(db: sqlite_utils.Database) -> None:
    # When the bot first saw a continuous stage in a status: APIs keep no such history.
    db.table("first_seen").create(
        {
            "repo": str,
            "sha": str,
            "environment": str,
            "stage": str,
            "status": str,
            "revision": str,
            "seen_at": str,
        },
        pk=("repo", "sha", "environment", "stage", "status"),
    )


@migrations()
def m003_follows(db: sqlite_utils.Database) -> None:
    # Shared messages that update themselves until the change is live, fails or times out.
    # state: active -> ending (final reply about to be posted) -> ended.
    db.table("follows").create(
        {
            "id": int,
            "channel": str,
            "ts": str,
            "ref": str,
            "followers": str,
            "started_at": str,
            "state": str,
            "digest": str,
            "updated_at": str,
            "end_reason": str,
            "ended_at": str,
            "reply_ts": str,
        },
        pk="id",
        not_null={"channel", "ts", "ref", "followers", "started_at", "state"},
    )
    db.table("follows").create_index(["channel", "ts"], unique=True)
    db.table("follows").create_index(["state"])


@migrations()
def m004_incidents(db: sqlite_utils.Database) -> None:
    # Drift incidents: pending -> opening (parent about to be posted) -> open -> resolved.
    db.table("incidents").create(
        {
            "id": int,
            "key": str,
            "service": str,
            "environment": str,
            "state": str,
            "first_seen": str,
            "findings": str,
            "fingerprint": str,
            "channel": str,
            "ts": str,
            "opened_at": str,
            "resolved_at": str,
            "intent_at": str,
        },
        pk="id",
        not_null={"key", "service", "environment", "state", "first_seen"},
    )
    db.table("incidents").create_index(["key"])
    db.table("incidents").create_index(["state"])


@migrations()
def m005_delivery(db: sqlite_utils.Database) -> None:
    # What the digest counts. deployments: each new version first seen running in an
    # environment (baseline = the version found on the first look, not a deployment).
    db.table("deployments").create(
        {
            "id": int,
            "service": str,
            "environment": str,
            "version": str,
            "seen_at": str,
            "baseline": int,
        },
        pk="id",
        not_null={"service", "environment", "version", "seen_at"},
    )
    db.table("deployments").create_index(["service", "environment", "id"])
    # Merged changes the digest traced: when each went live where.
    db.table("changes").create(
        {
            "repo": str,
            "pr": int,
            "service": str,
            "sha": str,
            "title": str,
            "url": str,
            "merged_at": str,
            "environments": str,
            "live_at": str,
            "revert_of": str,
            "traced_at": str,
        },
        pk=("repo", "pr"),
    )
    # One digest per channel per window: intent recorded before posting.
    db.table("digests").create(
        {
            "channel": str,
            "window_end": str,
            "window_start": str,
            "state": str,
            "ts": str,
            "late": int,
            "posted_at": str,
        },
        pk=("channel", "window_end"),
    )


@migrations()
def m006_digest_unbuilt(db: sqlite_utils.Database) -> None:
    # Why a digest could not be built (GitHub unreadable): retried within the grace, then a
    # short note says so. States gain note (about to post it) and noted (posted).
    db.table("digests").add_column("unbuilt", str)


@migrations()
def m007_exported_spans(db: sqlite_utils.Database) -> None:
    # Spans serve sent to the OpenTelemetry collector, by key (ids and outcome): a span is
    # sent again only when its key is new, so a restart neither loses nor repeats spans.
    db.table("exported_spans").create(
        {"key": str, "trace_id": str, "exported_at": str}, pk="key", not_null={"trace_id"}
    )
    db.table("exported_spans").create_index(["trace_id"])


@dataclass(frozen=True)
class CachedResponse:
    etag: str | None
    last_modified: str | None
    body: Any


class Store:
    def __init__(self, db: sqlite_utils.Database, name: str) -> None:
        self.db = db
        self.name = name

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, busy_timeout: float = 5.0) -> Store:
        """Open (creating if needed) and migrate the database at ``path``."""
        name = str(path)
        try:
            if name == ":memory:":
                db = sqlite_utils.Database(memory=True)
            else:
                conn = sqlite3.connect(name, timeout=busy_timeout, isolation_level=None)
                db = sqlite_utils.Database(conn)
                db.enable_wal()
                # WAL stays consistent without a disk flush per commit (only a power cut can
                # lose the last writes: cache entries and first-seen times); a flush per
                # write held the event loop for milliseconds.
                db.execute("pragma synchronous = normal")
            migrations.apply(db)
        except sqlite3.OperationalError as exc:
            raise StoreError(_explain(name, exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{name} is not a shiptrace database ({exc}); move it aside or set SHIPTRACE_DB"
            ) from None
        return cls(db, name)

    @classmethod
    def memory(cls) -> Store:
        return cls.open(":memory:")

    def close(self) -> None:
        self.db.close()

    def wait_for_locks(self, seconds: float) -> None:
        """How long a statement waits for another process's lock before ``StoreBusy``."""
        self.db.execute(f"pragma busy_timeout = {round(seconds * 1000)}")

    def ping(self) -> bool:
        """Whether the database answers (for /readyz)."""
        try:
            self.db.execute("select count(*) from follows").fetchone()
        except sqlite3.Error:
            return False
        return True

    @contextmanager
    def guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusy(f"{self.name} is busy: another process holds its lock") from None
            raise StoreError(_explain(self.name, exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.name} is damaged ({exc}); move it aside") from None

    # -- HTTP revalidation cache --------------------------------------------------------
    def cached_response(self, url: str) -> CachedResponse | None:
        with self.guard():
            row = self.db.execute(
                "select etag, last_modified, body from http_cache where url = ?", [url]
            ).fetchone()
        if row is None:
            return None
        return CachedResponse(etag=row[0], last_modified=row[1], body=json.loads(row[2]))

    def store_response(
        self, url: str, etag: str | None, last_modified: str | None, body: Any
    ) -> None:
        if etag is None and last_modified is None:
            return
        with self.guard():
            self.db.table("http_cache").upsert(
                {
                    "url": url,
                    "etag": etag,
                    "last_modified": last_modified,
                    "body": json.dumps(body, separators=(",", ":")),
                    "stored_at": _now(),
                },
                pk="url",
            )

    # -- facts that never change ---------------------------------------------------------
    def fact(self, key: str) -> Any | None:
        with self.guard():
            row = self.db.execute("select value from facts where key = ?", [key]).fetchone()
        return None if row is None else json.loads(row[0])

    def remember(self, key: str, value: Any) -> None:
        with self.guard():
            self.db.table("facts").upsert(
                {
                    "key": key,
                    "value": json.dumps(value, separators=(",", ":")),
                    "stored_at": _now(),
                },
                pk="key",
            )

    # -- first-seen times of continuous stages --------------------------------------------
    def seen_at(
        self, repo: str, sha: str, environment: str, stage: str, status: str
    ) -> datetime | None:
        """When this stage was first seen in ``status``; None when never. Records nothing."""
        with self.guard():
            row = self.db.execute(
                "select seen_at from first_seen where repo=? and sha=? and environment=? "
                "and stage=? and status=?",
                [repo.lower(), sha, environment, stage, status],
            ).fetchone()
        return None if row is None else from_db_time(row[0])

    def first_seen(
        self,
        repo: str,
        sha: str,
        environment: str,
        stage: str,
        status: str,
        now: datetime,
        revision: str = "",
    ) -> datetime:
        """Record ``now`` as the first time this stage was seen in ``status`` unless known."""
        key = [repo.lower(), sha, environment, stage, status]
        with self.guard():
            row = self.db.execute(
                "select seen_at from first_seen where repo=? and sha=? and environment=? "
                "and stage=? and status=?",
                key,
            ).fetchone()
            if row is not None:
                return from_db_time(row[0])
            self.db.table("first_seen").insert(
                {
                    "repo": key[0],
                    "sha": sha,
                    "environment": environment,
                    "stage": stage,
                    "status": status,
                    "revision": revision,
                    "seen_at": db_time(now),
                },
                pk=("repo", "sha", "environment", "stage", "status"),
                ignore=True,
            )
        return now


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    primary = exc.sqlite_errorcode & 0xFF  # e.g. SQLITE_BUSY_SNAPSHOT is a kind of SQLITE_BUSY
    return primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


def _explain(name: str, exc: sqlite3.OperationalError) -> str:
    text = str(exc)
    if _is_busy(exc):
        return f"{name} is locked by another process; stop it or set SHIPTRACE_DB to another file"
    if "unable to open" in text or "readonly" in text:
        return (
            f"cannot open {name} ({text}); check the path and its permissions or set SHIPTRACE_DB"
        )
    return f"cannot use {name} ({text})"


def db_time(when: datetime) -> str:
    """The one way times are stored: ISO 8601 in UTC, so that they compare as strings."""
    return when.astimezone(UTC).isoformat()


def from_db_time(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _now() -> str:
    return db_time(datetime.now(UTC))
