"""The timeline page of `shiptrace serve` and its signed links, over real HTTP.

A link is signed for its path and an expiry; anything else is 403 before a single GitHub or
Kubernetes request. The "Open timeline" links in Slack exist only with SHIPTRACE_PUBLIC_URL,
and only for repos the channel may trace. `shiptrace where REF -o html` writes the same page.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.app import Bot
from bot.cli import main
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from bot.web.links import Signer
from tests.scenarios import kubeobjs as k
from tests.scenarios import shop
from tests.scenarios.fleet import APP_URL, seed, tag
from tests.scenarios.slackbot import (
    DEPLOYS,
    LOCKED,
    SECRET,
    SLACK_CONFIG,
    Clock,
    block_text,
    click,
    start_bot,
    where,
)

LINK_SECRET = "timeline-link-secret-for-the-tests-0123456789"
PUBLIC = "https://shiptrace.example.com"
PR_PATH = "/changes/acme/shop/pull/12"
DIGESTS = "C0DIGEST"


@pytest.fixture
def s(shop_live_in_staging: shop.Shop) -> shop.Shop:
    return shop_live_in_staging


def signed(
    clock: Clock, path: str, *, secret: str = LINK_SECRET, ago: timedelta = timedelta()
) -> str:
    """``path`` with the query a link made ``ago`` would carry."""
    return f"{path}?{Signer(secret.encode()).sign(path, clock() - ago)}"


async def fetch(bot: Bot, path_qs: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(bot.url + path_qs) as r:
        return r.status, await r.text(), dict(r.headers)


def on_bot(bot: Bot, url: str) -> str:
    """A link as Slack shows it (on SHIPTRACE_PUBLIC_URL), as a path the test bot serves."""
    assert url.startswith(PUBLIC + "/changes/"), url
    return url.removeprefix(PUBLIC)


def timeline_urls(blocks: list[dict[str, Any]]) -> list[str]:
    """The URL of every "Open timeline" button and mrkdwn link in ``blocks``."""
    found = [
        e["url"]
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == "shiptrace_timeline"
    ]
    text = block_text(blocks)
    found += [m.replace("&amp;", "&") for m in re.findall(r"<([^|>]+)\|Open timeline>", text)]
    return found


def requests_made(github: GitHubEmulator, clusters: dict[str, KubeEmulator]) -> list[str]:
    return [str(r) for r in github.requests] + [
        str(r) for emu in clusters.values() for r in emu.requests
    ]


def stage_rows(html: str) -> set[tuple[str, str, str, str]]:
    """(stage, environment, kind, status) of every row of the page's stage table."""
    return set(
        re.findall(
            r'<tr data-stage="([^"]*)" data-environment="([^"]*)" data-kind="([^"]*)" '
            r'data-status="([^"]*)">',
            html,
        )
    )


# --- the page ----------------------------------------------------------------------------


async def test_a_signed_link_shows_the_change_traced_live(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        status, html, headers = await fetch(bot, signed(clock, PR_PATH))
        commit = f"/changes/acme/shop/commit/{s.merged}"
        status_c, html_c, _ = await fetch(bot, signed(clock, commit))
    assert status == 200, html
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Referrer-Policy"] == "no-referrer"  # the signature never leaves in a Referer
    assert "no-store" in headers["Cache-Control"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert html.startswith("<!DOCTYPE html>")
    assert "acme/shop#12" in html and "Add cart" in html
    rows = stage_rows(html)
    assert ("merge", "", "one-shot", "succeeded") in rows
    assert ("ci", "", "one-shot", "succeeded") in rows
    assert ("sync", "staging", "continuous", "succeeded") in rows
    assert ("rollout", "production", "continuous", "pending") in rows
    # Not live in production yet: the page reloads itself.
    assert '<meta http-equiv="refresh" content="60">' in html
    assert status_c == 200 and "acme/shop#12" in html_c  # a SHA of a PR is that PR


@pytest.mark.parametrize(
    "case",
    ["missing", "sig only", "wrong secret", "expired", "other change", "longer life", "garbled"],
)
async def test_a_bad_link_is_403_and_looks_nothing_up(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
    case: str,
) -> None:
    good = signed(clock, PR_PATH)
    exp = re.search(r"exp=(\d+)", good)
    assert exp is not None
    path_qs = {
        "missing": PR_PATH,
        "sig only": PR_PATH + "?" + good.split("&", 1)[1],
        "wrong secret": signed(clock, PR_PATH, secret="another-secret-" + "y" * 30),
        "expired": signed(clock, PR_PATH, ago=timedelta(days=8)),
        # a link to #13, with #12's signature
        "other change": good.replace("/pull/12?", "/pull/13?"),
        "longer life": good.replace(exp.group(0), f"exp={int(exp.group(1)) + 86400}"),
        "garbled": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
    }[case]
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        github.clear_log()
        for emu in fleet.values():
            emu.clear_log()
        status, body, headers = await fetch(bot, path_qs)
    assert status == 403
    assert "not valid" in body and "/where" in body
    assert "Traceback" not in body
    assert headers["Referrer-Policy"] == "no-referrer"
    assert requests_made(github, fleet) == []


async def test_no_link_secret_no_pages(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        github.clear_log()
        status, body, _ = await fetch(bot, signed(clock, PR_PATH))
    assert status == 403 and "SHIPTRACE_LINK_SECRET" in body
    assert requests_made(github, fleet) == []


async def test_a_repo_no_service_has_is_404_with_no_look_up(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
) -> None:
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        github.clear_log()
        status, body, _ = await fetch(bot, signed(clock, "/changes/evil/corp/pull/1"))
    assert status == 404 and "evil/corp is not a configured service's repo" in body
    assert requests_made(github, fleet) == []


async def test_a_change_that_does_not_exist_is_404(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        status, body, _ = await fetch(bot, signed(clock, "/changes/acme/shop/pull/999"))
    assert status == 404 and "No such change" in body and "Traceback" not in body


# --- links in Slack --------------------------------------------------------------------------


async def test_a_where_answer_carries_a_signed_link_to_the_page(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1")
        [url] = timeline_urls(answer["blocks"])
        assert urlsplit(url).path == PR_PATH
        status, html, _ = await fetch(bot, on_bot(bot, url))
        tampered = on_bot(bot, url).replace("/pull/12?", "/pull/13?")
        refused, _, _ = await fetch(bot, tampered)
    assert status == 200 and "acme/shop#12" in html
    assert refused == 403


async def test_without_a_public_url_no_link_is_shown(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock, shiptrace_link_secret=LINK_SECRET) as bot:
        await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1")
    assert timeline_urls(answer["blocks"]) == []
    assert "Open timeline" not in str(answer["blocks"])


async def test_a_channel_that_may_not_trace_the_repo_gets_no_link(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        await where(bot, slack, "acme/shop#12", channel=LOCKED)
        await where(bot, slack, "acme/shop#12", name="r2")
        [allowed] = await slack.wait_responses("r2")
    refusals = slack.responses("r1")  # refused in the ack itself: nothing else is sent
    assert "Open timeline" not in str(refusals)
    assert len(timeline_urls(allowed["blocks"])) == 1


async def test_a_followed_message_keeps_its_link(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        assert await click(bot, slack, "shiptrace_follow", "acme/shop#12") == 200
        await slack.wait_responses("a1")
        [shared] = slack.messages(DEPLOYS)
        [url] = timeline_urls(shared["blocks"])
        clock.advance(minutes=1)
        await bot.follow_job.run()
        # The same link all day: an unchanged change is not redrawn for a new link.
        assert slack.calls_to("chat.update") == []
        status, _, _ = await fetch(bot, on_bot(bot, url))
    assert urlsplit(url).path == PR_PATH
    assert status == 200


async def test_a_click_on_open_timeline_is_acknowledged(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Slack opens the URL itself and still tells the app: unanswered, it marks the button failed.
    async with start_bot(workdir, slack, clock) as bot:
        assert await click(bot, slack, "shiptrace_timeline", "") == 200
    assert slack.responses("a1") == []
    assert "does not handle" not in caplog.text


def drift_staging(fleet: dict[str, KubeEmulator], s: shop.Shop) -> None:
    """Staging's Argo CD app is OutOfSync on its Deployment."""
    app = k.argo_app(
        "shop-staging",
        repo_url=APP_URL,
        revision=s.merged,
        history=[s.merged],
        images=[tag(s.merged)],
        sync="OutOfSync",
    )
    app["status"]["resources"] = [k.argo_resource("Deployment", "shop", "OutOfSync", group="apps")]
    seed(fleet["staging"], app)


async def open_incident(
    bot: Bot, clock: Clock, fleet: dict[str, KubeEmulator], s: shop.Shop
) -> None:
    drift_staging(fleet, s)
    await bot.drift_job.run()
    clock.advance(minutes=2)  # the grace
    await bot.drift_job.run()


async def test_a_drift_thread_links_the_page_of_what_runs_there(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        await open_incident(bot, clock, fleet, s)
        [parent] = slack.messages(DEPLOYS)
        [url] = timeline_urls(parent["blocks"])
        status, html, _ = await fetch(bot, on_bot(bot, url))
    # staging runs sha-<7 hex>: the commit of PR 12, whose page shows the incident
    assert urlsplit(url).path == f"/changes/acme/shop/commit/{s.merged[:7]}"
    assert status == 200 and "acme/shop#12" in html
    assert 'data-shape="incident"' in html and 'data-environment="staging"' in html
    assert "https://slack.com/archives/C0DEPLOYS/p" in html  # the incident links its thread


async def test_a_drift_thread_in_a_channel_that_may_not_trace_the_repo_has_no_link(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    config = SLACK_CONFIG.replace(
        "        cluster: staging\n", f"        cluster: staging\n        alert_channel: {LOCKED}\n"
    )
    (workdir / "shiptrace.yaml").write_text(config)
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        await open_incident(bot, clock, fleet, s)
    [parent] = slack.messages(LOCKED)
    assert "Drift: shop in staging" in block_text(parent["blocks"])
    assert timeline_urls(parent["blocks"]) == []


async def test_digest_lines_link_their_changes(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    clock.advance(hours=23)  # Friday 09:00: Thursday's digest covers PR 12, stuck since
    async with start_bot(
        workdir, slack, clock, shiptrace_public_url=PUBLIC, shiptrace_link_secret=LINK_SECRET
    ) as bot:
        await bot.digest_job.run(DIGESTS)
        [digest] = slack.messages(DIGESTS)
        urls = timeline_urls(digest["blocks"])
        status, _, _ = await fetch(bot, on_bot(bot, urls[0]))
    assert {urlsplit(u).path for u in urls} == {PR_PATH}
    assert len(urls) == 2  # merged, and stuck at production's sync
    assert status == 200


# --- serve and the CLI ---------------------------------------------------------------------


def test_serve_refuses_a_public_url_without_the_secret(
    workdir: Path,
    slack: SlackEmulator,
    fleet: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A token Slack refuses: were the link settings not checked first, serve would stop at
    # auth.test instead (and never run on).
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("SHIPTRACE_PUBLIC_URL", PUBLIC)
    code = main(["serve", "--host", "127.0.0.1", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("shiptrace: SHIPTRACE_PUBLIC_URL is set but SHIPTRACE_LINK_SECRET is not")
    assert slack.calls_to("auth.test") == []  # refused before anything else


def test_where_o_html_writes_the_standalone_page(cli: Any, s: shop.Shop) -> None:
    result = cli("where", "acme/shop#12", "-o", "html")
    assert result.code == 0, result.err
    html = result.out
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # One file: nothing to fetch, no script.
    assert not re.search(r"<script|<link|<img|<iframe|src=|@import|url\((?!#)", html)
    assert ("sync", "production", "continuous", "pending") in stage_rows(html)
    assert "http-equiv" not in html  # a file does not reload itself
    assert (
        cli("where", "acme/shop#12", "-o", "json").out == cli("where", "acme/shop#12", "--json").out
    )
    assert cli("where", "acme/shop#12", "-o", "text").out == cli("where", "acme/shop#12").out
