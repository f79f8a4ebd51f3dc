"""The timeline page in headless Chromium: served by the bot for a live change, a failed CI,
a change pending in production and a drifted environment.

Bars and bands are found by their role and accessible name, as a screen reader finds them;
each page is screenshotted into the test's folder and must say nothing on the console.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.app import Bot
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from tests.browser.conftest import Tab
from tests.scenarios import shop
from tests.scenarios.fleet import live_prod, live_staging
from tests.scenarios.slackbot import Clock, start_bot, where
from tests.scenarios.test_web import (
    LINK_SECRET,
    PR_PATH,
    PUBLIC,
    on_bot,
    open_incident,
    signed,
    timeline_urls,
)

TIME = r"2026-11-26T\d\d:\d\d:\d\dZ"


async def show(tab: Tab, bot: Bot, path_qs: str, shot: Path) -> Any:
    """Open the page, wait for its chart, screenshot it; the page."""
    response = await tab.page.goto(bot.url + path_qs)
    assert response is not None and response.status == 200
    await tab.page.get_by_role("group", name=re.compile("^Timeline of ")).wait_for()
    png = await tab.page.screenshot(path=shot, full_page=True)
    assert len(png) > 10_000  # written to ``shot`` as well
    return tab.page


def img(page: Any, name: str) -> Any:
    """The one drawn shape whose accessible name matches ``name`` (a regex, from the start)."""
    return page.get_by_role("img", name=re.compile("^" + name))


async def drawn(page: Any, name: str, **data: str) -> None:
    """Exactly one visible shape is named so, with these ``data-*`` attributes."""
    shape = img(page, name)
    assert await shape.count() == 1, name
    assert await shape.is_visible(), name
    for key, value in data.items():
        assert await shape.get_attribute(f"data-{key}") == value, (name, key)


async def test_a_change_live_everywhere(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
    tab: Tab,
    tmp_path: Path,
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    live_staging(fleet["staging"], s.merged)
    live_prod(fleet["prod"], s.merged)
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        page = await show(tab, bot, signed(clock, PR_PATH), tmp_path / "live.png")
        await drawn(page, f"merge: succeeded at {TIME}", kind="one-shot", shape="mark")
        await drawn(page, f"CI: succeeded {TIME}–{TIME}", kind="one-shot", shape="bar")
        await drawn(page, f"sync in staging: holding since {TIME}", kind="continuous", shape="band")
        await drawn(page, f"sync in production: holding since {TIME}", kind="continuous")
        assert await page.get_by_text("Live in staging, production").count() == 1
        # Live everywhere: nothing more will happen on its own, so no reloading.
        assert await page.locator("meta[http-equiv=refresh]").count() == 0
        assert await page.get_by_role("img", name=re.compile("^drift in ")).count() == 0
    assert tab.errors == []


async def test_a_failed_ci(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
    tab: Tab,
    tmp_path: Path,
) -> None:
    s = shop.build(github)
    shop.failed_ci(github, s.merged)
    live_staging(fleet["staging"], s.base)
    live_prod(fleet["prod"], s.base)
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        page = await show(tab, bot, signed(clock, PR_PATH), tmp_path / "failed-ci.png")
        await drawn(page, r"CI: failed \(test\) ", kind="one-shot", status="failed")
        await drawn(page, r"CI job test: failed", stage="ci", status="failed")
        await drawn(page, "sync in staging: pending", kind="continuous", status="pending")
        await drawn(page, "rollout in production: pending", kind="continuous")
        assert await page.get_by_text("failed (test)", exact=True).count() == 1  # in words too
    assert tab.errors == []


async def test_a_change_pending_in_production(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    shop_live_in_staging: shop.Shop,
    tab: Tab,
    tmp_path: Path,
) -> None:
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        page = await show(tab, bot, signed(clock, PR_PATH), tmp_path / "pending.png")
        await drawn(page, f"sync in staging: holding since {TIME}", shape="band")
        await drawn(page, "sync in production: pending; no start time", shape="marker")
        await drawn(page, "rollout in production: pending; no start time", shape="marker")
        assert await page.get_by_text("not live yet", exact=True).count() == 1
        # Not live everywhere yet: the page reloads itself every minute.
        assert await page.locator('meta[http-equiv=refresh][content="60"]').count() == 1
    assert tab.errors == []


async def test_a_drifted_environment_from_the_where_answer(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    shop_live_in_staging: shop.Shop,
    fleet: dict[str, KubeEmulator],
    tab: Tab,
    tmp_path: Path,
) -> None:
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        await open_incident(bot, clock, fleet, shop_live_in_staging)
        await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1")
        [url] = timeline_urls(answer["blocks"])
        page = await show(tab, bot, on_bot(bot, url), tmp_path / "drifted.png")
        # Both kinds of stage, in two environments, and the incident over staging's.
        await drawn(page, f"CI: succeeded {TIME}–{TIME}", kind="one-shot")
        await drawn(page, "sync in staging: drifted", kind="continuous", environment="staging")
        await drawn(page, "rollout in production: pending", environment="production")
        band = img(page, f"drift in staging: open since {TIME} — ")
        assert await band.count() == 1 and await band.is_visible()
        assert await band.get_attribute("data-kind") == "incident"
        thread = page.locator("a", has=band)
        assert (await thread.get_attribute("href") or "").startswith(
            "https://slack.com/archives/C0DEPLOYS/p"
        )
        incidents = page.get_by_role("region", name="Drift incidents")
        assert "staging: detected" in await incidents.inner_text()
    assert tab.errors == []
