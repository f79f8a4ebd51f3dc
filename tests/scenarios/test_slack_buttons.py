"""Refresh and Share in channel: signed ``block_actions`` clicks on the bot's answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import flux_prod, live_prod, seed, tag
from tests.scenarios.slackbot import DEPLOYS, Clock, block_text, buttons, click, start_bot


@pytest.fixture
def s(shop_live_in_staging: shop.Shop) -> shop.Shop:
    return shop_live_in_staging


async def test_refresh_redraws_the_askers_answer_in_place(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        flux_prod(fleet["prod"], f"main@sha1:{s.merged}")  # production now syncs the change
        assert await click(bot, slack, "shiptrace_refresh", "acme/shop#12") == 200
        [answer] = await slack.wait_responses("a1")
    assert answer["replace_original"] is True
    assert "production" in answer["text"]
    assert s.merged[:7] in block_text(answer["blocks"])
    assert set(buttons(answer["blocks"])) == {
        "shiptrace_refresh",
        "shiptrace_share",
        "shiptrace_follow",
    }
    assert slack.calls_to("chat.update") == []


async def test_share_posts_the_answer_visibly_and_removes_the_private_one(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        assert await click(bot, slack, "shiptrace_share", "acme/shop#12") == 200
        [done] = await slack.wait_responses("a1")
    assert done["delete_original"] is True
    [posted] = slack.messages(DEPLOYS)
    assert posted["text"].startswith("acme/shop#12: Live in staging")
    assert "Shared by <@U0ALICE>" in block_text(posted["blocks"])
    assert set(buttons(posted["blocks"])) == {"shiptrace_refresh", "shiptrace_follow"}


async def test_share_where_the_bot_is_not_a_member_says_how_to_invite_it(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    async with start_bot(workdir, slack, clock) as bot:
        await click(bot, slack, "shiptrace_share", "acme/shop#12")
        [answer] = await slack.wait_responses("a1")
    assert "/invite @shiptrace" in answer["text"]
    assert answer.get("replace_original") is False
    assert slack.messages(DEPLOYS) == []


async def test_refresh_on_a_shared_message_updates_it_for_everyone(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    fleet: dict[str, KubeEmulator],
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        await click(bot, slack, "shiptrace_share", "acme/shop#12")
        await slack.wait_responses("a1")
        [shared] = slack.messages(DEPLOYS)
        live_prod(fleet["prod"], s.merged)
        seed(fleet["prod"], *k.rolled_out("shop", "shop", tag(s.merged), pod_hash="8e1a"))

        await click(bot, slack, "shiptrace_refresh", "acme/shop#12", message_ts=shared["ts"])
        [update] = await slack.wait_calls("chat.update")
    assert update.args["ts"] == shared["ts"]
    [now] = slack.messages(DEPLOYS)
    assert now["text"] == "acme/shop#12: Live in staging, production"
    assert "Refreshed by <@U0ALICE>" in block_text(now["blocks"])
    assert now["blocks"]  # chat.update always resends the blocks


async def test_a_click_from_a_channel_that_may_not_see_the_repo_is_refused(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, github: GitHubEmulator
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        github.requests.clear()
        await click(bot, slack, "shiptrace_refresh", "acme/shop#12", channel="C0LOCKED")
        [answer] = await slack.wait_responses("a1")
    assert "<#C0LOCKED> may not trace acme/shop" in answer["text"]
    assert github.requests == []
