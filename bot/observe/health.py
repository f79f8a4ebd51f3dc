"""The state of each outside dependency, for ``/readyz``: from real traffic, else a probe.

``/readyz`` is asked every few seconds; asking GitHub or every cluster each time would cost
requests and make readiness as slow as the slowest of them. What the bot's own requests last
showed stands for ``ttl`` seconds; past that (or when nothing is known yet) one cheap probe
runs, and its answer stands as long. A probe slower than ``wait`` seconds is reported as
unknown (``None``) and goes on in the background: the next ``/readyz`` has its answer.

Which checks make the pod unready is the caller's choice (``bot.app``): restarting a pod
mends a broken database or websocket, but not GitHub or a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ShiptraceError

TTL = 30.0  # seconds a state seen stands before a probe asks again
WAIT = 2.0  # seconds /readyz waits for a probe (the readiness probe's timeout is 5 s)

Probe = Callable[[], Awaitable[None]]  # raises ShiptraceError when the dependency is down


@dataclass(frozen=True)
class Seen:
    problem: str | None  # None: it answered
    at: float  # the clock's seconds

    @property
    def ok(self) -> bool:
        return self.problem is None


class Health:
    """The last state seen of each dependency, by name ("github", "cluster:prod")."""

    def __init__(
        self,
        ttl: float = TTL,
        wait: float = WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.wait = wait
        self._clock = clock
        self._lock = threading.Lock()  # the clients report from their worker threads
        self._seen: dict[str, Seen] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}

    def saw(self, name: str, problem: str | None) -> None:
        with self._lock:
            self._seen[name] = Seen(problem, self._clock())

    def last(self, name: str) -> Seen | None:
        """What was last seen of ``name`` within ``ttl``; None when nothing recent is known."""
        with self._lock:
            seen = self._seen.get(name)
        if seen is None or self._clock() - seen.at > self.ttl:
            return None
        return seen

    async def check(self, name: str, probe: Probe) -> Seen | None:
        """The recent state of ``name``, probing when none is known; None when the probe has
        not answered within ``wait`` seconds (it goes on; its answer is kept)."""
        seen = self.last(name)
        if seen is not None:
            return seen
        task = self._probes.get(name)
        if task is None or task.done():
            task = asyncio.create_task(self._probe(name, probe))
            self._probes[name] = task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), self.wait)
        return self.last(name)

    async def _probe(self, name: str, probe: Probe) -> None:
        try:
            await probe()
        except ShiptraceError as exc:
            self.saw(name, exc.message)
        else:
            self.saw(name, None)

    async def readiness(
        self, required: Mapping[str, str | None], probes: Mapping[str, Probe]
    ) -> dict[str, Any]:
        """``/readyz``'s answer: ready when every ``required`` check passes (name -> problem,
        None when it passes); ``probes`` are reported (checked as :meth:`check` does) but do
        not count. ``checks`` says true / false (null: a probe is still out) for each,
        ``down`` why each one that failed did."""
        names = list(probes)
        seen = await asyncio.gather(*(self.check(name, probes[name]) for name in names))
        checks: dict[str, bool | None] = {
            name: problem is None for name, problem in required.items()
        }
        down = {name: problem for name, problem in required.items() if problem is not None}
        for name, state in zip(names, seen, strict=True):
            checks[name] = None if state is None else state.ok
            if state is not None and state.problem is not None:
                down[name] = state.problem
        ready = all(problem is None for problem in required.values())
        return {"ready": ready, "checks": checks, "required": list(required), "down": down}

    async def close(self) -> None:
        """Stop the probes still running."""
        for task in self._probes.values():
            task.cancel()
        for task in self._probes.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
