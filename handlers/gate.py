"""What may reach the listeners: verified, well-formed requests that answer only on Slack.

Two checks, in this order:

- ``endpoint`` serves ``POST /slack/events``. It checks the v0 signature itself, before
  Bolt parses anything: a request that cannot be verified, for whatever reason (no or bad
  signature, a timestamp that is not whole seconds or is stale, a body too big to read), gets
  401 and causes nothing else. A signed body that is not a JSON object gets 400 and one log
  line instead of a traceback.
- ``register`` adds a Bolt middleware (HTTP and Socket Mode alike) that gives each request
  its request id (every log line while it is handled carries it) and lets it through only if
  its ``response_url`` is on Slack's own hosts; slash commands and button clicks must have
  one. It replaces ``respond`` with one that retries (``handlers.replies``). The error
  handler asks ``may_reply`` before answering, so an apology goes nowhere else either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.signature import Clock, SignatureVerifier

from bot.observe.logging import new_request_id
from bot.observe.metrics import Metrics
from handlers.client import counted
from handlers.replies import RetryingRespond

log = logging.getLogger("shiptrace")

SLACK_HOOKS = "https://hooks.slack.com"
_PASSED = "shiptrace_gate_passed"


def reply_origins(slack_api_url: str | None) -> frozenset[str]:
    """Where answers may go: Slack's hooks host, and ``SLACK_API_URL``'s when it is set."""
    origins = {SLACK_HOOKS}
    if slack_api_url:
        origins.add(origin(slack_api_url))
    return frozenset(origins)


def origin(url: str) -> str:
    """scheme://host[:port], lower case, the default port left out; "" when not a URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username is not None:
        return ""
    default = {"https": 443, "http": 80}[parts.scheme]
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def signed(secret: str, headers: Any, body: bytes, now: float | None = None) -> bool:
    """Whether Slack signed ``body`` in the last five minutes; False (never an exception)
    for anything malformed."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    # Slack sends whole seconds; int() alone would also take " 12", "+12" or "1_000".
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    verifier = SignatureVerifier(secret, clock=Clock() if now is None else _At(now))
    try:
        return verifier.is_valid(body.decode("utf-8"), timestamp, signature)
    except (ValueError, TypeError):  # a body that is not UTF-8 was not signed by Slack
        return False


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def endpoint(app: AsyncApp, secret: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The ``POST /slack/events`` handler: verify, check the shape, then hand to Bolt."""

    async def slack_events(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.read()
        except web.HTTPException:  # too big to read: not something Slack sends
            return web.Response(status=401)
        if not signed(secret, request.headers, body):
            return web.Response(status=401)
        if not _is_object(body.decode("utf-8"), request.content_type):
            log.warning("ignored a signed request whose body is not a Slack payload")
            return web.Response(status=400)
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return slack_events


def _is_object(body: str, content_type: str) -> bool:
    """Whether Bolt would read ``body`` as a JSON object (or a form), as its parser does."""
    try:
        if content_type == "application/json" or body.startswith("{"):
            return isinstance(json.loads(body), dict) if body else True
        form = dict(parse_qsl(body, keep_blank_values=True))
        return "payload" not in form or isinstance(json.loads(form["payload"]), dict)
    except ValueError:
        return False


def register(app: AsyncApp, origins: frozenset[str], metrics: Metrics | None = None) -> None:
    @app.middleware
    async def answers_only_on_slack(
        context: AsyncBoltContext,
        body: dict[str, Any],
        response: BoltResponse,
        next_: Callable[[], Awaitable[None]],
    ) -> BoltResponse:
        # Set here, the id is in the context Bolt copies into the listener's task.
        new_request_id()
        kind = describe(body)
        url = context.response_url
        if url is None and kind in ("slash command", "button click"):
            log.warning("ignored a signed %s without a response_url", kind)
            return BoltResponse(status=400, body="")
        if url is not None and origin(url) not in origins:
            # The host only: the whole URL lets anyone answer the user.
            host = urlsplit(url).hostname if origin(url) else "not a URL"
            log.warning("ignored a signed %s whose response_url is not Slack's (%s)", kind, host)
            return BoltResponse(status=400, body="")
        if metrics is not None:
            context["client"] = counted(context.client, metrics)
        if url is not None:
            client = context.client
            respond = RetryingRespond(response_url=url, proxy=client.proxy, ssl=client.ssl)
            if metrics is not None:
                respond.lost = lambda why: metrics.slack_error("response_url", why)
            context["respond"] = respond
        context[_PASSED] = True
        await next_()
        return response


def may_reply(context: AsyncBoltContext) -> bool:
    """Whether this request passed the gate, so its ``respond`` answers on Slack."""
    return context.get(_PASSED) is True and context.response_url is not None


def describe(body: dict[str, Any]) -> str:
    """What kind of request ``body`` is, in a few words fit for a log line."""
    if "command" in body:
        return "slash command"
    if body.get("type") == "block_actions":
        return "button click"
    kind = body.get("type")
    return f"{str(kind)[:40]!r} request" if kind else "request of no known type"
