"""`/where` refusals in Slack reveal nothing, and links are checked as strictly as in the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import shop
from tests.scenarios.slackbot import (
    DEPLOYS,
    ELSEWHERE,
    LOCKED,
    SLACK_CONFIG,
    Clock,
    block_text,
    start_bot,
    where,
)

SHOP_ONLY = "C0SHOPONLY"  # may trace acme/shop, has no default repo
REPOS = {"acme/shop", "acme/billing"}


@pytest.fixture
def config(workdir: Path, fleet: Any) -> None:
    (workdir / "shiptrace.yaml").write_text(
        SLACK_CONFIG + f'    {SHOP_ONLY}: {{repos: ["acme/shop"]}}\n'
    )


@pytest.mark.parametrize(
    ("channel", "text", "says", "may_name"),
    [
        # The case people met: "#412" from a channel allowed nothing listed every repo.
        (LOCKED, "#412", "may trace nothing", set()),
        (LOCKED, "412", "may trace nothing", set()),
        (LOCKED, "3f2c1ab", "may trace nothing", set()),
        (LOCKED, "acme/billing#1", "may trace nothing", {"acme/billing"}),  # typed: said back
        (SHOP_ONLY, "#412", "this channel may trace acme/shop", {"acme/shop"}),
        (SHOP_ONLY, "acme/billing#1", "This channel may trace acme/shop", REPOS),
        (SHOP_ONLY, "acme/secret#1", "This channel may trace acme/shop", {"acme/shop"}),
        (DEPLOYS, "acme/billing#1", "This channel may trace acme/shop", REPOS),
        (ELSEWHERE, "acme/secret#1", "the services in shiptrace.yaml", REPOS),  # may trace both
    ],
)
async def test_a_refusal_names_only_what_the_channel_may_trace(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    config: None,
    channel: str,
    text: str,
    says: str,
    may_name: set[str],
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        status, ack = await where(bot, slack, text, channel=channel)
    assert status == 200
    shown = ack["text"] + "\n" + block_text(ack["blocks"])
    assert says in shown
    for repo in REPOS - may_name:
        assert repo not in shown, shown
    assert "configured:" not in shown
    assert github.requests == []
    assert slack.responses("r1") == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://evil.example@github.com/acme/shop/pull/12", "login part"),
        ("https://github.com:8443/acme/shop/pull/12", "unexpected port"),
        ("<https://github.com/acme/shop/pull/12/junk|acme/shop#12>", "not a pull request"),
        ("https://gitlab.example/acme/shop/pull/12", "only links on github.com"),
    ],
)
async def test_a_bad_link_is_answered_in_the_ack_without_asking_github(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    config: None,
    text: str,
    reason: str,
) -> None:
    async with start_bot(workdir, slack, clock, github_web_url="https://github.com") as bot:
        _, ack = await where(bot, slack, text)
    assert reason in ack["text"] + "\n" + block_text(ack["blocks"])
    assert github.requests == []
    assert slack.responses("r1") == []


async def test_slacks_link_form_on_the_learned_host_is_traced(
    workdir: Path, slack: SlackEmulator, clock: Clock, shop_live_in_staging: shop.Shop
) -> None:
    link = "<https://github.com/acme/shop/pull/12#issuecomment-7|acme/shop#12>"
    async with start_bot(workdir, slack, clock) as bot:
        _, ack = await where(bot, slack, link)
        [answer] = await slack.wait_responses("r1")
    assert ack["text"].startswith("Tracing")
    assert "Live in staging" in answer["text"]


async def test_a_link_elsewhere_before_the_host_is_known_costs_one_request(
    workdir: Path, slack: SlackEmulator, clock: Clock, github: GitHubEmulator, config: None
) -> None:
    shop.build(github)
    async with start_bot(workdir, slack, clock) as bot:
        _, ack = await where(bot, slack, "https://gitlab.example/acme/shop/pull/12")
        [answer] = await slack.wait_responses("r1")
        assert [r.path for r in github.requests] == ["/repos/acme/shop"]
        github.clear_log()
        _, again = await where(bot, slack, "https://gitlab.example/acme/shop/pull/12", name="r2")
    assert ack["text"].startswith("Tracing")  # the host had to be asked for first
    assert "only links on github.com can be traced" in answer["text"]
    assert "only links on github.com can be traced" in again["text"]  # known now: in the ack
    assert github.requests == []
