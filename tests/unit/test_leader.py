"""Leader election: the decision per tick (pure), the elector over an in-memory Lease."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import KubernetesError
from bot.leader import (
    Action,
    Decision,
    Elector,
    decide,
    expired,
    leader_only,
    released,
    whole_seconds,
)
from bot.sources.lease import LeaseConflict, LeaseRecord

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
D = timedelta(seconds=15)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def held(holder: str | None, renewed: float, duration: int | None = 15, n: int = 2) -> LeaseRecord:
    return LeaseRecord(holder, at(-100), at(renewed), duration, "7", n)


# now = T0 + 0 in every row; "a" is asking.
DECISIONS = [
    ("no lease: create it", None, Decision(Action.CREATE, LeaseRecord("a", T0, T0, 15, None, 0))),
    (
        "ours, fresh: renew, keeping acquireTime and transitions",
        held("a", -5),
        Decision(Action.RENEW, LeaseRecord("a", at(-100), T0, 15, None, 2)),
    ),
    (
        "ours, even past its duration: renew (nobody wrote since)",
        held("a", -60),
        Decision(Action.RENEW, LeaseRecord("a", at(-100), T0, 15, None, 2)),
    ),
    ("b's, fresh: follow", held("b", -5), Decision(Action.FOLLOW, None)),
    (
        "b's, renewed exactly a duration ago: still live",
        held("b", -15),
        Decision(Action.FOLLOW, None),
    ),
    (
        "b's, a microsecond past its duration: take over, one more transition",
        LeaseRecord("b", at(-100), at(-15) - timedelta(microseconds=1), 15, "7", 2),
        Decision(Action.ACQUIRE, LeaseRecord("a", T0, T0, 15, None, 3)),
    ),
    (
        "b's own longer duration counts, not ours",
        held("b", -20, duration=30),
        Decision(Action.FOLLOW, None),
    ),
    (
        "b's, no duration written: ours counts",
        held("b", -16, duration=None),
        Decision(Action.ACQUIRE, LeaseRecord("a", T0, T0, 15, None, 3)),
    ),
    (
        "b's, never renewed: expired",
        LeaseRecord("b", None, None, 15, "7", 2),
        Decision(Action.ACQUIRE, LeaseRecord("a", T0, T0, 15, None, 3)),
    ),
    (
        "released (no holder), renewed just now: free at once",
        held(None, 0, duration=1),
        Decision(Action.ACQUIRE, LeaseRecord("a", T0, T0, 15, None, 3)),
    ),
]


@pytest.mark.parametrize(
    ("current", "expected"), [row[1:] for row in DECISIONS], ids=[row[0] for row in DECISIONS]
)
def test_decide(current: LeaseRecord | None, expected: Decision) -> None:
    assert decide(current, "a", T0, D) == expected


@pytest.mark.parametrize(
    ("record", "now", "is_expired"),
    [
        (held("b", 0), at(15), False),
        (held("b", 0), at(15.000001), True),
        (held("b", 0, duration=60), at(59), False),
        (held(None, 0), at(0), True),
        (LeaseRecord("b", T0, None, 15, "1", 0), T0, True),
    ],
)
def test_expired(record: LeaseRecord, now: datetime, is_expired: bool) -> None:
    assert expired(record, now, D) is is_expired


def test_released_keeps_transitions_and_frees_the_lease_now() -> None:
    assert released(held("a", -3, n=4), T0) == LeaseRecord(None, T0, T0, 1, None, 4)


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [(timedelta(seconds=15), 15), (timedelta(minutes=1), 60), (timedelta(seconds=1), 1)],
)
def test_whole_seconds(duration: timedelta, seconds: int) -> None:
    assert whole_seconds(duration) == seconds


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=0.5), timedelta(seconds=1.5)])
def test_a_duration_must_be_whole_seconds(duration: timedelta) -> None:
    with pytest.raises(ValueError, match="whole seconds"):
        Elector(Memory(), "a", duration)


# --- the elector over an in-memory Lease ---------------------------------------------------------


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Memory:
    """A Lease in memory with the API server's optimistic concurrency."""

    record: LeaseRecord | None = None
    version: int = 0
    fail: Exception | None = None
    writes: list[LeaseRecord] = field(default_factory=list)

    async def get(self) -> LeaseRecord | None:
        if self.fail:
            raise self.fail
        return self.record

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        if self.record is not None:
            raise LeaseConflict("exists")
        return self._write(record)

    async def replace(self, record: LeaseRecord, resource_version: str) -> LeaseRecord:
        if self.record is None or self.record.resource_version != resource_version:
            raise LeaseConflict("stale")
        return self._write(record)

    def _write(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.record = LeaseRecord(
            record.holder,
            record.acquired_at,
            record.renewed_at,
            record.duration_seconds,
            str(self.version),
            record.transitions,
        )
        self.writes.append(self.record)
        return self.record


async def test_is_leader_ends_by_itself_a_duration_after_the_last_renewal() -> None:
    clock = Clock()
    a = Elector(Memory(), "a", D, clock)
    assert not a.is_leader
    assert await a.tick() and a.is_leader
    assert a.renew_every == timedelta(seconds=5)
    clock.advance(15)
    assert a.is_leader  # renewed_at + duration == now: still valid, as for the others
    clock.advance(0.001)
    assert not a.is_leader  # it stopped ticking; another may hold the lease by now


async def test_failures_mean_not_leader_logged_once_per_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bot.leader")
    clock = Clock()
    lease = Memory()
    a = Elector(lease, "a", D, clock)
    assert await a.tick()
    lease.fail = KubernetesError("forbidden (403)")
    for _ in range(3):
        clock.advance(5)
        assert await a.tick() is False and not a.is_leader
    lease.fail = RuntimeError("bug")
    assert await a.tick() is False and await a.tick() is False
    lease.fail = None
    assert await a.tick()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "leader election (a): leader: acquired the lease",
        "leader election (a): not leader: forbidden (403)",
        "leader election (a): not leader: unexpected failure",
        "leader election (a): leader: holding the lease",
    ]


async def test_release_only_when_holding_and_never_raises() -> None:
    clock = Clock()
    lease = Memory()
    a, b = Elector(lease, "a", D, clock), Elector(lease, "b", D, clock)
    await b.release()  # never held: no read, no write
    assert lease.writes == []
    assert await a.tick() and not await b.tick()
    await b.release()
    assert len(lease.writes) == 1
    await a.release()
    assert not a.is_leader and lease.record is not None and lease.record.holder is None
    await a.release()  # twice is harmless
    assert len(lease.writes) == 2
    assert await b.tick()
    lease.fail = KubernetesError("unreachable")
    await b.release()  # logged, not raised
    assert not b.is_leader


async def test_leader_only_runs_the_job_only_while_leading() -> None:
    runs: list[str] = []

    async def scan() -> None:
        runs.append("scan")

    @dataclass
    class Fixed:
        is_leader: bool

    assert leader_only(None, scan) is scan  # one replica: nothing wrapped
    await leader_only(Fixed(False), scan)()
    assert runs == []
    await leader_only(Fixed(True), scan)()
    assert runs == ["scan"]
    assert leader_only(Fixed(True), scan).__name__ == "scan"
