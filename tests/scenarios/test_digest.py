"""The daily digest: content from the emulators, exactly once, late runs, the chart.

The bot's clock is set by the test; the digest job is run by the test (no real schedule).
The digest is due at 09:00 UTC on weekdays (the default); 2026-11-27 is a Friday.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import kubeobjs as k
from tests.scenarios.command import Cli
from tests.scenarios.fleet import APP_URL, flux_prod, seed, tag
from tests.scenarios.slackbot import SLACK_CONFIG, Clock, block_text, start_bot, where

DIGESTS = "C0DIGEST"
DUE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
EVENT = "shiptrace_digest"


@dataclass
class Day:
    shas: dict[int, str]  # PR number -> merge commit


def merged_pr(gh: GitHubEmulator, repo: str, number: int, parent: str, at: str, **kw: Any) -> str:
    head = gh.add_commit(repo, f"work for #{number}", parents=[parent])
    sha = gh.add_commit(repo, f"PR {number} (#{number})", parents=[parent], branch="main")
    gh.add_pull(
        repo,
        number,
        head_sha=head,
        merged=True,
        merge_commit_sha=sha,
        merged_at=at,
        title=kw.pop("title", f"Change {number}"),
        commits=[head],
        **kw,
    )
    return sha


def green(gh: GitHubEmulator, repo: str, sha: str) -> None:
    gh.add_check_run(
        repo, sha, name="test", conclusion="success", completed_at="2026-11-26T16:00:00Z"
    )


def rolled_out_at(name: str, image: str, created: str, pod_hash: str) -> list[dict[str, Any]]:
    d = k.deployment(name, "shop", image)
    rs = k.replicaset(d, pod_hash, image, revision=2, replicas=3, created=created)
    return [d, rs, *(k.pod(rs, i) for i in range(3))]


@pytest.fixture
def day(github: GitHubEmulator, fleet: dict[str, KubeEmulator], workdir: Path) -> Day:
    """Five PRs merged on Thursday: shop #21-#23 live everywhere, shop #24 live in staging
    only (stuck at production's sync), billing #31 with failed CI."""
    github.add_repo("acme/shop")
    github.add_repo("acme/billing")
    base = github.add_commit("acme/shop", "Initial", parents=[], branch="main")
    shas: dict[int, str] = {}
    parent = base
    for n, hour in [(21, 10), (22, 11), (23, 12), (24, 13)]:
        parent = shas[n] = merged_pr(github, "acme/shop", n, parent, f"2026-11-26T{hour}:00:00Z")
        green(github, "acme/shop", parent)
    b0 = github.add_commit("acme/billing", "Initial", parents=[], branch="main")
    shas[31] = merged_pr(github, "acme/billing", 31, b0, "2026-11-26T14:00:00Z")
    github.add_check_run(
        "acme/billing",
        shas[31],
        name="test",
        conclusion="failure",
        completed_at="2026-11-26T14:10:00Z",
    )
    staging, prod = fleet["staging"], fleet["prod"]
    seed(
        staging,
        k.argo_app(
            "shop-staging",
            repo_url=APP_URL,
            revision=shas[24],
            history=[shas[24]],
            images=[tag(shas[24])],
        ),
    )
    seed(staging, *rolled_out_at("shop", tag(shas[24]), "2026-11-26T14:00:00Z", "a24"))
    flux_prod(prod, f"main@sha1:{shas[23]}")
    seed(prod, *rolled_out_at("shop", tag(shas[23]), "2026-11-26T16:00:00Z", "a23"))
    return Day(shas)


def digests(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages(DIGESTS) if (m["metadata"] or {}).get("event_type") == EVENT]


async def test_a_day_with_five_prs(
    workdir: Path, slack: SlackEmulator, day: Day, fleet: dict[str, KubeEmulator]
) -> None:
    clock = Clock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    async with start_bot(workdir, slack, clock) as bot:
        await bot.drift_job.run()  # what runs where before the day: the baseline
        seed(
            fleet["prod"],
            *rolled_out_at("shop", tag(day.shas[22]) + "x", "2026-11-26T12:00:00Z", "b"),
        )
        clock.now = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
        await bot.drift_job.run()  # a deployment to production
        seed(
            fleet["prod"], *rolled_out_at("shop", tag(day.shas[23]), "2026-11-26T16:00:00Z", "a23")
        )
        clock.now = datetime(2026, 11, 26, 16, 5, tzinfo=UTC)
        await bot.drift_job.run()  # and another

        clock.now = DUE
        await bot.digest_job.run(DIGESTS)
        await bot.digest_job.run(DIGESTS)  # the same window again: nothing more
    [digest] = digests(slack)
    lines = block_text(digest["blocks"]).splitlines()

    def line(*parts: str) -> str:
        [found] = [x for x in lines if all(p in x for p in parts)]
        return found

    for n in (21, 22, 23):
        assert line(f"acme/shop#{n}> Change", "CI").count(":white_check_mark:") == 3  # live
    assert line("acme/shop#24> Change", "CI  ").endswith(
        ":white_check_mark: CI  :white_check_mark: staging  :white_circle: production"
    )
    assert ":x: CI" in line("acme/billing#31> Change", "CI  ")
    stuck = line("stuck at sync in production for 20 h")
    assert stuck.startswith(":white_circle: <") and "acme/shop#24" in stuck
    assert line("stuck at CI").startswith(":x: <") and "acme/billing#31" in line("stuck at CI")
    # Lead times 6 h, 5 h and 4 h (merge → production rollout at 16:00); two deployments
    # to production seen by the drift scan, neither followed by a failure.
    assert lines.count("median 5 h, p90 6 h over 3 changes") == 2  # the window, 30 days
    assert lines.count("production 2 (2.0/day)") == 1
    assert lines.count("0% (0/2)") == 2
    assert digest["metadata"]["event_payload"]["window_end"] == "2026-11-27T09:00:00Z"
    assert slack.files == []  # three lead times: below the chart threshold (5)


async def test_a_quiet_day_says_so_in_one_line(
    workdir: Path, slack: SlackEmulator, fleet: dict[str, KubeEmulator], github: GitHubEmulator
) -> None:
    github.add_repo("acme/shop")
    github.add_repo("acme/billing")
    clock = Clock(DUE)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.run(DIGESTS)
    [digest] = digests(slack)
    assert "nothing shipped" in digest["text"].lower()
    assert len(digest["blocks"]) <= 4  # header, window, the one line, the 30-day figures
    [line] = [b for b in digest["blocks"] if b["type"] == "section"]
    assert line["text"]["text"].startswith(":zzz: Nothing shipped since")


async def test_killed_between_post_and_record_posts_exactly_once(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    clock = Clock(DUE)
    async with start_bot(workdir, slack, clock) as bot:
        start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        bot.deps.deliveries.digest_intent(DIGESTS, start, DUE, late=False)
    # The digest went out; the process died before recording it.
    client = AsyncWebClient(token=slack.token, base_url=slack.api_url)
    await client.chat_postMessage(
        channel=DIGESTS,
        text="Delivery digest",
        metadata={
            "event_type": EVENT,
            "event_payload": {"channel": DIGESTS, "window_end": "2026-11-27T09:00:00Z"},
        },
    )
    clock.now = datetime(2026, 11, 27, 9, 20, tzinfo=UTC)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.catch_up()
        await bot.digest_job.run(DIGESTS)
        assert bot.deps.deliveries.digest_state(DIGESTS, DUE) is not None
    assert len(digests(slack)) == 1


async def test_killed_before_posting_posts_once_after_restart(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    clock = Clock(DUE)
    async with start_bot(workdir, slack, clock) as bot:
        start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        bot.deps.deliveries.digest_intent(DIGESTS, start, DUE, late=False)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.catch_up()
        await bot.digest_job.catch_up()
    assert len(digests(slack)) == 1


@pytest.mark.parametrize(("restart_at", "posted"), [(11, True), (16, False)])
async def test_a_missed_run_is_posted_late_within_the_grace_only(
    workdir: Path,
    slack: SlackEmulator,
    day: Day,
    restart_at: int,
    posted: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.jobs.digest")
    clock = Clock(datetime(2026, 11, 27, restart_at, 0, tzinfo=UTC))  # down at 09:00
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.catch_up()
    if posted:
        [digest] = digests(slack)
        assert "(late)" in block_text(digest["blocks"])
    else:
        assert digests(slack) == []
        assert "missed while the bot was down; skipped" in caplog.text


async def test_the_lead_time_chart_is_uploaded_with_enough_changes(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    config = workdir / "shiptrace.yaml"
    config.write_text(
        SLACK_CONFIG.replace("slack:\n", "slack:\n  digest: {chart_min_changes: 3}\n")
    )
    async with start_bot(workdir, slack, Clock(DUE)) as bot:
        await bot.digest_job.run(DIGESTS)
    [digest] = digests(slack)
    [chart] = slack.files
    assert chart.content is not None and chart.content[:4] == b"\x89PNG"
    assert chart.filename == "lead-times-2026-11-27.png"
    assert (chart.channel, chart.thread_ts) == (DIGESTS, digest["ts"])  # in the digest's thread


async def test_where_digest_previews_privately(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    async with start_bot(workdir, slack, Clock(DUE)) as bot:
        status, ack = await where(bot, slack, "digest", channel=DIGESTS)
        [preview] = await slack.wait_responses("r1", timeout=20)
    assert status == 200 and "digest" in str(ack)
    assert preview["response_type"] == "ephemeral"
    assert "acme/shop#21" in block_text(preview["blocks"])
    assert digests(slack) == []


async def test_a_refused_post_is_retried_by_the_catch_up_within_the_grace(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    clock = Clock(DUE)
    slack.fail("chat.postMessage", "internal_error")
    async with start_bot(workdir, slack, clock) as bot:
        with pytest.raises(SlackApiError):
            await bot.digest_job.run(DIGESTS)
        assert digests(slack) == []
        clock.now = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
        await bot.digest_job.catch_up()
        await bot.digest_job.catch_up()
    [digest] = digests(slack)
    assert digest["metadata"]["event_payload"]["window_end"] == "2026-11-27T09:00:00Z"


async def test_a_half_done_digest_past_the_grace_is_skipped(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    clock = Clock(DUE)
    async with start_bot(workdir, slack, clock) as bot:
        start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        bot.deps.deliveries.digest_intent(DIGESTS, start, DUE, late=False)
    clock.now = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.catch_up()
        assert bot.deps.deliveries.digest_state(DIGESTS, DUE) == ("skipped", None)
    assert digests(slack) == []


def test_the_digest_command_prints_it_and_post_needs_a_channel(
    cli: Cli, day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    # The window ends now, on the wall clock: frozen at the digest's time, it holds the day.
    with freeze_time(DUE, tick=True, real_asyncio=True):
        printed = cli("digest", "--channel", DIGESTS)
    assert printed.code == 0, printed.err
    assert printed.out.startswith("Delivery digest")
    assert "last 30 days" in printed.out.lower()
    lines = printed.out.splitlines()
    assert lines[1] == "2026-11-26 09:00 UTC – 2026-11-27 09:00 UTC"
    assert "  merged  acme/shop#21  Change 21 — ✓ CI  ✓ staging  ✓ production" in printed.out
    assert "acme/shop#24  Change 24 — stuck at sync in production for 20 h" in printed.out
    with pytest.raises(SystemExit) as exited:
        cli("digest", "--post")
    assert exited.value.code == 2
    assert "digest --post needs --channel" in capsys.readouterr().err


async def test_a_channel_that_refuses_does_not_hold_up_the_others(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    config = workdir / "shiptrace.yaml"
    config.write_text(SLACK_CONFIG.replace("drift: true}", "drift: true, digest: true}"))
    slack.fail("chat.postMessage", "not_in_channel")  # the first channel refuses
    clock = Clock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # down at 09:00
    async with start_bot(workdir, slack, clock) as bot:
        assert bot.digest_job.channels == ["C0DEPLOYS", DIGESTS]
        await bot.digest_job.catch_up()
    [refused] = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "C0DEPLOYS"]
    assert refused.response["error"] == "not_in_channel"
    [digest] = digests(slack)
    assert "(late)" in block_text(digest["blocks"])


# --- what the bot could not see -------------------------------------------------------------

NOTE = "shiptrace_digest_note"


def notes(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages(DIGESTS) if (m["metadata"] or {}).get("event_type") == NOTE]


def test_github_unreachable_the_digest_command_exits_4_and_claims_nothing(
    cli: Any, day: Day, github: GitHubEmulator
) -> None:
    github.fail(".*", status=503)
    for args in (("digest",), ("digest", "--channel", DIGESTS)):
        result = cli(*args)
        assert result.code == 4, result.err
        assert result.out == ""  # no "Nothing shipped since …"
        [line] = result.err.splitlines()
        assert line.startswith(
            "shiptrace: no digest: GitHub could not be read (GitHub answered 503"
        )


def test_github_at_a_closed_port_exits_4(
    cli: Any, day: Day, monkeypatch: pytest.MonkeyPatch
) -> None:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
    result = cli("digest")
    assert result.code == 4 and result.out == ""
    assert "GitHub could not be read" in result.err and "connection refused" in result.err


def test_one_repo_unreadable_is_said_first_and_that_service_is_not_called_idle(
    cli: Any, day: Day, github: GitHubEmulator
) -> None:
    github.fail(r"^/repos/acme/billing/pulls$", status=503)
    result = cli("digest", "--channel", DIGESTS)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Delivery digest"
    assert lines[1].startswith(
        "Could not read: github: merged PRs of acme/billing: GitHub answered"
    )
    assert "Nothing shipped since" not in result.out and "no drift" not in result.out
    assert not any(x.startswith("Nothing shipped:") and "billing" in x for x in lines)


def test_an_unknown_channel_is_exit_2(cli: Any, day: Day, github: GitHubEmulator) -> None:
    github.clear_log()
    result = cli("digest", "--channel", "C0NOSUCH")
    assert result.code == 2
    [line] = result.err.splitlines()
    assert "--channel C0NOSUCH: no such channel under slack.channels" in line
    assert "C0DIGEST" in line  # what is configured
    assert github.requests == []


async def test_a_digest_without_scan_history_counts_what_the_traces_saw_go_live(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    async with start_bot(workdir, slack, Clock(DUE)) as bot:  # no drift scan ever ran
        await bot.digest_job.run(DIGESTS)
    [digest] = digests(slack)
    [window] = [b for b in digest["blocks"] if b["block_id"] == "digest_dora_window"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1:] for f in window["fields"]}
    # #21-#23 went live in production together (one rollout at 16:00), and in staging with
    # #24 (one rollout at 14:00): a deployment in each, as the lead times already say.
    assert fields["*Deployment frequency*"] == [
        "production 1 (1.0/day)",
        "staging 1 (1.0/day)",
        "partial: the drift scan (shiptrace serve) has not watched these environments",
    ]
    assert fields["*Lead time*"] == ["median 5 h, p90 6 h over 3 changes"]
    assert fields["*Change failure rate*"] == ["0% (0/2)"]
    assert fields["*Time to restore*"] == [
        "not measured yet: the drift scan (shiptrace serve) has not watched these environments"
    ]
    assert "no deployments" not in block_text(digest["blocks"])


async def test_a_quiet_day_without_scans_does_not_claim_no_drift(
    workdir: Path, slack: SlackEmulator, fleet: dict[str, KubeEmulator], github: GitHubEmulator
) -> None:
    github.add_repo("acme/shop")
    github.add_repo("acme/billing")
    async with start_bot(workdir, slack, Clock(DUE)) as bot:
        await bot.digest_job.run(DIGESTS)
    [digest] = digests(slack)
    text = block_text(digest["blocks"])
    assert "no drift" not in text
    assert "nothing stuck; drift not measured yet: the drift scan" in text


async def test_an_unbuildable_digest_is_retried_within_the_grace_and_posted_once_built(
    workdir: Path, slack: SlackEmulator, day: Day, github: GitHubEmulator
) -> None:
    clock = Clock(DUE)
    github.fail(".*", status=503)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.run(DIGESTS)
        assert digests(slack) == [] and notes(slack) == []
        clock.now = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
        await bot.digest_job.catch_up()  # still down: still nothing, still pending
        assert digests(slack) == [] and notes(slack) == []
        assert bot.deps.deliveries.digest_state(DIGESTS, DUE) == ("intent", None)
        github.clear_faults()
        clock.now = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        await bot.digest_job.catch_up()
        await bot.digest_job.catch_up()
    [digest] = digests(slack)
    assert "(late)" in block_text(digest["blocks"]) and "acme/shop#21" in block_text(
        digest["blocks"]
    )
    assert notes(slack) == []


async def test_a_digest_still_unbuildable_after_the_grace_is_a_note_posted_once(
    workdir: Path, slack: SlackEmulator, day: Day, github: GitHubEmulator
) -> None:
    clock = Clock(DUE)
    github.fail(".*", status=503)
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.run(DIGESTS)
        clock.now = datetime(2026, 11, 27, 14, 55, tzinfo=UTC)  # within the 6 h grace
        await bot.digest_job.catch_up()
        assert notes(slack) == []
        clock.now = datetime(2026, 11, 27, 15, 1, tzinfo=UTC)  # past it
        await bot.digest_job.catch_up()
        await bot.digest_job.catch_up()
        await bot.digest_job.run(DIGESTS)
    async with start_bot(workdir, slack, clock) as bot:  # a restart posts nothing more
        await bot.digest_job.catch_up()
        assert bot.deps.deliveries.digest_state(DIGESTS, DUE)[0] == "noted"
        # The next digest still covers the window the note was about.
        assert bot.deps.deliveries.window_start(DIGESTS, DUE) == datetime(
            2026, 11, 26, 9, 0, tzinfo=UTC
        )
    assert digests(slack) == []
    [note] = notes(slack)
    text = block_text(note["blocks"])
    assert text.startswith(":warning: The delivery digest for ")
    assert "could not be built: GitHub answered 503" in text
    assert "Nothing shipped" not in text and "no drift" not in text
    assert note["metadata"]["event_payload"] == {
        "channel": DIGESTS,
        "window_end": "2026-11-27T09:00:00Z",
    }


async def test_a_note_posted_just_before_a_crash_is_not_posted_again(
    workdir: Path, slack: SlackEmulator, day: Day
) -> None:
    clock = Clock(datetime(2026, 11, 27, 15, 30, tzinfo=UTC))
    async with start_bot(workdir, slack, clock) as bot:
        deliveries = bot.deps.deliveries
        deliveries.digest_intent(DIGESTS, datetime(2026, 11, 26, 9, 0, tzinfo=UTC), DUE, False)
        deliveries.digest_unbuilt(DIGESTS, DUE, "GitHub answered 503")
        deliveries.note_intent(DIGESTS, DUE)
    # The note went out; the process died before recording it.
    client = AsyncWebClient(token=slack.token, base_url=slack.api_url)
    await client.chat_postMessage(
        channel=DIGESTS,
        text="Delivery digest could not be built",
        metadata={
            "event_type": NOTE,
            "event_payload": {"channel": DIGESTS, "window_end": "2026-11-27T09:00:00Z"},
        },
    )
    async with start_bot(workdir, slack, clock) as bot:
        await bot.digest_job.catch_up()
        assert bot.deps.deliveries.digest_state(DIGESTS, DUE)[0] == "noted"
    assert len(notes(slack)) == 1 and digests(slack) == []


async def test_what_a_trace_could_not_read_is_said_first_and_an_untraced_pr_is_still_listed(
    workdir: Path,
    slack: SlackEmulator,
    day: Day,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
) -> None:
    github.fail(r"^/repos/acme/billing/pulls/31$", status=503)
    fleet["prod"].stop()
    async with start_bot(workdir, slack, Clock(DUE)) as bot:
        await bot.digest_job.run(DIGESTS)
    [digest] = digests(slack)
    assert digest["blocks"][1]["block_id"] == "digest_errors"
    errors = digest["blocks"][1]["elements"][0]["text"]
    assert errors.startswith("Could not read: ")
    assert "acme/billing#31: GitHub answered 503" in errors
    assert errors.count("kubernetes (production): cluster 'prod'") == 1  # said once, not per PR
    text = block_text(digest["blocks"])
    assert "acme/billing#31> Change 31 — :grey_question: could not be traced" in text
    assert "Nothing shipped: billing" not in text
