"""When following a change ends (pure), and the follows table across its states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.follow.store import Follows, FollowState, follow_ending
from bot.model import Change, ChangeState, Stage, Status, Trace
from bot.store import Store

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
S, R, P, F, U, K, D = (
    Status.SUCCEEDED,
    Status.RUNNING,
    Status.PENDING,
    Status.FAILED,
    Status.UNKNOWN,
    Status.SKIPPED,
    Status.DRIFTED,
)


def trace(*stages: tuple[str, str | None, Status]) -> Trace:
    change = Change("acme/shop", "a" * 40, "acme/shop#1", ChangeState.MERGED, pr=1)
    return Trace(
        change,
        "shop",
        tuple(Stage(i, st, f"{i} detail", environment=e) for i, e, st in stages),
        "where",
    )


@pytest.mark.parametrize(
    ("stages", "age", "outcome", "reason"),
    [
        ([("merge", None, S), ("ci", None, R)], timedelta(0), None, None),
        ([("merge", None, S), ("ci", None, F)], timedelta(0), "failed", "failed at CI: ci detail"),
        (
            [("merge", None, S), ("ci", None, S), ("sync", "staging", S), ("rollout", "prod", F)],
            timedelta(0),
            "failed",
            "failed at rollout in prod: rollout detail",
        ),
        ([("merge", None, K), ("ci", None, K)], timedelta(0), "closed", "closed without merging"),
        (
            [("ci", None, S), ("sync", "staging", S), ("sync", "prod", S), ("rollout", "prod", S)],
            timedelta(0),
            "live",
            "is live in prod",
        ),
        # Live in staging only: keep following.
        (
            [("ci", None, S), ("sync", "staging", S), ("sync", "prod", R), ("rollout", "prod", P)],
            timedelta(hours=1),
            None,
            None,
        ),
        # Drifted or unknown in the last environment is not live.
        ([("ci", None, S), ("sync", "prod", D), ("rollout", "prod", S)], timedelta(0), None, None),
        ([("ci", None, S), ("sync", "prod", S), ("rollout", "prod", U)], timedelta(0), None, None),
        ([("ci", None, S), ("sync", "prod", R)], DAY, "timeout", "stopped following after 24 h"),
        ([("ci", None, S), ("sync", "prod", R)], DAY - timedelta(seconds=1), None, None),
    ],
)
def test_follow_ending(
    stages: list[tuple[str, str | None, Status]],
    age: timedelta,
    outcome: str | None,
    reason: str | None,
) -> None:
    ending = follow_ending(trace(*stages), T0, T0 + age, DAY)
    if outcome is None:
        assert ending is None
        return
    assert ending is not None
    assert ending.outcome == outcome
    assert reason is not None and reason in ending.reason


def test_a_follow_goes_active_ending_ended_and_can_start_again() -> None:
    follows = Follows(Store.memory())
    f = follows.start("C1", "1.0", "acme/shop#1", "U1", T0)
    assert (f.state, f.followers) == (FollowState.ACTIVE, ("U1",))
    f = follows.start("C1", "1.0", "acme/shop#1", "U2", T0)
    f = follows.start("C1", "1.0", "acme/shop#1", "U2", T0)  # twice is once
    assert f.followers == ("U1", "U2")
    follows.updated(f, "abc", T0 + timedelta(minutes=1))
    follows.ending(f, "is live in prod")
    assert [x.ts for x in follows.in_state(FollowState.ENDING)] == ["1.0"]
    assert follows.in_state(FollowState.ACTIVE) == []
    follows.ended(f, T0 + timedelta(minutes=2), "1.5")
    again = follows.start("C1", "1.0", "acme/shop#1", "U3", T0 + timedelta(hours=1))
    assert again.id == f.id
    assert (again.state, again.followers, again.digest) == (FollowState.ACTIVE, ("U3",), None)
    assert again.started_at == T0 + timedelta(hours=1)


def test_the_last_follower_leaving_ends_the_follow() -> None:
    follows = Follows(Store.memory())
    f = follows.start("C1", "1.0", "acme/shop#1", "U1", T0)
    f = follows.start("C1", "1.0", "acme/shop#1", "U2", T0)
    f = follows.unfollow(f, "U1")
    assert (f.state, f.followers) == (FollowState.ACTIVE, ("U2",))
    f = follows.unfollow(f, "U2")
    assert (f.state, f.end_reason) == (FollowState.ENDED, "unfollowed")


def test_an_end_is_decided_only_for_an_active_follow() -> None:
    follows = Follows(Store.memory())
    f = follows.start("C1", "1.0", "acme/shop#1", "U1", T0)
    ended = follows.unfollow(f, "U1")  # stopped while a run was tracing it
    assert follows.ending(ended, "is live in prod") is False
    assert follows.get("C1", "1.0").state is FollowState.ENDED  # type: ignore[union-attr]
    again = follows.start("C1", "1.0", "acme/shop#1", "U2", T0)
    assert follows.ending(again, "is live in prod") is True
