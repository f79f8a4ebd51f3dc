"""Drift incidents in Slack: one thread per incident, across scans and restarts.

The drift job is run by the test with the bot's clock moved by the test (grace 2 min,
cooldown 30 min): no sleeping, no real schedule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.drift.incidents import IncidentState
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import APP_URL, live_prod, live_staging, seed, tag
from tests.scenarios.slackbot import DEPLOYS, LOCKED, Clock, block_text, start_bot, where

INCIDENT = "shiptrace_drift_incident"


@pytest.fixture
def s(github: GitHubEmulator, fleet: dict[str, KubeEmulator]) -> shop.Shop:
    s = shop.build(github)
    live_staging(fleet["staging"], s.merged)
    live_prod(fleet["prod"], s.merged)
    return s


def drift_staging(fleet: dict[str, KubeEmulator], s: shop.Shop, *resources: str) -> None:
    """Staging's Argo CD app is OutOfSync on ``resources`` ("Kind name"); none = Synced."""
    app = k.argo_app(
        "shop-staging",
        repo_url=APP_URL,
        revision=s.merged,
        history=[s.merged],
        images=[tag(s.merged)],
        sync="OutOfSync" if resources else "Synced",
    )
    app["status"]["resources"] = [
        k.argo_resource(kind, name, "OutOfSync", group="apps" if kind == "Deployment" else "")
        for kind, name in (r.split() for r in resources)
    ]
    seed(fleet["staging"], app)


def parents(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [
        m for m in slack.messages(DEPLOYS) if (m["metadata"] or {}).get("event_type") == INCIDENT
    ]


def replies(slack: SlackEmulator, ts: str) -> list[str]:
    return [m["text"] for m in slack.messages(DEPLOYS) if m["thread_ts"] == ts and m["ts"] != ts]


async def test_open_update_resolve_in_one_thread(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        assert parents(slack) == []  # not for the grace period yet

        clock.advance(minutes=2)
        await bot.drift_job.run()
        [parent] = parents(slack)
        assert parent["metadata"]["event_payload"]["key"] == "shop/staging"
        shown = block_text(parent["blocks"])
        assert "shop in staging" in shown and "continuous" in shown
        assert "Deployment shop/shop" in shown

        clock.advance(minutes=1)
        await bot.drift_job.run()  # the same drift: nothing to say
        assert replies(slack, parent["ts"]) == []

        drift_staging(fleet, s, "Deployment shop", "Service shop")
        clock.advance(minutes=1)
        await bot.drift_job.run()
        clock.advance(minutes=1)
        await bot.drift_job.run()
        [update] = replies(slack, parent["ts"])
        assert "Service shop/shop" in update

        drift_staging(fleet, s)
        clock.advance(minutes=2)
        await bot.drift_job.run()
        clock.advance(minutes=1)
        await bot.drift_job.run()
    assert len(parents(slack)) == 1
    thread = replies(slack, parent["ts"])
    assert len(thread) == 2
    assert thread[1] == ":white_check_mark: Reconciled after 7 min."
    [resolved] = parents(slack)
    assert "Resolved: shop in staging" in block_text(resolved["blocks"])


async def test_a_blip_shorter_than_the_grace_posts_nothing(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        clock.advance(minutes=1)
        await bot.drift_job.run()  # still drifting, still within the grace
        clock.advance(seconds=50)
        drift_staging(fleet, s)
        await bot.drift_job.run()
        clock.advance(minutes=5)
        await bot.drift_job.run()
        assert bot.deps.incidents.current() == []
    assert slack.calls_to("chat.postMessage") == []


async def test_flapping_reuses_the_thread_within_the_cooldown(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        for _ in range(2):  # drift for the grace, then reconcile: twice
            drift_staging(fleet, s, "Deployment shop")
            await bot.drift_job.run()
            clock.advance(minutes=2)
            await bot.drift_job.run()
            drift_staging(fleet, s)
            clock.advance(minutes=1)
            await bot.drift_job.run()
            clock.advance(minutes=5)
        [parent] = parents(slack)
        thread = replies(slack, parent["ts"])
        assert [t.split(":")[1] for t in thread] == [
            "white_check_mark",
            "warning",
            "white_check_mark",
        ]
        assert "Drifting again" in thread[1]

        clock.advance(minutes=40)  # past the cooldown: a new incident, a new thread
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        clock.advance(minutes=2)
        await bot.drift_job.run()
    assert len(parents(slack)) == 2


async def test_killed_after_posting_the_parent_does_not_post_it_again(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    drift_staging(fleet, s, "Deployment shop")
    async with start_bot(workdir, slack, clock) as bot:
        await bot.drift_job.run()
        [pending] = bot.deps.incidents.current()
        clock.advance(minutes=2)
        # What a run does before it dies: records the intent, posts the parent, and is killed
        # before recording the parent's ts.
        intent = bot.deps.incidents.opening(pending, DEPLOYS, clock())
    client = AsyncWebClient(token=slack.token, base_url=slack.api_url)
    await client.chat_postMessage(
        channel=DEPLOYS,
        text="Drift: shop in staging",
        metadata={
            "event_type": INCIDENT,
            "event_payload": {"incident": intent.id, "key": intent.key},
        },
    )
    clock.advance(minutes=1)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.drift_job.run()
        [recorded] = bot.deps.incidents.current()
        drift_staging(fleet, s, "Deployment shop", "Service shop")
        clock.advance(minutes=1)
        await bot.drift_job.run()
    [parent] = parents(slack)
    assert recorded.state is IncidentState.OPEN and recorded.ts == parent["ts"]
    [update] = replies(slack, parent["ts"])  # the thread carries on where it was
    assert "Service shop/shop" in update


async def test_killed_before_posting_the_parent_posts_it_once(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    drift_staging(fleet, s, "Deployment shop")
    async with start_bot(workdir, slack, clock) as bot:
        await bot.drift_job.run()
        [pending] = bot.deps.incidents.current()
        clock.advance(minutes=2)
        bot.deps.incidents.opening(pending, DEPLOYS, clock())
    async with start_bot(workdir, slack, clock) as bot:
        await bot.drift_job.run()
        await bot.drift_job.run()
    assert len(parents(slack)) == 1


async def test_a_rate_limited_thread_reply_is_retried_not_lost(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        clock.advance(minutes=2)
        await bot.drift_job.run()
        [parent] = parents(slack)
        drift_staging(fleet, s, "Deployment shop", "Service shop")
        slack.rate_limit("chat.postMessage", times=1, retry_after=0)  # no Retry-After wait
        clock.advance(minutes=1)
        await bot.drift_job.run()
    assert [c.status for c in slack.calls_to("chat.postMessage")][-2:] == [429, 200]
    [update] = replies(slack, parent["ts"])
    assert "Service shop/shop" in update


async def test_an_unreadable_cluster_neither_opens_nor_resolves(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        clock.advance(minutes=2)
        await bot.drift_job.run()
        [parent] = parents(slack)
        fleet["staging"].fail(".*", status=503)
        clock.advance(minutes=5)
        await bot.drift_job.run()
        [still] = bot.deps.incidents.open_ones()
    assert still.ts == parent["ts"]
    assert replies(slack, parent["ts"]) == []


async def test_where_drift_lists_open_incidents_the_channel_may_see(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        clock.advance(minutes=2)
        await bot.drift_job.run()
        _, listed = await where(bot, slack, "drift")
        _, hidden = await where(bot, slack, "drift", channel=LOCKED, name="r2")
    [parent] = parents(slack)
    assert "shop/staging" in block_text(listed["blocks"])
    assert f"archives/{DEPLOYS}/p{parent['ts'].replace('.', '')}" in block_text(listed["blocks"])
    assert "No open drift incidents" in hidden["text"]


async def test_two_replicas_one_scanner_and_a_takeover(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    lease: dict[str, Any] = {
        "shiptrace_lease_name": "shiptrace-leader",
        "shiptrace_lease_namespace": "shiptrace",
        "shiptrace_lease_context": "staging",
        "shiptrace_lease_seconds": 15,
    }
    drift_staging(fleet, s, "Deployment shop")
    seed(
        fleet["staging"],
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shiptrace"}},
    )
    async with (
        start_bot(workdir, slack, clock, shiptrace_db=workdir / "a.db", pod_name="a", **lease) as a,
        start_bot(workdir, slack, clock, shiptrace_db=workdir / "b.db", pod_name="b", **lease) as b,
    ):
        assert a.elector is not None and b.elector is not None
        assert [await a.elector.tick(), await b.elector.tick()] == [True, False]
        for _ in range(3):  # a scans; b answers commands only
            clock.advance(seconds=60)
            await a.elector.tick()
            await b.elector.tick()
            await a.jobs["drift"]()
            await b.jobs["drift"]()
        assert b.deps.incidents.current() == []
        [parent] = parents(slack)

        clock.advance(seconds=16)  # a stops renewing (hung or gone): b takes over
        assert await b.elector.tick() is True
        assert a.elector.is_leader is False
        drift_staging(fleet, s, "Deployment shop", "Service shop")
        await b.jobs["drift"]()  # b's own database is empty: it learns the drift
        for _ in range(3):  # ... and carries on a's open thread instead of starting one
            clock.advance(seconds=60)
            assert await b.elector.tick() is True
            await b.jobs["drift"]()
    assert len(parents(slack)) == 1
    [update] = replies(slack, parent["ts"])
    assert update.startswith(":warning: Still drifting, now: OutOfSync: 2 resources")


async def test_a_failed_parent_update_does_not_repeat_the_reply(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        clock.advance(minutes=2)
        await bot.drift_job.run()
        [parent] = parents(slack)
        drift_staging(fleet, s)
        slack.fail("chat.update", "internal_error")
        clock.advance(minutes=1)
        await bot.drift_job.run()  # the parent could not be updated: nothing said yet
        clock.advance(minutes=1)
        await bot.drift_job.run()
    assert replies(slack, parent["ts"]) == [":white_check_mark: Reconciled after 4 min."]
