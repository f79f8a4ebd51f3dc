"""The dependencies' states for /readyz: what traffic showed stands a while, else one probe."""

from __future__ import annotations

import asyncio

from bot.errors import GitHubUnavailable, KubernetesError
from bot.observe.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Probe:
    """A probe that counts its calls; fails with ``problem`` when one is set."""

    def __init__(self, problem: str | None = None) -> None:
        self.problem = problem
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.problem is not None:
            raise GitHubUnavailable(self.problem)


async def test_what_traffic_showed_stands_for_the_ttl_then_a_probe_asks() -> None:
    clock, probe = Clock(), Probe()
    health = Health(ttl=30, clock=clock)
    health.saw("github", "GitHub answered 502")
    seen = await health.check("github", probe)
    assert seen is not None and seen.problem == "GitHub answered 502" and probe.calls == 0
    clock.now += 31
    seen = await health.check("github", probe)
    assert seen is not None and seen.ok and probe.calls == 1
    clock.now += 10
    assert (await health.check("github", probe)).ok  # type: ignore[union-attr]
    assert probe.calls == 1  # the probe's answer stands as long


async def test_a_failed_probe_says_why() -> None:
    health = Health(clock=Clock())
    seen = await health.check("github", Probe("GitHub at http://x did not answer (timed out)"))
    assert seen is not None and seen.problem == "GitHub at http://x did not answer (timed out)"


async def test_a_slow_probe_is_unknown_and_its_answer_kept_for_next_time() -> None:
    health = Health(wait=0.01, clock=Clock())
    probe = Probe("cluster 'prod' is unreachable")
    probe.gate = asyncio.Event()
    assert await health.check("cluster:prod", probe) is None
    assert await health.check("cluster:prod", probe) is None
    assert probe.calls == 1  # one probe at a time
    probe.gate.set()
    await asyncio.sleep(0)  # the probe finishes (a wait on our own task, not on time)
    await asyncio.sleep(0)
    seen = await health.check("cluster:prod", probe)
    assert seen is not None and seen.problem == "cluster 'prod' is unreachable"
    assert probe.calls == 1
    await health.close()


async def test_only_the_required_checks_decide_readiness() -> None:
    health = Health(clock=Clock())

    async def refused() -> None:
        raise KubernetesError("cluster 'prod' at https://p is unreachable (connection refused)")

    async def fine() -> None:
        return None

    report = await health.readiness(
        {"store": None}, {"github": fine, "cluster:prod": refused, "cluster:staging": fine}
    )
    assert report == {
        "ready": True,
        "checks": {"store": True, "github": True, "cluster:prod": False, "cluster:staging": True},
        "required": ["store"],
        "down": {"cluster:prod": "cluster 'prod' at https://p is unreachable (connection refused)"},
    }
    down = await health.readiness(
        {"store": "the database does not answer", "slack_socket": None}, {}
    )
    assert down == {
        "ready": False,
        "checks": {"store": False, "slack_socket": True},
        "required": ["store", "slack_socket"],
        "down": {"store": "the database does not answer"},
    }
