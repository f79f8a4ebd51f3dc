"""Followed changes: which shared messages update themselves, and when following ends.

A follow is one shared Slack message (channel + ts) for one change, with the people who asked
to follow it. It is ``active`` while the message is kept up to date, ``ending`` once the end is
decided but the final thread reply is not yet known to be posted, and ``ended`` after that.
Recording ``ending`` before posting is what keeps a restart from posting the reply twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.model import Status, Trace
from bot.store import Store, db_time, from_db_time


class FollowState(StrEnum):
    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"


@dataclass(frozen=True)
class Follow:
    id: int
    channel: str
    ts: str
    ref: str
    followers: tuple[str, ...]
    started_at: datetime
    state: FollowState
    digest: str | None = None
    updated_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Ending:
    """Why following stops; ``reason`` completes "acme/shop#412 …"."""

    reason: str
    outcome: str  # live | failed | closed | timeout


def follow_ending(
    trace: Trace, started_at: datetime, now: datetime, max_age: timedelta
) -> Ending | None:
    """Whether following ``trace`` should end now. Pure."""
    for stage in trace.stages:
        if stage.status is Status.FAILED:
            where = f" in {stage.environment}" if stage.environment else ""
            return Ending(f"failed at {_STAGE_NAMES[stage.id]}{where}: {stage.detail}", "failed")
    merge = next((s for s in trace.stages if s.id == "merge"), None)
    if merge is not None and merge.status is Status.SKIPPED:
        return Ending("was closed without merging", "closed")
    envs = [s.environment for s in trace.stages if s.environment is not None]
    if envs and trace.is_live_in(envs[-1]):
        return Ending(f"is live in {envs[-1]}", "live")
    if now - started_at >= max_age:
        return Ending(f"is still on its way; stopped following after {_age(max_age)}", "timeout")
    return None


_STAGE_NAMES = {
    "merge": "merge",
    "ci": "CI",
    "promote": "promote",
    "sync": "sync",
    "rollout": "rollout",
}


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h"


class Follows:
    """The ``follows`` table. Each call is one statement on the event loop's thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.table = store.db.table("follows")

    def get(self, channel: str, ts: str) -> Follow | None:
        with self.store.guard():
            rows = list(self.table.rows_where("channel = ? and ts = ?", [channel, ts]))
        return _follow(rows[0]) if rows else None

    def in_state(self, state: FollowState) -> list[Follow]:
        with self.store.guard():
            rows = list(self.table.rows_where("state = ?", [state.value], order_by="id"))
        return [_follow(r) for r in rows]

    def start(self, channel: str, ts: str, ref: str, user: str, now: datetime) -> Follow:
        """Follow the message, or add ``user`` to its followers; an ended follow starts again."""
        current = self.get(channel, ts)
        with self.store.guard():
            if current is None:
                self.table.insert(
                    {
                        "channel": channel,
                        "ts": ts,
                        "ref": ref,
                        "followers": json.dumps([user]),
                        "started_at": db_time(now),
                        "state": FollowState.ACTIVE.value,
                    }
                )
            elif current.state is not FollowState.ACTIVE:
                self.table.update(
                    current.id,
                    {
                        "ref": ref,
                        "followers": json.dumps([user]),
                        "started_at": db_time(now),
                        "state": FollowState.ACTIVE.value,
                        "digest": None,
                        "end_reason": None,
                        "ended_at": None,
                        "reply_ts": None,
                    },
                )
            elif user not in current.followers:
                self.table.update(current.id, {"followers": json.dumps([*current.followers, user])})
        follow = self.get(channel, ts)
        assert follow is not None
        return follow

    def unfollow(self, follow: Follow, user: str) -> Follow:
        rest = [u for u in follow.followers if u != user]
        with self.store.guard():
            if rest:
                self.table.update(follow.id, {"followers": json.dumps(rest)})
            else:
                self.table.update(
                    follow.id,
                    {
                        "followers": "[]",
                        "state": FollowState.ENDED.value,
                        "end_reason": "unfollowed",
                    },
                )
        updated = self.get(follow.channel, follow.ts)
        assert updated is not None
        return updated

    def updated(self, follow: Follow, digest: str, now: datetime) -> None:
        with self.store.guard():
            self.table.update(follow.id, {"digest": digest, "updated_at": db_time(now)})

    def ending(self, follow: Follow, reason: str) -> bool:
        """Decide the end of an active follow; False when it is no longer active."""
        with self.store.guard():
            cursor = self.store.db.execute(
                "update follows set state = ?, end_reason = ? where id = ? and state = ?",
                [FollowState.ENDING.value, reason, follow.id, FollowState.ACTIVE.value],
            )
        return cursor.rowcount == 1

    def ended(self, follow: Follow, now: datetime, reply_ts: str | None = None) -> None:
        with self.store.guard():
            self.table.update(
                follow.id,
                {
                    "state": FollowState.ENDED.value,
                    "ended_at": db_time(now),
                    "reply_ts": reply_ts,
                },
            )


def _follow(row: dict[str, object]) -> Follow:
    def when(key: str) -> datetime | None:
        value = row.get(key)
        return from_db_time(value) if value else None

    started = when("started_at")
    assert started is not None
    return Follow(
        id=int(str(row["id"])),
        channel=str(row["channel"]),
        ts=str(row["ts"]),
        ref=str(row["ref"]),
        followers=tuple(json.loads(str(row["followers"]))),
        started_at=started,
        state=FollowState(str(row["state"])),
        digest=str(row["digest"]) if row.get("digest") else None,
        updated_at=when("updated_at"),
        end_reason=str(row["end_reason"]) if row.get("end_reason") else None,
    )
