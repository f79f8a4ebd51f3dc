"""The incident plan: what one scan means for each service/environment. Pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.drift.findings import Finding
from bot.drift.incidents import (
    Forget,
    Incident,
    IncidentState,
    Keep,
    Open,
    Resolve,
    Revive,
    Track,
    Update,
    duration_words,
    fingerprint,
    plan,
)
from bot.drift.store import Incidents
from bot.store import Store

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
GRACE = timedelta(minutes=2)
COOLDOWN = timedelta(minutes=30)
KEY = "shop/production"


def finding(
    kind: str = "out-of-sync",
    resources: tuple[str, ...] = ("Deployment shop/shop",),
    since: datetime | None = None,
    summary: str = "OutOfSync",
) -> Finding:
    return Finding(
        "shop",
        "production",
        "sync",
        kind,
        "Argo CD app argocd/shop",
        summary,
        resources=resources,
        since=since,
    )


def incident(
    state: IncidentState,
    *,
    first_seen: datetime = T0,
    ts: str | None = None,
    resolved_at: datetime | None = None,
    findings: tuple[Finding, ...] = (),
) -> Incident:
    found = findings or (finding(),)
    return Incident(
        1,
        KEY,
        "shop",
        "production",
        state,
        first_seen,
        found,
        fingerprint(found),
        channel="C1",
        ts=ts,
        resolved_at=resolved_at,
    )


P, OPENING, OPEN, R = (
    IncidentState.PENDING,
    IncidentState.OPENING,
    IncidentState.OPEN,
    IncidentState.RESOLVED,
)


@pytest.mark.parametrize(
    ("stored", "now", "found", "expected"),
    [
        pytest.param(None, T0, [finding()], Track, id="first sight: remember only"),
        pytest.param(incident(P), T0 + timedelta(minutes=1), [finding()], Keep, id="within grace"),
        pytest.param(incident(P), T0 + GRACE, [finding()], Open, id="grace passed: open"),
        pytest.param(incident(P), T0 + timedelta(minutes=1), [], Forget, id="blip: forget"),
        pytest.param(incident(OPENING), T0 + GRACE, [finding()], Open, id="intent left by a crash"),
        pytest.param(incident(OPENING), T0 + GRACE, [], Resolve, id="intent, then reconciled"),
        pytest.param(incident(OPEN, ts="1.1"), T0 + GRACE, [finding()], Keep, id="same drift"),
        pytest.param(
            incident(OPEN, ts="1.1"),
            T0 + GRACE,
            [finding(resources=("Deployment shop/shop", "Service shop/shop"))],
            Update,
            id="a new resource drifts: material",
        ),
        pytest.param(
            incident(OPEN, ts="1.1"),
            T0 + GRACE,
            [finding(kind="degraded", summary="Degraded")],
            Update,
            id="a different error: material",
        ),
        pytest.param(
            incident(OPEN, ts="1.1"),
            T0 + GRACE,
            [finding(since=T0 - timedelta(hours=1))],
            Keep,
            id="only the time moved",
        ),
        pytest.param(incident(OPEN, ts="1.1"), T0 + GRACE, [], Resolve, id="reconciled"),
        pytest.param(
            incident(R, ts="1.1", resolved_at=T0),
            T0 + timedelta(minutes=5),
            [finding()],
            Revive,
            id="flapping within the cooldown: same thread",
        ),
        pytest.param(
            incident(R, ts="1.1", resolved_at=T0),
            T0 + COOLDOWN,
            [finding()],
            Track,
            id="after the cooldown: a new incident",
        ),
        pytest.param(incident(R, ts="1.1", resolved_at=T0), T0 + COOLDOWN, [], None, id="calm"),
    ],
)
def test_plan(
    stored: Incident | None, now: datetime, found: list[Finding], expected: type | None
) -> None:
    actions = plan(
        [stored] if stored else [], {KEY: found} if found else {}, set(), now, GRACE, COOLDOWN
    )
    if expected is None:
        assert actions == []
        return
    [action] = actions
    assert type(action) is expected


def test_an_unreadable_environment_changes_nothing() -> None:
    open_one = incident(OPEN, ts="1.1")
    assert plan([open_one], {}, {KEY}, T0 + GRACE, GRACE, COOLDOWN) == []


def test_an_episode_starts_when_the_objects_say_it_did() -> None:
    old = T0 - timedelta(hours=1)
    [action] = plan([], {KEY: [finding(since=old)]}, set(), T0, GRACE, COOLDOWN)
    assert isinstance(action, Track) and action.since == old


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=30), "under a minute"),
        (timedelta(minutes=7), "7 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
    ],
)
def test_duration_words(delta: timedelta, words: str) -> None:
    assert duration_words(delta) == words


def test_the_table_keeps_one_thread_through_a_flap() -> None:
    incidents = Incidents(Store.memory())
    inc = incidents.track(KEY, (finding(),), T0)
    inc = incidents.opening(inc, "C1", T0 + GRACE)
    incidents.opened(inc, (finding(),), "1.1", T0 + GRACE)
    incidents.resolved(incidents.get(inc.id), T0 + timedelta(minutes=5))
    [latest] = incidents.current()
    assert (latest.state, latest.ts) == (R, "1.1")
    again = incidents.revive(latest, (finding(kind="degraded"),), T0 + timedelta(minutes=6))
    assert (again.state, again.ts, again.findings[0].kind) == (P, "1.1", "degraded")
    assert again.id != latest.id and again.resolved_at is None  # its own episode
    incidents.forget(again)  # calmed down within the grace: the first episode stays as it was
    [latest] = incidents.current()
    assert (latest.state, latest.ts) == (R, "1.1")
    assert (latest.first_seen, latest.resolved_at) == (T0, T0 + timedelta(minutes=5))
    assert incidents.open_ones() == []


def test_where_drift_stays_within_block_kit_limits_with_long_names() -> None:
    from bot.render.incident import drift_list_message
    from bot.sandbox.slack import block_errors

    long = "checkout-payments-gateway/production-eu-central-1"
    found = (finding(summary="OutOfSync: 12 resources differ from Git; the last sync failed"),)
    many = [
        Incident(i, long, "checkout", "prod", OPEN, T0, found * 2, "", channel="C1", ts=f"{i}.1")
        for i in range(40)
    ]
    message = drift_list_message(many, T0 + GRACE, lambda i: f"https://slack.com/archives/{i.ts}")
    assert block_errors(message.blocks) == []
    assert len(message.blocks) <= 50
