"""Operating the bot: /metrics scraped over HTTP, /readyz naming what is down, quiet JSON logs.

The metrics are parsed with prometheus-client's own parser, as Prometheus reads them; the
counts are compared with what the emulators saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox.github import RATE_LIMIT, GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from bot.sandbox.slack import SlackEmulator
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from tests.scenarios import shop
from tests.scenarios.slackbot import SECRET, Clock, click, get, post, start_bot, where
from tests.scenarios.test_drift_incidents import drift_staging
from tests.scenarios.test_kube_errors import closed_port, point_prod_at

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def s(shop_live_in_staging: shop.Shop) -> shop.Shop:
    return shop_live_in_staging


class Scrape:
    """One scrape of /metrics, parsed as Prometheus parses it."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [
            (x.name, x.labels, x.value) for f in self.families.values() for x in f.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        found = [v for n, ls, v in self.samples if n == name and ls == labels]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else None

    def labelled(self, name: str, label: str) -> dict[str, float]:
        return {ls[label]: v for n, ls, v in self.samples if n == name}


async def scrape(url: str) -> Scrape:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return Scrape(await r.text())


async def metric_reaches(url: str, name: str, **labels: str) -> float:
    """A metric the bot updates after its HTTP answer, once it is there (5 s at most)."""
    deadline = time.monotonic() + 5
    while (value := (await scrape(url)).value(name, **labels)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}{labels} never appeared")
        await asyncio.sleep(0.01)
    return value


def statuses(github: GitHubEmulator) -> Counter[str]:
    """What the emulator answered, in the metric's status labels."""
    out: Counter[str] = Counter()
    for request in github.requests:
        status = request.status
        assert status is not None
        out[str(status) if status in (200, 304) else f"{status // 100}xx"] += 1
    return out


async def test_serve_answers_metrics_counting_an_answer_and_its_requests(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, github: GitHubEmulator
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        before = await scrape(bot.url)
        assert before.value("shiptrace_answers_total", outcome="traced") is None
        assert before.value("shiptrace_incidents_open") == 0
        assert before.value("shiptrace_follows_active") == 0

        assert (await where(bot, slack, "acme/shop#12"))[0] == 200
        [answer] = await slack.wait_responses("r1")
        assert answer["text"].startswith("acme/shop#12: Live in staging")
        m = await scrape(bot.url)
        assert m.value("shiptrace_answers_total", outcome="traced") == 1
        assert m.labelled("shiptrace_github_requests_total", "status") == statuses(github)
        assert m.value("shiptrace_github_requests_total", status="200") > 0  # type: ignore[operator]
        counted = statuses(github)["200"]
        remaining = m.value("shiptrace_github_rate_limit_remaining")
        assert remaining is not None and RATE_LIMIT - counted <= remaining < RATE_LIMIT
        requests = m.labelled("shiptrace_kubernetes_requests_total", "cluster")
        assert set(requests) == {"staging", "prod"} and min(requests.values()) > 0
        assert m.labelled("shiptrace_kubernetes_errors_total", "cluster") == {}
        # Every name is the bot's own, and each bot has its own registry.
        assert all(name.startswith("shiptrace_") for name in m.families)

        # Asked again, what can change is revalidated: GitHub answers 304.
        assert (await where(bot, slack, "acme/shop#12", name="r2"))[0] == 200
        await slack.wait_responses("r2")
        again = await scrape(bot.url)
        assert again.value("shiptrace_answers_total", outcome="traced") == 2
        assert again.value("shiptrace_github_requests_total", status="304") > 0  # type: ignore[operator]
        assert again.labelled("shiptrace_github_requests_total", "status") == statuses(github)


async def test_a_github_5xx_is_counted_and_readyz_names_github_without_asking_it(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, github: GitHubEmulator
) -> None:
    github.fail(r"^/repos/acme/shop/pulls/12$", status=502)
    async with start_bot(workdir, slack, clock) as bot:
        await where(bot, slack, "acme/shop#12")
        [answer] = await slack.wait_responses("r1")
        assert "GitHub could not be read" in answer["text"]
        m = await scrape(bot.url)
        # One retry (SHIPTRACE_GITHUB_RETRIES=1): two requests, both answered 502.
        assert m.value("shiptrace_github_requests_total", status="5xx") == 2
        assert m.value("shiptrace_answers_total", outcome="github_unavailable") == 1

        status, body = await get(f"{bot.url}/readyz")
        assert (status, body["ready"], body["required"]) == (200, True, ["store"])
        assert body["checks"]["github"] is False
        assert "502" in body["down"]["github"]
        # What the answer saw stands: no probe was sent.
        assert [r.path for r in github.requests if r.path == "/rate_limit"] == []


async def test_readyz_with_a_cluster_unreachable_names_it_and_stays_ready(
    workdir: Path,
    slack: SlackEmulator,
    clock: Clock,
    s: shop.Shop,
    github: GitHubEmulator,
    fleet: dict[str, KubeEmulator],
) -> None:
    point_prod_at(workdir / "kubeconfig", f"https://127.0.0.1:{closed_port()}")
    async with start_bot(workdir, slack, clock) as bot:
        status, body = await get(f"{bot.url}/readyz")
        assert status == 200 and body["ready"] is True
        assert body["checks"] == {
            "store": True,
            "github": True,
            "cluster:staging": True,
            "cluster:prod": False,
        }
        assert set(body["down"]) == {"cluster:prod"}
        assert "cluster 'prod'" in body["down"]["cluster:prod"]
        assert "connection refused" in body["down"]["cluster:prod"]

        # Asked again at once, the probes' answers stand: nothing is asked twice.
        probes = len(github.requests), len(fleet["staging"].requests)
        assert (await get(f"{bot.url}/readyz"))[1] == body
        assert (len(github.requests), len(fleet["staging"].requests)) == probes
        m = await scrape(bot.url)
        assert m.value("shiptrace_kubernetes_requests_total", cluster="staging") == 1
        errors = m.value("shiptrace_kubernetes_errors_total", cluster="prod")
        assert errors == m.value("shiptrace_kubernetes_requests_total", cluster="prod") == 3

        bot.engine.store.close()  # only what a restart mends makes the pod unready
        status, body = await get(f"{bot.url}/readyz")
        assert (status, body["ready"], body["checks"]["store"]) == (503, False, False)
        assert body["down"]["store"] == "the database does not answer"


async def test_scan_duration_open_incidents_and_follows(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop, fleet: dict[str, KubeEmulator]
) -> None:
    async with start_bot(workdir, slack, clock, shiptrace_drift_grace=0) as bot:
        drift_staging(fleet, s, "Deployment shop")
        await bot.drift_job.run()
        assert await click(bot, slack, "shiptrace_follow", "acme/shop#12") == 200
        await slack.wait_responses("a1")
        m = await scrape(bot.url)
        assert m.value("shiptrace_drift_scan_seconds_count") == 1
        assert m.value("shiptrace_drift_scan_seconds_sum") > 0  # type: ignore[operator]
        assert m.value("shiptrace_incidents_open") == 1
        assert m.value("shiptrace_follows_active") == 1
        assert m.value("shiptrace_answers_total", outcome="traced") == 1  # the button's


async def test_slack_api_errors_by_method_and_error(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    async with start_bot(workdir, slack, clock) as bot:
        assert await click(bot, slack, "shiptrace_share", "acme/shop#12") == 200
        [told] = await slack.wait_responses("a1")
        assert "can't post in this channel (not_in_channel)" in told["text"]
        m = await scrape(bot.url)
        failed = m.value(
            "shiptrace_slack_api_errors_total", method="chat.postMessage", error="not_in_channel"
        )
        assert failed == 1

        # An answer its response_url refuses, after the retries, is counted as lost.
        slack.response_url("lost", status=500)
        await where(bot, slack, "acme/shop#12", name="lost")
        lost = await metric_reaches(
            bot.url, "shiptrace_slack_api_errors_total", method="response_url", error="500"
        )
        assert lost == 1 and slack.response_statuses("lost") == [500, 500, 500]


async def test_json_logs_carry_one_request_id_per_request_and_stay_quiet(
    workdir: Path, slack: SlackEmulator, s: shop.Shop, github: GitHubEmulator
) -> None:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SHIPTRACE_HOST": "127.0.0.1",
        "SHIPTRACE_PORT": "0",
        "SHIPTRACE_LOG_FORMAT": "json",
        # Every line shiptrace writes, the retry notes too; the libraries stay at WARNING.
        "SHIPTRACE_LOG_LEVEL": "DEBUG",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        serving = await asyncio.wait_for(_line(proc.stderr, lines, "shiptrace is serving"), 30)
        url = re.search(r"\((http://[^ )]+)/slack/events\)", serving["message"])
        assert url is not None
        # The job run at start (the digest's catch-up) first: its requests are its own.
        await asyncio.wait_for(_line(proc.stderr, lines, "job digest-start ran"), 30)
        github.fail(r"^/repos/acme/shop/pulls/12$", status=502, times=1)  # one retry
        body = slash_command_body(
            text="acme/shop#12", channel_id="C0DEPLOYS", response_url=slack.response_url("j1")
        )
        status, _ = await post(f"{url[1]}/slack/events", body, signed_headers(SECRET, body))
        assert status == 200
        [answer] = await slack.wait_responses("j1", timeout=20)
        assert answer["text"].startswith("acme/shop#12: Live in staging")
        answered = await asyncio.wait_for(_line(proc.stderr, lines, "answered a /where"), 20)
        metrics = await scrape(url[1])  # the command itself serves /metrics
        assert metrics.value("shiptrace_answers_total", outcome="traced") == 1
        assert metrics.value("shiptrace_github_requests_total", status="5xx") == 1
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines.extend(rest.decode().splitlines())

    records = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record), record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])

    # The /where: its lines, the retry noted in a worker thread too, share one request id.
    rid = answered["request_id"]
    assert rid and answered["message"].startswith("answered a /where: traced")
    mine = [r["message"] for r in records if r["request_id"] == rid]
    assert any(m.startswith("GitHub: retrying (attempt 2/2) after 502") for m in mine), mine
    retries = [r for r in records if r["message"].startswith("GitHub: retrying")]
    assert [r["request_id"] for r in retries] == [rid]
    # A job run has an id of its own.
    [job] = [r for r in records if r["message"].startswith("job digest-start ran")]
    assert job["request_id"].startswith("digest-start-") and job["request_id"] != rid

    text = "\n".join(lines)
    assert "executed successfully" not in text and "Running job" not in text  # APScheduler
    assert "`token` will be unused" not in text  # Bolt, at every start
    assert "Retrying (Retry(" not in text  # urllib3's own retry warning
    # No request body, no secret, at any level.
    for never in (slack.response_url("j1"), "response_url", "command=%2Fwhere", "ghp_test"):
        assert never not in text, never
    assert slack.token not in text and SECRET not in text


async def _line(stream: asyncio.StreamReader, seen: list[str], text: str) -> dict[str, Any]:
    """Read log lines (kept in ``seen``) until one whose message starts with ``text``."""
    while raw := (await stream.readline()).decode():
        seen.append(raw.rstrip("\n"))
        record = json.loads(raw)
        if str(record.get("message", "")).startswith(text):
            return dict(record)
    raise AssertionError(f"shiptrace serve exited before logging {text!r}")
