"""`/where` in Slack: signed requests to the bot's HTTP endpoint, answers through response_url."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.slack import SlackEmulator
from bot.sandbox.slack_signing import (
    FORM_CONTENT_TYPE,
    block_actions_payload,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)
from tests.scenarios import shop
from tests.scenarios.slackbot import (
    DEPLOYS,
    ELSEWHERE,
    LOCKED,
    SECRET,
    Clock,
    LockHolder,
    Recorder,
    block_text,
    buttons,
    post,
    start_bot,
    until,
    where,
)


async def test_where_acks_then_answers_with_every_stage_and_its_kind(
    workdir: Path, slack: SlackEmulator, clock: Clock, shop_live_in_staging: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        status, ack = await where(bot, slack, "acme/shop#12")
        assert status == 200
        assert ack["text"].startswith("Tracing acme/shop#12")

        [answer] = await slack.wait_responses("r1")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("acme/shop#12: Live in staging")
    seen = block_text(answer["blocks"])
    assert "Add cart" in seen
    for stage, kind in [
        ("merge", "one-shot"),
        ("CI", "one-shot"),
        ("sync", "continuous"),
        ("rollout", "continuous"),
    ]:
        assert stage.lower() in seen.lower() and kind in seen, (stage, seen)
    assert seen.lower().count("continuous") == 4  # sync and rollout in two environments
    assert "staging" in seen and "production" in seen
    assert set(buttons(answer["blocks"])) == {
        "shiptrace_refresh",
        "shiptrace_share",
        "shiptrace_follow",
    }
    assert set(buttons(answer["blocks"]).values()) == {"acme/shop#12"}
    assert slack.calls_to("chat.postMessage") == []  # the answer is ephemeral


async def test_forty_checks_still_render_within_block_kit_limits(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    shop_live_in_staging: shop.Shop,
) -> None:
    for i in range(40):
        github.add_check_run(
            "acme/shop",
            shop_live_in_staging.merged,
            name=f"suite-{i:02d}",
            conclusion="failure" if i == 37 else "success",
            completed_at="2026-11-26T09:06:00Z",
        )
    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#12")
        # The emulator, like Slack, refuses blocks that break Block Kit's limits.
        [answer] = await slack.wait_responses("r1")
    shown = block_text(answer["blocks"])
    assert shown.index("suite-37") < shown.index("suite-00")  # the failed check first
    assert "more" in shown and "/checks|see all>" in shown


async def test_the_ack_does_not_wait_for_github(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    shop_live_in_staging: shop.Shop,
) -> None:
    github.stall(r"/pulls/12$", seconds=2, times=1)
    async with start_bot(workdir, slack, clock) as bot:
        started = time.monotonic()
        status, ack = await where(bot, slack, "acme/shop#12")
        acked_after = time.monotonic() - started
        assert status == 200 and ack["text"].startswith("Tracing")
        assert slack.responses("r1") == []  # GitHub is still stalled: the ack came first
        await until(lambda: any(r.path.endswith("/pulls/12") for r in github.requests))
        github.release_stalled()  # seen what the stall was for: no need to wait it out
        [answer] = await slack.wait_responses("r1", timeout=10)
    assert acked_after < 2  # the stall is 2 s; the ack needed none of it
    assert "Live in staging" in answer["text"]


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
async def test_help_and_empty_show_usage(
    workdir: Path, slack: SlackEmulator, clock: Clock, fleet: Any, text: str, github: GitHubEmulator
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        status, ack = await where(bot, slack, text)
    assert status == 200
    assert "owner/repo#123" in block_text(ack["blocks"])
    assert github.requests == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("acme/shop#abc", "is not a PR or commit reference"),
        ("https://gitlab.com/acme/shop/pull/1", "only links on"),
        ("drop table", "is not a PR or commit reference"),
    ],
)
async def test_a_bad_ref_gets_one_line_and_usage(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    github: GitHubEmulator,
    text: str,
    reason: str,
) -> None:
    # The web host is known (set here): a link elsewhere is refused in the ack. Before it is
    # known, the first link costs one request (test_slack_refusals.py).
    async with start_bot(workdir, slack, clock, github_web_url="https://github.com") as bot:
        status, ack = await where(bot, slack, text)
    assert status == 200
    shown = ack["text"] + "\n" + block_text(ack["blocks"])
    assert reason in shown
    assert "owner/repo#123" in shown
    assert "Traceback" not in shown
    assert github.requests == []
    assert slack.responses("r1") == []


async def test_a_bare_number_uses_the_channel_default_repo(
    workdir: Path, slack: SlackEmulator, clock: Clock, shop_live_in_staging: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        _, ack = await where(bot, slack, "12")
        [answer] = await slack.wait_responses("r1")
    assert ack["text"].startswith("Tracing 12")
    assert answer["text"].startswith("acme/shop#12:")


@pytest.mark.parametrize(
    ("channel", "text", "named"),
    [
        (DEPLOYS, "acme/billing#1", "acme/billing"),  # configured, not allowed here
        (DEPLOYS, "acme/secret#3", "acme/secret"),  # not configured at all
        (LOCKED, "acme/shop#12", "acme/shop"),  # repos: [] allows nothing
        (LOCKED, "3f2c1ab", "any repository"),  # a bare SHA has nowhere to look
        (ELSEWHERE, "acme/secret#3", "acme/secret"),  # unlisted: configured services only
    ],
)
async def test_a_repo_the_channel_may_not_see_is_refused_without_asking_github(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    github: GitHubEmulator,
    channel: str,
    text: str,
    named: str,
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        status, ack = await where(bot, slack, text, channel=channel)
    assert status == 200
    shown = ack["text"] + "\n" + block_text(ack["blocks"])
    assert f"<#{channel}> may not trace {named}" in shown
    assert github.requests == []
    assert slack.responses("r1") == []


async def test_an_unlisted_channel_may_trace_configured_services(
    workdir: Path, slack: SlackEmulator, clock: Clock, shop_live_in_staging: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#12", channel=ELSEWHERE)
        [answer] = await slack.wait_responses("r1")
    assert answer["text"].startswith("acme/shop#12:")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed_headers("wrong-secret", body), id="bad-signature"),
        pytest.param(
            lambda body: signed_headers(SECRET, body, timestamp=int(time.time()) - 301),
            id="stale-timestamp",
        ),
        # Signed for one body, sent with another (a changed text field).
        pytest.param(
            lambda body: signed_headers(SECRET, body.replace(b"%2312", b"%2313")), id="tampered"
        ),
    ],
)
async def test_unsigned_requests_are_refused_before_any_handler(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    github: GitHubEmulator,
    headers: Any,
) -> None:
    body = slash_command_body(text="acme/shop#12", response_url=slack.response_url("r1"))
    async with start_bot(workdir, slack, clock) as bot:
        status, _ = await post(f"{bot.url}/slack/events", body, headers(body))
    assert status == 401
    assert github.requests == []
    assert slack.responses("r1") == []


@pytest.mark.parametrize(
    "timestamp",
    # Not a number (Slack's is whole seconds): each used to crash verification with a 500.
    ["abc", "1e9", "", " 12", "12 ", "+12", "1_000", "²", "9" * 5000],
)
async def test_an_unverifiable_request_gets_401_and_causes_no_traffic(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    github: GitHubEmulator,
    timestamp: str,
) -> None:
    with Recorder() as attacker:
        body = slash_command_body(
            text="acme/shop#12", channel_id=DEPLOYS, response_url=f"{attacker.url}/hook"
        )
        headers = {**signed_headers(SECRET, body), "X-Slack-Request-Timestamp": timestamp}
        async with start_bot(workdir, slack, clock) as bot:
            before = slack.calls
            status, _ = await post(f"{bot.url}/slack/events", body, headers)
        # The bot has stopped: anything it would have sent has been sent.
        assert status == 401
        assert attacker.requests == []
    assert github.requests == []
    assert slack.calls == before


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: {}, id="no-headers"),
        pytest.param(
            lambda body: {
                "X-Slack-Request-Timestamp": signed_headers(SECRET, body)[
                    "X-Slack-Request-Timestamp"
                ]
            },
            id="no-signature",
        ),
        pytest.param(
            lambda body: {**signed_headers(SECRET, body), "X-Slack-Signature": "v0=zz"},
            id="garbled-signature",
        ),
        pytest.param(lambda body: signed_headers("wrong-secret", body), id="wrong-secret"),
    ],
)
async def test_an_unsigned_request_with_a_foreign_response_url_causes_no_traffic(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    github: GitHubEmulator,
    headers: Any,
) -> None:
    with Recorder() as attacker:
        body = slash_command_body(
            text="acme/shop#12", channel_id=DEPLOYS, response_url=f"{attacker.url}/hook"
        )
        async with start_bot(workdir, slack, clock) as bot:
            before = slack.calls
            status, _ = await post(f"{bot.url}/slack/events", body, headers(body))
        assert status == 401
        assert attacker.requests == []
    assert github.requests == []
    assert slack.calls == before


@pytest.mark.parametrize("text", ["acme/shop#12", "help", ""])
async def test_a_signed_request_is_never_answered_outside_slack(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    shop_live_in_staging: shop.Shop,
    github: GitHubEmulator,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    with Recorder() as elsewhere:
        body = slash_command_body(
            text=text, channel_id=DEPLOYS, response_url=f"{elsewhere.url}/hook"
        )
        async with start_bot(workdir, slack, clock) as bot:
            status, _ = await post(f"{bot.url}/slack/events", body, signed_headers(SECRET, body))
        assert 400 <= status < 500
        assert elsewhere.requests == []
    assert github.requests == []
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "response_url" in line.getMessage() and line.exc_info is None


async def test_a_listener_never_runs_for_a_foreign_response_url(
    workdir: Path, slack: SlackEmulator, clock: Clock, fleet: Any
) -> None:
    ran: list[str] = []
    with Recorder() as elsewhere:
        async with start_bot(workdir, slack, clock) as bot:

            @bot.app.command("/boom")
            async def boom(ack: Any) -> None:
                ran.append("boom")
                await ack()
                raise RuntimeError("secret internals")  # the apology would go to response_url

            body = slash_command_body("/boom", response_url=f"{elsewhere.url}/hook")
            status, _ = await post(f"{bot.url}/slack/events", body, signed_headers(SECRET, body))
        assert elsewhere.requests == []
    assert 400 <= status < 500
    assert ran == []


@pytest.mark.parametrize(
    ("status", "retry_after", "times"),
    [
        pytest.param(429, 0, 1, id="rate-limited"),  # Retry-After: 0 so the test waits for none
        pytest.param(500, None, 1, id="500"),
        pytest.param(503, None, 2, id="503-twice"),
        pytest.param(502, None, 1, id="502"),
    ],
)
async def test_a_failing_response_url_is_retried_and_the_answer_arrives(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    shop_live_in_staging: shop.Shop,
    status: int,
    retry_after: int | None,
    times: int,
) -> None:
    slack.fail_responses("r1", status=status, times=times, retry_after=retry_after)
    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1", timeout=10)
    assert slack.response_statuses("r1") == [status] * times + [200]
    assert answer["text"].startswith("acme/shop#12: Live in staging")


async def test_an_answer_that_cannot_be_delivered_is_logged(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    shop_live_in_staging: shop.Shop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack.fail_responses("r1", status=500, times=10)

    def undelivered() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "could not deliver" in r.getMessage()]

    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#12")
        await until(lambda: bool(undelivered()))
    [line] = undelivered()
    assert line.levelno == logging.WARNING and "500" in line.getMessage()
    assert len(slack.response_statuses("r1")) > 1  # retried before giving up
    assert slack.responses("r1") == []
    assert "/response/" not in caplog.text  # a response_url lets anyone answer: never logged


def _without_response_url(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "response_url"}


ODD_BODIES = [
    pytest.param(
        json.dumps({"command": "/where", "text": "acme/shop#12", "channel_id": DEPLOYS}),
        "application/json",
        id="json-command",
    ),
    pytest.param(
        json.dumps({"type": "event_callback", "event": {"type": "app_mention"}}),
        "application/json",
        id="json-event",
    ),
    pytest.param("[1, 2]", "application/json", id="json-list"),
    pytest.param("{not json", "application/json", id="json-broken"),
    pytest.param("payload=%7Bnot+json", FORM_CONTENT_TYPE, id="payload-broken"),
    pytest.param("payload=%5B1%5D", FORM_CONTENT_TYPE, id="payload-list"),
    pytest.param("", FORM_CONTENT_TYPE, id="empty"),
    pytest.param(
        urlencode(
            _without_response_url(
                slash_command_payload(text="acme/shop#12", channel_id=DEPLOYS, response_url="")
            )
        ),
        FORM_CONTENT_TYPE,
        id="command-without-response-url",
    ),
    pytest.param(
        urlencode(
            _without_response_url(
                slash_command_payload(text="help", channel_id=DEPLOYS, response_url="")
            )
        ),
        FORM_CONTENT_TYPE,
        id="help-without-response-url",
    ),
    pytest.param(
        urlencode(
            {
                "payload": json.dumps(
                    _without_response_url(
                        block_actions_payload(
                            "shiptrace_refresh", "acme/shop#12", DEPLOYS, "U0A", ""
                        )
                    )
                )
            }
        ),
        FORM_CONTENT_TYPE,
        id="click-without-response-url",
    ),
]


@pytest.mark.parametrize(("body", "content_type"), ODD_BODIES)
async def test_an_odd_but_signed_request_is_one_log_line(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    github: GitHubEmulator,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    raw = body.encode()
    headers = {**signed_headers(SECRET, raw), "Content-Type": content_type}
    async with start_bot(workdir, slack, clock) as bot:
        before = slack.calls
        status, _ = await post(f"{bot.url}/slack/events", raw, headers)
    assert 400 <= status < 500
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.exc_info is None and "\n" not in line.getMessage()
    assert "Traceback" not in caplog.text
    assert github.requests == []
    # Bolt checks the bot token once, on the first signed request; nothing else goes to Slack.
    assert {c.method for c in slack.calls[len(before) :]} <= {"auth.test"}


async def test_a_locked_database_holds_up_no_ack_and_the_answer_says_so(
    workdir: Path, slack: SlackEmulator, clock: Clock, shop_live_in_staging: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        with LockHolder(workdir / "shiptrace.db") as lock:
            _, traced = await where(bot, slack, "acme/shop#12", name="r1")
            [answer] = await slack.wait_responses("r1")
            answered_while_locked = lock.held
            _, usage = await where(bot, slack, "help", name="r2")
            helped_while_locked = lock.held
        _, _ = await where(bot, slack, "acme/shop#12", name="r3")
        [later] = await slack.wait_responses("r3")
    assert traced["text"].startswith("Tracing acme/shop#12")
    assert "owner/repo#123" in block_text(usage["blocks"])
    assert answered_while_locked and helped_while_locked  # nothing waited for the lock
    shown = answer["text"] + "\n" + block_text(answer["blocks"])
    assert "database is busy" in shown
    assert "Try again in a minute" in shown
    assert buttons(answer["blocks"]) == {"shiptrace_refresh": "acme/shop#12"}
    assert later["text"].startswith("acme/shop#12: Live in staging")  # busy is not remembered


async def test_a_github_outage_answers_that_every_stage_is_unknown(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    shop_live_in_staging: shop.Shop,
) -> None:
    github.fail(r".*", status=502)
    async with start_bot(workdir, slack, clock) as bot:
        status, _ = await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1", timeout=10)
    assert status == 200
    shown = answer["text"] + "\n" + block_text(answer["blocks"])
    assert "GitHub could not be read" in shown
    assert "unknown" in shown
    assert buttons(answer["blocks"]) == {"shiptrace_refresh": "acme/shop#12"}
    assert "Traceback" not in shown


async def test_ci_unreadable_still_answers_with_ci_unknown(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    github: GitHubEmulator,
    shop_live_in_staging: shop.Shop,
) -> None:
    github.fail(r"/check-runs|/status$|/actions/runs", status=500)
    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1", timeout=10)
    shown = block_text(answer["blocks"])
    assert ":grey_question:" in shown  # CI unknown
    assert "Could not read" in shown
    assert "live in staging" in answer["text"]


async def test_an_unknown_pr_says_so_and_what_to_do(
    workdir: Path, slack: SlackEmulator, clock: Clock, shop_live_in_staging: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#999")
        [answer] = await slack.wait_responses("r1")
    shown = answer["text"] + "\n" + block_text(answer["blocks"])
    assert "no pull request #999" in shown
    assert "Check the number" in shown


async def test_an_unexpected_error_gets_an_apology_with_an_id(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    fleet: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with start_bot(workdir, slack, clock) as bot:

        @bot.app.command("/boom")
        async def boom(ack: Any) -> None:
            await ack()
            # Fail after the ack went out, as a real listener does (after its first look-up);
            # Bolt loses the ack when a listener fails within its 10 ms ack poll.
            await asyncio.sleep(0.05)
            raise RuntimeError("secret internals")

        body = slash_command_body("/boom", response_url=slack.response_url("r1"))
        status, _ = await post(f"{bot.url}/slack/events", body, signed_headers(SECRET, body))
        [answer] = await slack.wait_responses("r1")
    assert status == 200
    assert answer["text"].startswith("Sorry, something went wrong")
    assert "secret internals" not in answer["text"]
    error_id = answer["text"].split("(error ")[1].split(")")[0]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
