"""Contract tests: the real slack_sdk / slack_bolt clients against SlackEmulator."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox.slack import SlackEmulator
from bot.sandbox.slack_signing import (
    block_actions_body,
    sign,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)

SECRET = "test-signing-secret"
CHANNEL = "C0DEPLOY"


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # AsyncApp reads SLACK_* implicitly (FACTS.md point 1).
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as e:
        yield e


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=emu.token, base_url=emu.api_url)


# ---------------------------------------------------------------------- Web API


async def test_auth_test_identifies_the_bot(emu: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0001", "U0BOT", "B0001")
    [call] = emu.calls
    assert (call.method, call.token, call.status) == ("auth.test", "xoxb-test", 200)


async def test_auth_test_says_the_granted_scopes_in_a_header(emu: SlackEmulator) -> None:
    # Slack answers every call made with a valid token with the token's scopes.
    client = AsyncWebClient(token=emu.token, base_url=emu.api_url)
    resp = await client.auth_test()
    granted = resp.headers["x-oauth-scopes"]
    assert granted == "commands,chat:write,channels:history,groups:history,files:write"
    emu.scopes = ["commands"]
    assert (await client.auth_test()).headers["x-oauth-scopes"] == "commands"
    app = AsyncWebClient(base_url=emu.api_url)
    opened = await app.apps_connections_open(app_token=emu.app_token)
    assert opened.headers["x-oauth-scopes"] == "connections:write"
    refused = AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url)
    with pytest.raises(SlackApiError) as exc:
        await refused.auth_test()
    assert "x-oauth-scopes" not in exc.value.response.headers


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("xapp-test", "not_allowed_token_type")],
)
async def test_bad_bot_token_is_refused(emu: SlackEmulator, token: str | None, error: str) -> None:
    client = AsyncWebClient(token=token, base_url=emu.api_url)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL, text="hi")
    assert exc.value.response.status_code == 200
    assert exc.value.response["error"] == error
    assert emu.messages(CHANNEL) == []
    assert emu.calls[0].token == token


async def test_post_message_stores_and_returns_the_message(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*PR 42*"}}]
    metadata = {"event_type": "shiptrace_status", "event_payload": {"pr": 42}}
    first = await client.chat_postMessage(
        channel=CHANNEL, text="PR 42", blocks=blocks, metadata=metadata
    )
    second = await client.chat_postMessage(channel=CHANNEL, text="again")

    assert first["ts"] == "1764147600.000100"
    assert second["ts"] == "1764147600.000200"
    assert first["channel"] == CHANNEL
    assert first["message"]["blocks"] == blocks
    [stored, _] = emu.messages(CHANNEL)
    assert stored["text"] == "PR 42"
    assert stored["blocks"] == blocks
    assert stored["metadata"] == metadata
    assert stored["user"] == "U0BOT"
    assert stored["thread_ts"] is None
    # JSON bodies are recorded decoded, token apart.
    call = emu.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == blocks
    assert "token" not in call.args


async def test_form_encoded_call_is_decoded_like_json(emu: SlackEmulator) -> None:
    # Token in the form body rather than the header; blocks as a JSON string.
    client = AsyncWebClient(token=None, base_url=emu.api_url)
    await client.api_call(
        "chat.postMessage",
        data={
            "token": emu.token,
            "channel": CHANNEL,
            "text": "form",
            "blocks": '[{"type": "divider"}]',
        },
    )
    [call] = emu.calls
    assert call.token == emu.token
    assert call.args["blocks"] == [{"type": "divider"}]
    assert emu.messages(CHANNEL)[0]["blocks"] == [{"type": "divider"}]


async def test_post_message_needs_content_and_valid_blocks(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL)
    assert exc.value.response["error"] == "no_text"

    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL, text="x", blocks=too_many)
    assert exc.value.response["error"] == "invalid_blocks"

    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL, text="x", blocks=long_section)
    assert exc.value.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


async def test_thread_replies_and_broadcast(emu: SlackEmulator, client: AsyncWebClient) -> None:
    root = (await client.chat_postMessage(channel=CHANNEL, text="root"))["ts"]
    await client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=root)
    await client.chat_postMessage(
        channel=CHANNEL, text="loud", thread_ts=root, reply_broadcast=True
    )

    history = (await client.conversations_history(channel=CHANNEL))["messages"]
    assert [m["text"] for m in history] == ["loud", "root"]  # newest first, plain reply hidden
    assert history[1]["reply_count"] == 2

    replies = (await client.conversations_replies(channel=CHANNEL, ts=root))["messages"]
    assert [m["text"] for m in replies] == ["root", "reply", "loud"]
    assert all(m["thread_ts"] == root for m in replies)

    with pytest.raises(SlackApiError) as exc:
        await client.conversations_replies(channel=CHANNEL, ts="1.000000")
    assert exc.value.response["error"] == "thread_not_found"


async def test_update_replaces_content(emu: SlackEmulator, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "building"}}]
    ts = (await client.chat_postMessage(channel=CHANNEL, text="building", blocks=blocks))["ts"]

    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "deployed"}}]
    resp = await client.chat_update(channel=CHANNEL, ts=ts, text="deployed", blocks=new_blocks)
    assert resp["ts"] == ts
    assert emu.messages(CHANNEL)[0]["blocks"] == new_blocks

    # Text without blocks drops the old blocks, as on Slack.
    await client.chat_update(channel=CHANNEL, ts=ts, text="plain")
    [msg] = emu.messages(CHANNEL)
    assert (msg["text"], msg["blocks"]) == ("plain", [])


async def test_update_errors(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        await client.chat_update(channel=CHANNEL, ts="1764147600.999999", text="x")
    assert exc.value.response["error"] == "message_not_found"

    human = emu.add_message(CHANNEL, "written by a person")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_update(channel=CHANNEL, ts=human, text="x")
    assert exc.value.response["error"] == "cant_update_message"
    assert emu.messages(CHANNEL)[0]["text"] == "written by a person"


async def test_delete_and_ephemeral(emu: SlackEmulator, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel=CHANNEL, text="bye"))["ts"]
    await client.chat_delete(channel=CHANNEL, ts=ts)
    assert emu.messages(CHANNEL) == []
    with pytest.raises(SlackApiError) as exc:
        await client.chat_delete(channel=CHANNEL, ts=ts)
    assert exc.value.response["error"] == "message_not_found"

    resp = await client.chat_postEphemeral(channel=CHANNEL, user="U0USER", text="psst")
    assert resp["message_ts"]
    assert emu.messages(CHANNEL) == []  # ephemerals are not channel history
    assert emu.ephemerals(CHANNEL)[0]["user"] == "U0USER"


async def test_history_metadata_range_and_pagination(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "shiptrace_status", "event_payload": {"n": 0}}
    tss = [
        (await client.chat_postMessage(channel=CHANNEL, text=f"m{i}", metadata=metadata))["ts"]
        for i in range(5)
    ]

    plain = (await client.conversations_history(channel=CHANNEL))["messages"]
    assert all("metadata" not in m for m in plain)
    full = (await client.conversations_history(channel=CHANNEL, include_all_metadata=True))[
        "messages"
    ]
    assert full[0]["metadata"] == metadata

    # oldest/latest are exclusive unless inclusive=True.
    window = await client.conversations_history(channel=CHANNEL, oldest=tss[1], latest=tss[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]
    window = await client.conversations_history(
        channel=CHANNEL, oldest=tss[1], latest=tss[3], inclusive=True
    )
    assert [m["text"] for m in window["messages"]] == ["m3", "m2", "m1"]

    seen: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            assert page["has_more"] is False
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"]


async def test_files_upload_v2_round_trip(emu: SlackEmulator, client: AsyncWebClient) -> None:
    resp = await client.files_upload_v2(
        channel=CHANNEL,
        content=b"rollout log\n",
        filename="rollout.log",
        title="Rollout",
        initial_comment="here",
    )
    assert resp["file"]["title"] == "Rollout"
    [f] = emu.files
    assert (f.content, f.filename, f.channel, f.initial_comment) == (
        b"rollout log\n",
        "rollout.log",
        CHANNEL,
        "here",
    )
    [msg] = emu.messages(CHANNEL)
    assert msg["files"][0]["id"] == f.id
    assert [c.method for c in emu.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


class _RecordingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's rate-limit handler: its decision to retry, with the wait it would make
    (Retry-After, plus up to 1 s of jitter) recorded instead of slept."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=1)
        self.waits: list[int] = []

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        headers = {k.lower(): v for k, v in response.headers.items()}
        self.waits.append(int(headers["retry-after"][0]))
        state.next_attempt_requested = True
        state.increment_current_attempt()


async def test_429_is_retried_by_the_rate_limit_handler(emu: SlackEmulator) -> None:
    bare = AsyncWebClient(token=emu.token, base_url=emu.api_url)
    emu.rate_limit("chat.postMessage", times=1, retry_after=1)
    with pytest.raises(SlackApiError) as exc:
        await bare.chat_postMessage(channel=CHANNEL, text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "1"
    assert exc.value.response["error"] == "ratelimited"

    handler = _RecordingRateLimitHandler()
    retrying = AsyncWebClient(token=emu.token, base_url=emu.api_url, retry_handlers=[handler])
    emu.rate_limit("chat.postMessage", times=1, retry_after=30)
    resp = await retrying.chat_postMessage(channel=CHANNEL, text="y")
    assert resp["ok"] is True
    assert handler.waits == [30]
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [429, 429, 200]
    assert [m["text"] for m in emu.messages(CHANNEL)] == ["y"]


async def test_fail_injects_an_error_once(emu: SlackEmulator, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel=CHANNEL, text="a"))["ts"]
    emu.fail("chat.update", error="message_not_found", times=1)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_update(channel=CHANNEL, ts=ts, text="b")
    assert exc.value.response["error"] == "message_not_found"
    await client.chat_update(channel=CHANNEL, ts=ts, text="b")
    assert emu.messages(CHANNEL)[0]["text"] == "b"


async def test_response_url_records_up_to_five_posts(emu: SlackEmulator) -> None:
    hook = AsyncWebhookClient(emu.response_url("r1"))
    statuses = [(await hook.send(text=f"n{i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert [b["text"] for b in emu.responses("r1")] == [f"n{i}" for i in range(5)]
    assert emu.responses("other") == []


async def test_response_url_can_be_rate_limited_or_fail_a_few_times(emu: SlackEmulator) -> None:
    emu.fail_responses("r1", status=429, retry_after=7)
    emu.fail_responses("r1", status=500, times=2)
    hook = AsyncWebhookClient(emu.response_url("r1"), retry_handlers=[])
    limited = await hook.send(text="a")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert [(await hook.send(text=t)).status_code for t in "bcd"] == [500, 500, 200]
    assert emu.response_statuses("r1") == [429, 500, 500, 200]
    assert [b["text"] for b in emu.responses("r1")] == ["d"]  # failed POSTs are not kept


async def test_response_url_refuses_invalid_blocks(emu: SlackEmulator) -> None:
    hook = AsyncWebhookClient(emu.response_url("r1"))
    too_many = [{"type": "divider"}] * 51
    assert (await hook.send(text="x", blocks=too_many)).status_code == 400
    assert (await hook.send(text="x", blocks=[{"type": "divider"}])).status_code == 200
    assert len(emu.responses("r1")) == 1


async def test_apps_connections_open_needs_the_app_token(emu: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=emu.api_url)
    resp = await client.apps_connections_open(app_token=emu.app_token)
    assert resp["url"].startswith(f"ws://127.0.0.1:{emu.url.rsplit(':', 1)[1]}/socket")
    with pytest.raises(SlackApiError) as exc:
        await client.apps_connections_open(app_token=emu.token)
    assert exc.value.response["error"] == "not_allowed_token_type"


# ---------------------------------------------------------------------- Socket Mode


@pytest.fixture
async def socket_client(emu: SlackEmulator) -> AsyncIterator[SocketModeClient]:
    # Built inside the loop, closed always, connect bounded (FACTS.md point 11).
    client = SocketModeClient(
        app_token=emu.app_token, web_client=AsyncWebClient(base_url=emu.api_url)
    )
    try:
        yield client
    finally:
        await client.close()


async def test_socket_mode_round_trip(emu: SlackEmulator, socket_client: SocketModeClient) -> None:
    frames: list[dict[str, Any]] = []
    requests: list[SocketModeRequest] = []

    async def on_frame(_c: Any, message: dict[str, Any], _raw: str | None) -> None:
        frames.append(message)

    async def on_request(c: Any, req: SocketModeRequest) -> None:
        requests.append(req)
        await c.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload={"text": "pong"})
        )

    socket_client.message_listeners.append(on_frame)
    socket_client.socket_mode_request_listeners.append(on_request)
    await asyncio.wait_for(socket_client.connect(), 5)
    # The client's connect() returns before the emulator's thread has registered the socket.
    await emu.wait_socket_connected()

    payload = slash_command_payload(response_url=emu.response_url(), text="ping")
    ack = await emu.socket_send(envelope_type="slash_commands", payload=payload)

    [req] = requests
    assert (req.type, req.payload["text"]) == ("slash_commands", "ping")
    assert ack == {"envelope_id": req.envelope_id, "payload": {"text": "pong"}}
    assert frames[0]["type"] == "hello"
    assert [c.token for c in emu.calls_to("apps.connections.open")] == [emu.app_token]


async def test_socket_send_times_out_without_ack(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    await asyncio.wait_for(socket_client.connect(), 5)
    with pytest.raises(TimeoutError):
        await emu.socket_send("events_api", {"event": {"type": "app_mention"}}, timeout=0.05)


async def test_disconnect_frame_makes_the_client_reconnect(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    async def on_request(c: Any, req: SocketModeRequest) -> None:
        await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    socket_client.socket_mode_request_listeners.append(on_request)
    await asyncio.wait_for(socket_client.connect(), 5)

    emu.socket_disconnect(reason="refresh_requested")
    assert not emu.socket_connected
    await emu.wait_socket_connected()
    assert emu.socket_connection_count == 2
    assert len(emu.calls_to("apps.connections.open")) == 2
    ack = await emu.socket_send("interactive", {"type": "block_actions"})
    assert set(ack) == {"envelope_id"}


# ---------------------------------------------------------------------- signing helpers


def test_sign_matches_slack_sdk_verifier() -> None:
    body = slash_command_body(response_url="http://x/r", text="pr 42")
    ts = int(time.time())
    headers = sign(SECRET, body, ts)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, str(ts), headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid(body, str(ts), headers["X-Slack-Signature"])


# ---------------------------------------------------------------------- Bolt, end to end


def _bolt_app(emu: SlackEmulator, token: str | None = None) -> AsyncApp:
    # The one seam (FACTS.md point 13): Bolt copies base_url into every listener's client.
    return AsyncApp(
        client=AsyncWebClient(token=token or emu.token, base_url=emu.api_url),
        signing_secret=SECRET,
    )


async def _serve(app: AsyncApp) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/slack/events"


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


async def test_bolt_http_slash_command_acks_and_responds(emu: SlackEmulator) -> None:
    app = _bolt_app(emu)
    seen: list[dict[str, Any]] = []

    @app.command("/where")
    async def where(ack: Any, respond: Any, command: dict[str, Any], client: Any) -> None:
        await ack()
        seen.append(command)
        await respond(text=f"looking up {command['text']}…")
        await client.chat_postMessage(channel=command["channel_id"], text="status")

    runner, url = await _serve(app)
    try:
        body = slash_command_body(
            text="pr 42", channel_id=CHANNEL, response_url=emu.response_url("r1")
        )
        status, text = await _post(url, body, signed_headers(SECRET, body))
        assert (status, text) == (200, "")

        [response] = await emu.wait_responses("r1")
        assert response["text"] == "looking up pr 42…"
        [post] = await emu.wait_calls("chat.postMessage")
        assert post.args["team_id"] == "T0001"  # FACTS.md point 9
        assert seen[0]["user_id"] == "U0USER"
        assert emu.calls[0].method == "auth.test"  # FACTS.md point 4: first request

        bad = signed_headers("wrong-secret", body)
        assert (await _post(url, body, bad))[0] == 401
        stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 301)
        assert (await _post(url, body, stale))[0] == 401
        assert len(seen) == 1
    finally:
        await runner.cleanup()


async def test_bolt_http_block_action_replaces_original(emu: SlackEmulator) -> None:
    app = _bolt_app(emu)

    @app.action("rerun")
    async def rerun(ack: Any, respond: Any, action: dict[str, Any]) -> None:
        await ack()
        await respond(replace_original=True, text=f"rerunning {action['value']}")

    runner, url = await _serve(app)
    try:
        body = block_actions_body(
            "rerun", "pr-42", CHANNEL, "U0USER", emu.response_url("a1"), "1764147600.000100"
        )
        assert (await _post(url, body, signed_headers(SECRET, body)))[0] == 200
        [response] = await emu.wait_responses("a1")
        assert response == {"replace_original": True, "text": "rerunning pr-42"}
    finally:
        await runner.cleanup()


async def test_bolt_with_a_refused_token_answers_200_and_skips_the_listener(
    emu: SlackEmulator,
) -> None:
    app = _bolt_app(emu, token="xoxb-revoked")
    ran: list[bool] = []

    @app.command("/where")
    async def where(ack: Any) -> None:
        ran.append(True)
        await ack()

    runner, url = await _serve(app)
    try:
        body = slash_command_body(response_url=emu.response_url())
        status, text = await _post(url, body, signed_headers(SECRET, body))
        assert status == 200  # FACTS.md point 4: not an error status
        assert "reinstall" in text.lower()
        assert ran == []
        assert emu.calls_to("auth.test")[0].response["error"] == "invalid_auth"
    finally:
        await runner.cleanup()


async def test_bolt_socket_mode_slash_command(emu: SlackEmulator) -> None:
    app = _bolt_app(emu)

    @app.command("/where")
    async def where(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack(text="on it")
        await respond(text=f"found {command['text']}")

    handler = AsyncSocketModeHandler(app, app_token=emu.app_token)
    try:
        await asyncio.wait_for(handler.connect_async(), 5)
        payload = slash_command_payload(response_url=emu.response_url("s1"), text="pr 7")
        ack = await emu.socket_send("slash_commands", payload)
        assert ack["payload"] == {"text": "on it"}
        [response] = await emu.wait_responses("s1")
        assert response["text"] == "found pr 7"
    finally:
        await handler.close_async()
