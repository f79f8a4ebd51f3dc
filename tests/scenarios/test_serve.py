"""`shiptrace serve`: the process, its health routes, Socket Mode, start-up checks, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.sandbox.slack import SlackEmulator
from bot.sandbox.slack_signing import signed_headers, slash_command_body, slash_command_payload
from tests.scenarios import shop
from tests.scenarios.slackbot import SECRET, Clock, block_text, get, post, start_bot

ROOT = Path(__file__).resolve().parents[2]
# Reported by /readyz, but a restart would not mend them: they never make the pod unready.
REPORTED = {"github": True, "cluster:staging": True, "cluster:prod": True}


@pytest.fixture
def s(shop_live_in_staging: shop.Shop) -> shop.Shop:
    return shop_live_in_staging


async def test_socket_mode_round_trip(
    workdir: Path, slack: SlackEmulator, clock: Clock, s: shop.Shop
) -> None:
    async with start_bot(workdir, slack, clock, socket=True) as bot:
        await slack.wait_socket_connected()
        payload = slash_command_payload(
            text="acme/shop#12", channel_id="C0DEPLOYS", response_url=slack.response_url("s1")
        )
        ack = await slack.socket_send("slash_commands", payload)
        assert ack["payload"]["text"].startswith("Tracing acme/shop#12")
        [answer] = await slack.wait_responses("s1")
        assert answer["text"].startswith("acme/shop#12: Live in staging")
        assert "continuous" in block_text(answer["blocks"])

        status, body = await get(f"{bot.url}/readyz")
        assert (status, body["checks"]) == (200, {"store": True, "slack_socket": True, **REPORTED})
        assert body["required"] == ["store", "slack_socket"]
        # Socket Mode serves no Slack HTTP endpoint.
        status, _ = await post(f"{bot.url}/slack/events", b"", {})
        assert status == 404


async def test_health_and_readiness_over_http(
    workdir: Path, slack: SlackEmulator, clock: Clock, fleet: Any
) -> None:
    async with start_bot(workdir, slack, clock) as bot:
        assert await get(f"{bot.url}/healthz") == (200, {"ok": True})
        ready = {"ready": True, "checks": {"store": True, **REPORTED}, "required": ["store"]}
        assert await get(f"{bot.url}/readyz") == (200, {**ready, "down": {}})
        bot.engine.store.close()  # the database became unusable
        status, body = await get(f"{bot.url}/readyz")
        assert (status, body["ready"]) == (503, False)
        assert await get(f"{bot.url}/healthz") == (200, {"ok": True})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "must be a bot token"),
        ({"SLACK_BOT_TOKEN": "xoxb-revoked"}, "Slack refused SLACK_BOT_TOKEN (invalid_auth)"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_APP_TOKEN": "xapp-wrong"}, "Slack refused SLACK_APP_TOKEN (invalid_auth)"),
    ],
)
def test_serve_refuses_to_start_with_a_clear_message(
    workdir: Path,
    slack: SlackEmulator,
    fleet: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    message: str,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    for name, value in env.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name)
    code = main(["serve", "--host", "127.0.0.1", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_serve_on_a_port_in_use_says_so(
    workdir: Path,
    slack: SlackEmulator,
    fleet: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--host", "127.0.0.1", "--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


async def test_the_serve_command_answers_and_stops_on_sigterm(
    workdir: Path, slack: SlackEmulator, s: shop.Shop
) -> None:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SHIPTRACE_HOST": "127.0.0.1",
        "SHIPTRACE_PORT": "0",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        url = await asyncio.wait_for(_serving_url(proc.stderr), 30)
        assert await get(f"{url}/healthz") == (200, {"ok": True})
        body = slash_command_body(
            text="acme/shop#12", channel_id="C0DEPLOYS", response_url=slack.response_url("p1")
        )
        status, ack = await post(f"{url}/slack/events", body, signed_headers(SECRET, body))
        assert status == 200 and ack["text"].startswith("Tracing")
        [answer] = await slack.wait_responses("p1", timeout=20)
        assert answer["text"].startswith("acme/shop#12: Live in staging")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _serving_url(stream: asyncio.StreamReader) -> str:
    while line := (await stream.readline()).decode():
        found = re.search(r"\((http://[^ )]+)/slack/events\)", line)
        if found:
            return found.group(1)
    raise AssertionError("shiptrace serve exited before serving")
