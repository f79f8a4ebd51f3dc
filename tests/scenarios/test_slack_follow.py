"""Follow: a shared message that keeps itself current, ends with one thread reply, and survives
restarts. The follow job is run by the test, with the bot's clock moved by the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.follow.store import FollowState
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import flux_prod, seed, tag
from tests.scenarios.slackbot import DEPLOYS, Clock, block_text, buttons, click, start_bot

NEW_HASH = "8e1a"


@pytest.fixture
def s(shop_live_in_staging: shop.Shop) -> shop.Shop:
    return shop_live_in_staging


def prod_syncs(fleet: dict[str, KubeEmulator], s: shop.Shop) -> None:
    flux_prod(fleet["prod"], f"main@sha1:{s.merged}")


def prod_live(fleet: dict[str, KubeEmulator], s: shop.Shop) -> None:
    prod_syncs(fleet, s)
    seed(fleet["prod"], *k.rolled_out("shop", "shop", tag(s.merged), pod_hash=NEW_HASH))


def thread(slack: SlackEmulator, ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(DEPLOYS) if m["thread_ts"] == ts and m["ts"] != ts]


async def follow_from_answer(bot: Any, slack: SlackEmulator, user: str = "U0ALICE") -> str:
    """Click Follow on an ephemeral answer; returns the ts of the shared message it follows."""
    assert await click(bot, slack, "shiptrace_follow", "acme/shop#12", user=user) == 200
    await slack.wait_responses("a1")
    [shared] = [m for m in slack.messages(DEPLOYS) if m["thread_ts"] is None]
    return str(shared["ts"])


async def test_a_followed_message_updates_as_stages_change_and_ends_once_live(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        [shared] = slack.messages(DEPLOYS)
        assert set(buttons(shared["blocks"])) == {
            "shiptrace_refresh",
            "shiptrace_follow",
            "shiptrace_unfollow",
        }
        assert "Followed by <@U0ALICE>" in block_text(shared["blocks"])

        clock.advance(seconds=60)
        await bot.follow_job.run()
        assert slack.calls_to("chat.update") == []  # nothing changed: no update

        prod_syncs(fleet, s)
        clock.advance(seconds=60)
        await bot.follow_job.run()
        [update] = slack.calls_to("chat.update")
        assert update.args["ts"] == ts and update.args["blocks"]
        assert "production" in slack.messages(DEPLOYS)[0]["text"]
        await bot.follow_job.run()  # same minute, nothing new
        assert len(slack.calls_to("chat.update")) == 1

        prod_live(fleet, s)
        clock.advance(seconds=60)
        await bot.follow_job.run()
        [reply] = thread(slack, ts)
        assert reply["text"] == "<@U0ALICE> acme/shop#12 is live in production."
        assert reply["metadata"]["event_type"] == "shiptrace_follow_ended"
        [final] = [m for m in slack.messages(DEPLOYS) if m["ts"] == ts]
        assert final["text"] == "acme/shop#12: Live in staging, production"
        assert "No longer followed" in block_text(final["blocks"])
        assert set(buttons(final["blocks"])) == {"shiptrace_refresh", "shiptrace_follow"}

        clock.advance(seconds=60)
        await bot.follow_job.run()
    assert len(thread(slack, ts)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # the shared message and the reply


async def test_following_resumes_after_a_restart_without_duplicates(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
    prod_syncs(fleet, s)
    clock.advance(minutes=5)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.follow_job.run()
        [update] = slack.calls_to("chat.update")
        assert update.args["ts"] == ts
        prod_live(fleet, s)
        clock.advance(minutes=1)
        await bot.follow_job.run()
    async with start_bot(workdir, slack, clock) as bot:
        clock.advance(minutes=1)
        await bot.follow_job.run()
    assert len(thread(slack, ts)) == 1
    assert [m["ts"] for m in slack.messages(DEPLOYS) if m["thread_ts"] in (None, m["ts"])] == [ts]


async def test_killed_after_posting_the_final_reply_does_not_post_it_again(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        record = bot.deps.follows.get(DEPLOYS, ts)
        assert record is not None
        # The end was decided and recorded, the reply posted, then the process died before
        # recording that the reply exists.
        bot.deps.follows.ending(record, "is live in production")
    client = AsyncWebClient(token=slack.token, base_url=slack.api_url)
    await client.chat_postMessage(
        channel=DEPLOYS,
        thread_ts=ts,
        text="<@U0ALICE> acme/shop#12 is live in production.",
        metadata={
            "event_type": "shiptrace_follow_ended",
            "event_payload": {"follow": record.id, "started_at": "2026-11-26T10:00:00Z"},
        },
    )
    async with start_bot(workdir, slack, clock) as bot:
        await bot.follow_job.run()
        after = bot.deps.follows.get(DEPLOYS, ts)
    assert after is not None and after.state is FollowState.ENDED
    assert len(thread(slack, ts)) == 1


async def test_killed_before_posting_the_final_reply_posts_it_once_after_restart(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        record = bot.deps.follows.get(DEPLOYS, ts)
        assert record is not None
        bot.deps.follows.ending(record, "is live in production")
    async with start_bot(workdir, slack, clock) as bot:
        await bot.follow_job.run()
        await bot.follow_job.run()
    [reply] = thread(slack, ts)
    assert reply["text"] == "<@U0ALICE> acme/shop#12 is live in production."


async def test_a_failed_rollout_ends_following_and_names_the_stage(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        prod_syncs(fleet, s)
        stuck = k.deployment(
            "shop",
            "shop",
            tag(s.merged),
            updated=1,
            ready=0,
            progressing=("False", "ProgressDeadlineExceeded"),
        )
        rs = k.replicaset(stuck, NEW_HASH, tag(s.merged), revision=3, replicas=1)
        seed(fleet["prod"], stuck, rs, k.pod(rs, 0, waiting="CrashLoopBackOff", restarts=7))
        clock.advance(minutes=1)
        await bot.follow_job.run()
    [reply] = thread(slack, ts)
    assert reply["text"].startswith("<@U0ALICE> acme/shop#12 failed at rollout in production")


async def test_following_gives_up_after_the_maximum(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        clock.advance(hours=24)
        await bot.follow_job.run()
    [reply] = thread(slack, ts)
    assert "stopped following after 24 h" in reply["text"]


async def test_a_rate_limited_update_is_retried_not_lost(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        prod_syncs(fleet, s)
        slack.rate_limit("chat.update", times=1, retry_after=0)  # no Retry-After wait
        clock.advance(minutes=1)
        await bot.follow_job.run()
    statuses = [c.status for c in slack.calls_to("chat.update")]
    assert statuses == [429, 200]
    [shared] = [m for m in slack.messages(DEPLOYS) if m["ts"] == ts]
    assert "edited" in shared


async def test_others_join_and_stop_following(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        await click(
            bot, slack, "shiptrace_follow", "acme/shop#12", message_ts=ts, user="U0BOB", name="b1"
        )
        await slack.wait_calls("chat.update")
        record = bot.deps.follows.get(DEPLOYS, ts)
        assert record is not None and record.followers == ("U0ALICE", "U0BOB")
        [shared] = [m for m in slack.messages(DEPLOYS) if m["ts"] == ts]
        assert "Followed by <@U0ALICE>, <@U0BOB>" in block_text(shared["blocks"])

        await click(bot, slack, "shiptrace_unfollow", "acme/shop#12", message_ts=ts, name="u1")
        [note] = await slack.wait_responses("u1")
        assert "no longer follow" in note["text"]
        await slack.wait_calls("chat.update", count=2)
        record = bot.deps.follows.get(DEPLOYS, ts)
        assert record is not None and record.followers == ("U0BOB",)

        clock.advance(hours=24)
        await bot.follow_job.run()
    [reply] = thread(slack, ts)
    assert reply["text"].startswith("<@U0BOB> acme/shop#12 is still on its way")


async def test_the_last_follower_stopping_ends_following_quietly(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        ts = await follow_from_answer(bot, slack)
        await click(bot, slack, "shiptrace_unfollow", "acme/shop#12", message_ts=ts, name="u1")
        await slack.wait_calls("chat.update")
        record = bot.deps.follows.get(DEPLOYS, ts)
        assert record is not None and record.state is FollowState.ENDED
        [shared] = [m for m in slack.messages(DEPLOYS) if m["ts"] == ts]
        assert set(buttons(shared["blocks"])) == {"shiptrace_refresh", "shiptrace_follow"}
        clock.advance(hours=24)
        await bot.follow_job.run()
    assert thread(slack, ts) == []
