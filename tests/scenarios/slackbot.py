"""The bot, started as ``shiptrace serve`` starts it, against the Slack, GitHub and cluster emulators."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.app import Bot, running
from bot.config import Settings, load_service_map
from bot.sandbox.scenario import TWO_ENVS, Clock
from bot.sandbox.slack import SlackEmulator
from bot.sandbox.slack_signing import block_actions_body, signed_headers, slash_command_body
from bot.sandbox.threaded import ThreadedServer

SECRET = "test-signing-secret"
DEPLOYS = "C0DEPLOYS"  # allowed: acme/shop, default repo acme/shop
LOCKED = "C0LOCKED"  # repos: [] allows nothing
ELSEWHERE = "C0RANDOM"  # not in the config: configured services only

SLACK_CONFIG = (
    TWO_ENVS
    + """
  - name: billing
    repo: acme/billing
    environments:
      - name: staging
slack:
  channels:
    C0DEPLOYS: {repos: ["acme/shop"], default_repo: acme/shop, drift: true}
    C0LOCKED: {repos: []}
    C0DIGEST: {repos: ["acme/*"], digest: true}
"""
)


@asynccontextmanager
async def start_bot(
    workdir: Path, slack: SlackEmulator, clock: Clock, *, socket: bool = False, **overrides: Any
) -> AsyncIterator[Bot]:
    """The bot on 127.0.0.1:<free port>, jobs idle (tests run them), env from ``workdir``;
    ``overrides`` are more settings (e.g. ``shiptrace_db``)."""
    settings = Settings(
        slack_bot_token=SecretStr(slack.token),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=slack.api_url,
        slack_app_token=SecretStr(slack.app_token) if socket else None,
        shiptrace_follow_interval=60,
        shiptrace_follow_max_hours=24,
        **overrides,
    )
    services = load_service_map(workdir / "shiptrace.yaml")
    async with running(
        settings, services, host="127.0.0.1", port=0, clock=clock, schedule=False
    ) as bot:
        yield bot


class Recorder:
    """A server that is not Slack (an attacker's, say): records every request it gets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[str] = []
        self._server = ThreadedServer(self._make_app)

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        return app

    async def _record(self, request: web.Request) -> web.Response:
        with self._lock:
            self._seen.append(f"{request.method} {request.path_qs}")
        return web.Response(text="ok")

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def requests(self) -> list[str]:
        with self._lock:
            return list(self._seen)

    def __enter__(self) -> Recorder:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


class LockHolder:
    """Another process's write lock on the bot's database, held from a thread of its own.

    It lets go when the ``with`` block ends, or once Slack's 3 s ack window has passed: a bot
    that waits for the lock therefore answers only after ``held`` became False.
    """

    def __init__(self, path: Path, window: float = 3.0) -> None:
        self._path = path
        self._window = window
        self._taken = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self.held = False

    def _hold(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            conn.execute("begin immediate")
            self.held = True
            self._taken.set()
            self._release.wait(self._window)
            self.held = False  # before letting go: whatever the bot does next saw it gone
            conn.execute("rollback")
        finally:
            conn.close()

    def __enter__(self) -> LockHolder:
        self._thread.start()
        if not self._taken.wait(5):
            raise TimeoutError(f"could not lock {self._path}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._thread.join(5)


async def until(done: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait for something the bot does after its HTTP answer (a log line, say)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds}s")
        await asyncio.sleep(0.01)


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers=headers) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return r.status, text


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.json()


async def where(
    bot: Bot,
    slack: SlackEmulator,
    text: str,
    *,
    channel: str = DEPLOYS,
    name: str = "r1",
    user: str = "U0ALICE",
) -> tuple[int, Any]:
    """A correctly signed ``/where text``; returns the HTTP status and the ack body."""
    body = slash_command_body(
        text=text, channel_id=channel, user_id=user, response_url=slack.response_url(name)
    )
    return await post(f"{bot.url}/slack/events", body, signed_headers(SECRET, body))


async def click(
    bot: Bot,
    slack: SlackEmulator,
    action_id: str,
    value: str,
    *,
    channel: str = DEPLOYS,
    name: str = "a1",
    user: str = "U0ALICE",
    message_ts: str | None = None,
) -> int:
    """A signed button click, from an ephemeral answer or (with message_ts) a posted message."""
    message = None
    if message_ts is not None:
        message = next(m for m in slack.messages(channel) if m["ts"] == message_ts)
    body = block_actions_body(
        action_id,
        value,
        channel,
        user,
        slack.response_url(name),
        message_ts,
        message=message,
    )
    status, _ = await post(f"{bot.url}/slack/events", body, signed_headers(SECRET, body))
    return status


def block_text(blocks: list[dict[str, Any]]) -> str:
    """Every text a person sees in ``blocks``, joined by newlines."""
    out: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text.get("text", "")))
        for element in block.get("elements", []) or []:
            inner = element.get("text")
            if isinstance(inner, dict):
                out.append(str(inner.get("text", "")))
            elif isinstance(inner, str):
                out.append(inner)
        for f in block.get("fields", []) or []:
            out.append(str(f.get("text", "")))
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """action_id -> value of every button."""
    return {
        e["action_id"]: e.get("value", "")
        for b in blocks
        if b.get("type") == "actions"
        for e in b.get("elements", [])
    }
