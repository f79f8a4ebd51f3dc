"""More than one replica: two candidates for one Lease on a real (emulated) API server, over
HTTP with the official client, with a clock the test moves. Exactly one leads; the other takes
over once the leader stops renewing, or at once when it releases the Lease."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.leader import Elector
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from bot.sources.cluster import Clusters
from bot.sources.lease import LeaseClient, LeaseConflict, LeaseRecord

NS, NAME = "shiptrace", "shiptrace-leader"
DURATION = timedelta(seconds=15)
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def emu() -> Iterator[KubeEmulator]:
    with KubeEmulator("main") as emu:
        emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        yield emu


@pytest.fixture
async def leases(emu: KubeEmulator, tmp_path: Path) -> AsyncIterator[tuple[LeaseClient, ...]]:
    """Two replicas' Lease clients, each through its own kubeconfig client, as the bot wires it."""
    kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", {"main": emu}))
    replicas = [Clusters(kubeconfig), Clusters(kubeconfig)]
    clients = tuple(LeaseClient(c.client(None).api, NS, NAME) for c in replicas)
    yield clients
    for lease in clients:
        lease.close()
    for c in replicas:
        c.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def stored(emu: KubeEmulator) -> dict[str, object]:
    lease = emu.get("coordination.k8s.io/v1", "Lease", NS, NAME)
    assert lease is not None
    return dict(lease["spec"])


async def test_one_leader_renewing_then_the_other_takes_over_when_it_stops(
    emu: KubeEmulator, leases: tuple[LeaseClient, LeaseClient], clock: Clock
) -> None:
    a = Elector(leases[0], "a", DURATION, clock)
    b = Elector(leases[1], "b", DURATION, clock)
    assert [await a.tick(), await b.tick()] == [True, False]
    first = stored(emu)
    assert first["holderIdentity"] == "a" and first["leaseDurationSeconds"] == 15
    assert first["leaseTransitions"] == 0 and first["acquireTime"] == first["renewTime"]

    for _ in range(6):  # 30 s of renewals every duration/3: same leader, the other never
        clock.advance(a.renew_every.total_seconds())
        assert [await b.tick(), await a.tick()] == [False, True]
        assert (a.is_leader, b.is_leader) == (True, False)
    renewed = stored(emu)
    assert renewed["holderIdentity"] == "a" and renewed["acquireTime"] == first["acquireTime"]
    assert renewed["renewTime"] == "2026-11-26T10:00:30.000000Z"  # MicroTime, as written
    puts = [r for r in emu.requests if r.method == "PUT"]
    assert len(puts) == 6 and all(MICRO_TIME.match(r.body["spec"]["renewTime"]) for r in puts)

    clock.advance(15)  # a stops renewing: its lease is live up to exactly 15 s...
    assert await b.tick() is False and a.is_leader
    clock.advance(0.001)  # ...and expired just after, for both of them
    assert not a.is_leader
    assert await b.tick() is True and b.is_leader
    taken = stored(emu)
    assert taken["holderIdentity"] == "b" and taken["leaseTransitions"] == 1
    assert taken["acquireTime"] == taken["renewTime"] == "2026-11-26T10:00:45.001000Z"

    assert await a.tick() is False and not a.is_leader  # back again: it follows b
    clock.advance(5)
    assert [await a.tick(), await b.tick()] == [False, True]


class Gated:
    """A replica's Lease client that waits, after reading, until the other has read too: both
    decide on the same record, then race to write it."""

    def __init__(self, lease: LeaseClient, barrier: asyncio.Barrier) -> None:
        self.lease, self.barrier = lease, barrier
        self.conflicts = 0

    async def get(self) -> LeaseRecord | None:
        record = await self.lease.get()
        await self.barrier.wait()
        return record

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        return await self._count(self.lease.create(record))

    async def replace(self, record: LeaseRecord, resource_version: str) -> LeaseRecord:
        return await self._count(self.lease.replace(record, resource_version))

    async def _count(self, write: Awaitable[LeaseRecord]) -> LeaseRecord:
        try:
            return await write
        except LeaseConflict:
            self.conflicts += 1
            raise


async def test_racing_for_an_absent_then_an_expired_lease_makes_exactly_one_leader(
    emu: KubeEmulator, leases: tuple[LeaseClient, LeaseClient], clock: Clock
) -> None:
    barrier = asyncio.Barrier(2)
    gated = Gated(leases[0], barrier), Gated(leases[1], barrier)
    a, b = Elector(gated[0], "a", DURATION, clock), Elector(gated[1], "b", DURATION, clock)

    results = await asyncio.gather(a.tick(), b.tick())  # both read "absent", both create
    assert sorted(results) == [False, True] and a.is_leader != b.is_leader
    assert [r.status for r in emu.requests if r.method == "POST"] in ([201, 409], [409, 201])
    assert gated[0].conflicts + gated[1].conflicts == 1
    winner = "a" if a.is_leader else "b"
    assert stored(emu)["holderIdentity"] == winner

    # The winner goes quiet; the lease expires; a third candidate and the loser race for it
    # with the same resourceVersion: one PUT wins, the other is a 409.
    quiet = gated[0] if winner == "a" else gated[1]  # c runs on the quiet winner's pod
    c = Elector(quiet, "c", DURATION, clock)
    loser = b if winner == "a" else a
    clock.advance(16)
    results = await asyncio.gather(loser.tick(), c.tick())
    assert sorted(results) == [False, True] and loser.is_leader != c.is_leader
    assert [r.status for r in emu.requests if r.method == "PUT"] in ([200, 409], [409, 200])
    assert stored(emu)["leaseTransitions"] == 1


async def test_release_lets_the_other_acquire_at_once(
    emu: KubeEmulator, leases: tuple[LeaseClient, LeaseClient], clock: Clock
) -> None:
    a = Elector(leases[0], "a", DURATION, clock)
    b = Elector(leases[1], "b", DURATION, clock)
    assert [await a.tick(), await b.tick()] == [True, False]
    clock.advance(1)
    await a.release()  # clean shutdown
    assert not a.is_leader
    freed = stored(emu)
    assert "holderIdentity" not in freed and freed["leaseTransitions"] == 0
    assert await b.tick() is True  # no waiting out the 15 s
    assert stored(emu)["holderIdentity"] == "b" and stored(emu)["leaseTransitions"] == 1
    await a.release()  # not holding: nothing written
    assert stored(emu)["holderIdentity"] == "b"


async def test_forbidden_by_rbac_is_not_leader_logged_once_never_raised(
    emu: KubeEmulator,
    leases: tuple[LeaseClient, LeaseClient],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bot.leader")
    a = Elector(leases[0], "a", DURATION, clock)
    emu.fail(r"/leases", status=403)
    for _ in range(3):
        assert await a.tick() is False and not a.is_leader
        clock.advance(5)
    [warning] = [r.getMessage() for r in caplog.records]
    assert "forbids get (403)" in warning
    assert "get, create and update on leases (coordination.k8s.io) in namespace 'shiptrace'" in (
        warning
    )
    emu.clear_faults()
    emu.fail(r"/leases", status=403, method="POST")  # may read but not create
    assert await a.tick() is False
    assert "forbids create (403)" in caplog.records[-1].getMessage()
    emu.clear_faults()
    assert await a.tick() is True


async def test_lease_client_reads_writes_and_reports_conflicts(
    emu: KubeEmulator, leases: tuple[LeaseClient, LeaseClient], clock: Clock
) -> None:
    lease = leases[0]
    assert await lease.get() is None
    now = clock()
    made = await lease.create(LeaseRecord("a", now, now, 15, None, 0))
    assert made.resource_version and made == LeaseRecord(
        "a", now, now, 15, made.resource_version, 0
    )
    assert await lease.get() == made
    with pytest.raises(LeaseConflict, match="409"):
        await lease.create(made)
    later = now + timedelta(seconds=5, microseconds=123456)
    renewed = await lease.replace(LeaseRecord("a", now, later, 15, None, 0), made.resource_version)
    assert renewed.renewed_at == later and stored(emu)["renewTime"] == "2026-11-26T10:00:05.123456Z"
    with pytest.raises(LeaseConflict):
        await lease.replace(renewed, made.resource_version)  # stale resourceVersion
    emu.stop()
    with pytest.raises(Exception, match="unreachable") as err:
        await lease.get()
    assert type(err.value).__name__ == "KubernetesError"
