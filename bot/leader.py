"""Leader election over a Kubernetes Lease, so that of several replicas one runs the jobs.

Every replica answers slash commands; only the holder of the Lease runs the scheduled jobs
(wrap each with :func:`leader_only`). One replica needs none of this: build no
:class:`Elector` and leave the jobs unwrapped.

The Lease record and its rules are client-go's (``k8s.io/client-go/tools/leaderelection``):

- ``holderIdentity``: who leads; empty once released. Each replica needs its own identity.
- ``renewTime`` + ``leaseDurationSeconds``: the holder's promise. The Lease is expired when
  ``renewTime + leaseDurationSeconds < now``; then anyone may take it over.
- ``acquireTime``: when the current holder took it; kept across renewals.
- ``leaseTransitions``: incremented each time the holder changes.

Writes are optimistic (``resourceVersion``): of two replicas racing for the same Lease one
write wins and the other gets a conflict, so there is never more than one holder.

The caller ticks every ``duration / 3`` (:attr:`Elector.renew_every`): the holder then renews
twice before the Lease could expire, and a replica whose clock runs ahead of the holder's by
less than about two thirds of the duration never takes a Lease that is still being renewed.
A leader whose renewals fail stops leading at the next tick, and :attr:`Elector.is_leader`
turns False on its own once its last renewal is older than the duration, whether or not it is
still ticking: no two replicas count themselves leader at one instant (of one clock). A job
already running when leadership ends runs to completion.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.errors import KubernetesError
from bot.sources.lease import LeaseConflict, LeaseRecord

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class LeaseStore(Protocol):
    """What the elector needs of a Lease (:class:`bot.sources.lease.LeaseClient`)."""

    async def get(self) -> LeaseRecord | None: ...

    async def create(self, record: LeaseRecord) -> LeaseRecord: ...

    async def replace(self, record: LeaseRecord, resource_version: str) -> LeaseRecord: ...


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...


# -- the decision (pure) -------------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"  # no Lease yet: create it, holding it
    ACQUIRE = "acquire"  # released or expired: take it over
    RENEW = "renew"  # ours: push renewTime on
    FOLLOW = "follow"  # another holder's Lease is live: wait


@dataclass(frozen=True)
class Decision:
    action: Action
    write: LeaseRecord | None  # the record to write; None to FOLLOW


def expired(record: LeaseRecord, now: datetime, default: timedelta) -> bool:
    """``renewTime + leaseDurationSeconds < now`` (``default`` if the record has no duration).

    A record with no renewTime is expired; a released one (no holder) is free whatever its times.
    """
    if record.holder is None or record.renewed_at is None:
        return True
    duration = timedelta(seconds=record.duration_seconds) if record.duration_seconds else default
    return record.renewed_at + duration < now


def decide(
    current: LeaseRecord | None, identity: str, now: datetime, duration: timedelta
) -> Decision:
    """What ``identity`` does at ``now`` with the Lease as read (None: there is none)."""
    seconds = whole_seconds(duration)
    if current is None:
        return Decision(Action.CREATE, LeaseRecord(identity, now, now, seconds, None, 0))
    if current.holder == identity:
        # Ours, even if we were too slow to renew in time: nobody else has written since.
        return Decision(
            Action.RENEW,
            replace(current, renewed_at=now, duration_seconds=seconds, resource_version=None),
        )
    if expired(current, now, duration):
        return Decision(
            Action.ACQUIRE,
            LeaseRecord(identity, now, now, seconds, None, current.transitions + 1),
        )
    return Decision(Action.FOLLOW, None)


def released(current: LeaseRecord, now: datetime) -> LeaseRecord:
    """The record a holder writes on a clean shutdown: no holder, free for anyone now
    (client-go's ``ReleaseOnCancel``: transitions kept, a one-second duration)."""
    return LeaseRecord(None, now, now, 1, None, current.transitions)


def whole_seconds(duration: timedelta) -> int:
    """``leaseDurationSeconds`` is an integer: the duration must be whole seconds, at least 1."""
    seconds = duration.total_seconds()
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"a lease duration is whole seconds, at least 1 (not {seconds:g})")
    return int(seconds)


# -- the elector ---------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Elector:
    """One candidate for the Lease. Call :meth:`tick` every :attr:`renew_every`."""

    def __init__(
        self,
        lease: LeaseStore,
        identity: str,
        duration: timedelta,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        whole_seconds(duration)  # fail at start-up, not at the first tick
        if not identity:
            raise ValueError("a lease candidate needs a non-empty identity")
        self.identity = identity
        self.duration = duration
        self._lease = lease
        self._clock = clock
        self._valid_until: datetime | None = None  # leader until then (our last renewal)
        self._holding = False  # we may be the holder in the store (for release)
        self._state: str | None = None  # what was last logged

    @property
    def renew_every(self) -> timedelta:
        """How often to tick: a third of the duration, as client-go's defaults (15 s / 5 s)."""
        return self.duration / 3

    @property
    def is_leader(self) -> bool:
        """True from a successful acquire or renew until the duration has passed since it."""
        return self._valid_until is not None and self._clock() <= self._valid_until

    async def tick(self) -> bool:
        """Acquire, renew or follow, once. Whether we lead now; never raises."""
        now = self._clock()
        try:
            current = await self._lease.get()
            decision = decide(current, self.identity, now, self.duration)
            if decision.write is None:
                holder = current.holder if current else None
                self._lose(f"following {holder}", f"not leader: {holder} holds the lease")
                return False
            if current is None:
                await self._lease.create(decision.write)
            elif current.resource_version:
                await self._lease.replace(decision.write, current.resource_version)
            else:  # never without a resourceVersion: that would overwrite blindly
                raise KubernetesError("the Lease read back has no resourceVersion")
        except LeaseConflict:
            self._lose("conflict", "not leader: another candidate wrote the lease first")
            return False
        except KubernetesError as exc:
            self._valid_until = None
            self._note(logging.WARNING, f"error {exc.message}", f"not leader: {exc.message}")
            return False
        except Exception as exc:
            self._valid_until = None
            state = f"error {type(exc).__name__}: {exc}"
            if state != self._state:
                log.exception("leader election (%s): not leader: unexpected failure", self.identity)
            self._state = state
            return False
        self._holding = True
        self._valid_until = now + self.duration
        verb = {Action.CREATE: "acquired", Action.ACQUIRE: "acquired", Action.RENEW: "holding"}
        self._note(logging.INFO, "leader", f"leader: {verb[decision.action]} the lease")
        return True

    async def run(self) -> None:
        """:meth:`tick` for a scheduler job (which wants None back)."""
        await self.tick()

    async def release(self) -> None:
        """On a clean shutdown: stop leading and, if we hold the Lease, free it for the others
        at once. Best effort: a failure is logged, and the Lease then expires on its own."""
        self._valid_until = None
        if not self._holding:
            return
        self._holding = False
        try:
            current = await self._lease.get()
            if current is None or current.holder != self.identity or not current.resource_version:
                return
            await self._lease.replace(released(current, self._clock()), current.resource_version)
        except Exception as exc:
            text = exc.message if isinstance(exc, KubernetesError) else repr(exc)
            log.warning(
                "leader election (%s): could not release the lease: %s", self.identity, text
            )
            return
        log.info("leader election (%s): released the lease", self.identity)

    def _lose(self, state: str, message: str) -> None:
        self._valid_until = None
        self._holding = False
        self._note(logging.INFO, state, message)

    def _note(self, level: int, state: str, message: str) -> None:
        """Log ``message`` only when the state changes: a tick every few seconds stays quiet."""
        if state != self._state:
            log.log(level, "leader election (%s): %s", self.identity, message)
        self._state = state


def leader_only(elector: Leadership | None, job: Job) -> Job:
    """``job``, run only while ``elector`` leads; ``job`` itself when there is no elector
    (one replica)."""
    if elector is None:
        return job

    @functools.wraps(job)
    async def run() -> None:
        if elector.is_leader:
            await job()
        else:
            log.debug("skipped a scheduled job: not the leader")

    return run
