"""A fake Slack: Web API, Socket Mode websocket and response_url sink, over real HTTP.

Point the real clients at it:

    emu = SlackEmulator().start()
    client = AsyncWebClient(token=emu.token, base_url=emu.api_url)

It serves from its own thread (see ``threaded.py``). Handlers run there, test code reads
state from the test thread, so all state sits behind one lock and is copied on the way out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web
from aiohttp.web_request import FileField

from bot.sandbox.threaded import ThreadedServer

TEAM_ID = "T0001"
TEAM_NAME = "Shiptrace Test"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0001"
APP_ID = "A0001"
# Fixed epoch (2025-11-26T09:00:00Z) so message timestamps are the same on every run.
TS_EPOCH = 1764147600
MAX_BLOCKS = 50
# What the bot token is granted by default: the scopes of deploy/slack-app-manifest.yaml. Slack
# names a token's scopes in the ``x-oauth-scopes`` header of every call it accepts.
BOT_SCOPES = ("commands", "chat:write", "channels:history", "groups:history", "files:write")
APP_SCOPES = ("connections:write",)

# Form-encoded requests carry these as JSON strings; JSON requests may do the same.
_JSON_FIELDS = ("blocks", "attachments", "metadata", "files")


@dataclass(frozen=True)
class Call:
    """One Web API request as the emulator saw it (``token`` is not repeated in ``args``)."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int  # as declared to files.getUploadURLExternal
    content: bytes | None = None  # None until the upload POST arrives
    title: str | None = None
    channel: str | None = None  # set once files.completeUploadExternal shares it
    thread_ts: str | None = None
    initial_comment: str | None = None


class SlackApiFailure(Exception):
    """Raised inside a method handler; becomes a 200 ``{"ok": false, ...}`` like Slack's."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class _Sink:
    status: int
    max_uses: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    faults: list[tuple[int, int | None]] = field(default_factory=list)  # (status, Retry-After)
    statuses: list[int] = field(default_factory=list)  # every POST's answer, in order


@dataclass
class _SocketConn:
    ws: web.WebSocketResponse
    draining: bool = False  # sent a disconnect frame: no new envelopes go here


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackEmulator:
    def __init__(
        self,
        token: str = "xoxb-test",
        app_token: str = "xapp-test",
        scopes: Iterable[str] = BOT_SCOPES,
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.scopes = list(scopes)  # the bot token's; a test may take some away
        self._server = ThreadedServer(self._make_app)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._channels: dict[str, list[dict[str, Any]]] = {}  # oldest first
        self._ephemerals: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, UploadedFile] = {}
        self._sinks: dict[str, _Sink] = {}
        self._rate_limits: dict[str, list[int]] = {}
        self._failures: dict[str, list[str]] = {}
        self._ts_seq = 0
        self._file_seq = 0
        self._tickets: set[str] = set()
        self._sockets: list[_SocketConn] = []
        self._socket_connection_count = 0
        # Only touched on the emulator loop.
        self._pending_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._methods: dict[str, tuple[str, Handler]] = {
            "auth.test": ("bot", self._auth_test),
            "chat.postMessage": ("bot", self._chat_post_message),
            "chat.update": ("bot", self._chat_update),
            "chat.postEphemeral": ("bot", self._chat_post_ephemeral),
            "chat.delete": ("bot", self._chat_delete),
            "conversations.history": ("bot", self._conversations_history),
            "conversations.replies": ("bot", self._conversations_replies),
            "files.getUploadURLExternal": ("bot", self._files_get_upload_url),
            "files.completeUploadExternal": ("bot", self._files_complete_upload),
            "apps.connections.open": ("app", self._apps_connections_open),
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response/{name}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()

    async def _on_shutdown(self, _app: web.Application) -> None:
        # Open websockets would otherwise hold up the runner's cleanup.
        for conn in list(self._sockets):
            await conn.ws.close(code=1001, message=b"server shutdown")

    # ------------------------------------------------------------------ test controls

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages now in ``channel``, thread replies included, oldest first.

        Every dict has ``ts, text, blocks, thread_ts, metadata, user`` (``None``/``[]`` when
        unset), plus whatever else Slack would store (``bot_id``, ``reply_count``, ``files``...).
        """
        with self._lock:
            stored = copy.deepcopy(self._channels.get(channel, []))
        return [{"blocks": [], "thread_ts": None, "metadata": None, **m} for m in stored]

    def ephemerals(self, channel: str) -> list[dict[str, Any]]:
        """Ephemeral messages sent with chat.postEphemeral (``user`` is the recipient)."""
        with self._lock:
            return copy.deepcopy(self._ephemerals.get(channel, []))

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U0USER",
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """Seed a message written by a human (the bot cannot update or delete it); returns ts."""
        with self._lock:
            msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "team": TEAM_ID}
            if blocks is not None:
                msg["blocks"] = blocks
            return str(self._store(channel, msg, thread_ts=thread_ts, broadcast=False)["ts"])

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls to ``method`` get HTTP 429 with ``Retry-After``."""
        with self._lock:
            self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def fail(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        """The next ``times`` calls to ``method`` get 200 ``{"ok": false, "error": error}``."""
        with self._lock:
            self._failures.setdefault(method, []).extend([error] * times)

    def response_url(self, name: str = "r1", *, status: int = 200, max_uses: int = 5) -> str:
        """A response_url that records what is POSTed to it.

        Slack accepts at most 5 uses; later POSTs get 404 and are not recorded. ``status``
        lets a test make the URL answer with an error instead.
        """
        with self._lock:
            self._sinks.setdefault(name, _Sink(status=status, max_uses=max_uses))
        return f"{self.url}/response/{name}"

    def fail_responses(
        self, name: str = "r1", *, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``times`` POSTs to response_url ``name`` get ``status`` and are not kept
        (a 429 says ``Retry-After: retry_after`` seconds, as Slack's does)."""
        self.response_url(name)
        with self._lock:
            self._sinks[name].faults.extend([(status, retry_after)] * times)

    def response_statuses(self, name: str = "r1") -> list[int]:
        """What each POST to response_url ``name`` was answered, in order."""
        with self._lock:
            sink = self._sinks.get(name)
            return list(sink.statuses) if sink else []

    def responses(self, name: str = "r1") -> list[dict[str, Any]]:
        with self._lock:
            sink = self._sinks.get(name)
            return copy.deepcopy(sink.bodies) if sink else []

    @property
    def files(self) -> list[UploadedFile]:
        with self._lock:
            return copy.deepcopy(list(self._files.values()))

    async def wait_responses(
        self,
        name: str = "r1",
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 (see _poll)
    ) -> list[dict[str, Any]]:
        """Bolt runs listeners after the ack, so respond() may land after the HTTP reply."""
        await _poll(lambda: len(self.responses(name)) >= count, timeout, f"{count} responses")
        return self.responses(name)

    async def wait_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 (see _poll)
    ) -> list[Call]:
        await _poll(lambda: len(self.calls_to(method)) >= count, timeout, f"{count} {method}")
        return self.calls_to(method)

    # ------------------------------------------------------------------ Socket Mode controls

    @property
    def socket_connected(self) -> bool:
        with self._lock:
            return self._current_socket() is not None

    @property
    def socket_connection_count(self) -> int:
        """Websocket connections accepted so far (reconnects included)."""
        with self._lock:
            return self._socket_connection_count

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await _poll(lambda: self.socket_connected, timeout, "a Socket Mode connection")

    async def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (see _poll)
    ) -> dict[str, Any]:
        """Push an envelope to the connected client; return its ack (``envelope_id``, ``payload``?).

        Callable from the test's loop: the send runs on the emulator's loop. Waits up to
        ``timeout`` for a connection and then for the ack; raises ``TimeoutError`` otherwise.
        """
        assert self._loop is not None, "emulator not started"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "type": envelope_type,
            "payload": payload,
            # Slack only takes a response payload for interactions and commands.
            "accepts_response_payload": (
                envelope_type != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if envelope_type == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        fut = asyncio.run_coroutine_threadsafe(self._socket_send(envelope, timeout), self._loop)
        return await asyncio.wrap_future(fut)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send a ``disconnect`` frame, as Slack does before recycling a connection.

        The connection stays open (the client closes it after reconnecting), but no more
        envelopes go to it, so ``socket_connected`` is False until the client reconnects.
        """
        self._server.call(self._socket_disconnect(reason))

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = _decode_json_fields(await _read_args(request))
        token = _bearer(request) or _str_or_none(args.pop("token", None))
        with self._lock:
            status, body, headers = self._dispatch(method, args, token)
            self._calls.append(Call(method, args, token, status, copy.deepcopy(body)))
        return web.json_response(body, status=status, headers=headers)

    def _dispatch(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Order as on Slack: method, then auth, then rate limit, then the method's own errors."""
        if method not in self._methods:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        kind, handler = self._methods[method]
        auth_error = self._auth_error(kind, token)
        if auth_error:
            return 200, {"ok": False, "error": auth_error}, {}
        scopes = {"x-oauth-scopes": ",".join(self.scopes if kind == "bot" else APP_SCOPES)}
        if self._rate_limits.get(method):
            retry_after = self._rate_limits[method].pop(0)
            limited = {"Retry-After": str(retry_after), **scopes}
            return 429, {"ok": False, "error": "ratelimited"}, limited
        if self._failures.get(method):
            return 200, {"ok": False, "error": self._failures[method].pop(0)}, scopes
        try:
            return 200, {"ok": True, **handler(args)}, scopes
        except SlackApiFailure as e:
            return 200, {"ok": False, "error": e.error, **e.extra}, scopes

    def _auth_error(self, kind: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        wanted, other = (
            (self.token, self.app_token) if kind == "bot" else (self.app_token, self.token)
        )
        if token == wanted:
            return None
        return "not_allowed_token_type" if token == other else "invalid_auth"

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, FileField)), None)
            data = part.file.read() if part is not None else b""
        else:
            data = await request.read()
        with self._lock:
            f = self._files.get(file_id)
            if f is None:
                return web.Response(status=404, text="file_not_found")
            f.content = data
        # Slack's upload host answers in plain text; slack_sdk only checks the status.
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw = await request.read()
        if request.content_type == "application/x-www-form-urlencoded":
            # Incoming-webhook style: the JSON sits in a ``payload`` form field.
            body = json.loads(parse_qs(raw.decode()).get("payload", ["{}"])[0])
        else:
            body = json.loads(raw or b"{}")
        with self._lock:
            sink = self._sinks.get(name)
            if sink is None:
                return web.Response(status=404, text="no_active_hooks")
            response = self._sink_answer(sink, body)
            sink.statuses.append(response.status)
            return response

    def _sink_answer(self, sink: _Sink, body: dict[str, Any]) -> web.Response:
        if len(sink.bodies) >= sink.max_uses:
            return web.Response(status=404, text="used_url")
        if sink.faults:
            status, retry_after = sink.faults.pop(0)
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return web.Response(status=status, text="error", headers=headers)
        if sink.status != 200:
            return web.Response(status=sink.status, text="error")
        # Slack refuses a response whose blocks break Block Kit's rules, and shows nothing.
        if body.get("blocks") and block_errors(body["blocks"]):
            return web.Response(status=400, text="invalid_blocks")
        sink.bodies.append(body)
        return web.json_response({"ok": True})

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            if request.query.get("ticket") not in self._tickets:
                return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse()  # autoping answers slack_sdk's keep-alive pings
        await ws.prepare(request)
        conn = _SocketConn(ws)
        with self._lock:
            self._sockets.append(conn)
            self._socket_connection_count += 1
            live = sum(1 for c in self._sockets if not c.draining)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": live,
                "debug_info": {"host": "applink-emulator", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                fut = self._pending_acks.get(str(data.get("envelope_id")))
                if fut is not None and not fut.done():
                    fut.set_result(data)
        finally:
            with self._lock:
                self._sockets.remove(conn)
        return ws

    def _current_socket(self) -> _SocketConn | None:
        live = [c for c in self._sockets if not c.draining and not c.ws.closed]
        return live[-1] if live else None

    async def _socket_send(self, envelope: dict[str, Any], seconds: float) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            while True:
                with self._lock:
                    conn = self._current_socket()
                if conn is not None:
                    break
                await asyncio.sleep(0.01)
            eid = envelope["envelope_id"]
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending_acks[eid] = fut
            try:
                await conn.ws.send_json(envelope)
                return await fut
            finally:
                self._pending_acks.pop(eid, None)

    async def _socket_disconnect(self, reason: str) -> None:
        with self._lock:
            conn = self._current_socket()
            if conn is None:
                return
            conn.draining = True
        await conn.ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}
        )

    # ------------------------------------------------------------------ Web API methods
    # Called with the lock held; they must not await.

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://shiptrace-test.slack.com/",
            "team": TEAM_NAME,
            "user": "shiptrace",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        content = _message_content(args)
        msg = {"type": "message", **_bot_author(), **content}
        stored = self._store(
            channel,
            msg,
            thread_ts=_str_or_none(args.get("thread_ts")),
            broadcast=_flag(args.get("reply_broadcast")),
        )
        return {"channel": channel, "ts": stored["ts"], "message": copy.deepcopy(stored)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        msg = self._find(channel, ts)
        if msg is None:
            raise SlackApiFailure("message_not_found")
        if msg.get("bot_id") != BOT_ID:
            raise SlackApiFailure("cant_update_message")
        content = _message_content(args)
        # Slack drops the old blocks when text comes without blocks (FACTS.md, chat.update).
        if "text" in content and "blocks" not in content:
            msg.pop("blocks", None)
        msg.update(content)
        msg["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": ts,
            "text": msg.get("text", ""),
            "message": copy.deepcopy(msg),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        user = _require(args, "user", "user_not_found")
        ts = self._next_ts()
        msg = {"type": "message", "ts": ts, **_bot_author(), **_message_content(args)}
        msg["user"] = user  # recipient; the author is the bot
        if args.get("thread_ts"):
            msg["thread_ts"] = str(args["thread_ts"])
        self._ephemerals.setdefault(channel, []).append(msg)
        return {"message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        msg = self._find(channel, ts)
        if msg is None:
            raise SlackApiFailure("message_not_found")
        if msg.get("bot_id") != BOT_ID:
            raise SlackApiFailure("cant_delete_message")
        self._channels[channel].remove(msg)
        return {"channel": channel, "ts": ts}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        top_level = [
            m
            for m in self._channels.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        selected = _in_range(top_level, args)[::-1]  # newest first
        return _page(
            selected, args, default_limit=100, metadata=_flag(args.get("include_all_metadata"))
        )

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "thread_not_found")
        root = self._find(channel, ts)
        if root is None:
            raise SlackApiFailure("thread_not_found")
        replies = [m for m in self._channels[channel] if m.get("thread_ts") == ts and m["ts"] != ts]
        selected = [root, *_in_range(replies, args)]
        return _page(
            selected, args, default_limit=1000, metadata=_flag(args.get("include_all_metadata"))
        )

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = _require(args, "filename", "invalid_arguments")
        try:
            length = int(args["length"])
        except (KeyError, TypeError, ValueError):
            raise SlackApiFailure("invalid_arguments") from None
        self._file_seq += 1
        file_id = f"F{self._file_seq:07d}"
        self._files[file_id] = UploadedFile(id=file_id, filename=filename, length=length)
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackApiFailure("invalid_arguments")
        files: list[UploadedFile] = []
        for entry in entries:
            f = self._files.get(str(entry.get("id")))
            if f is None or f.content is None:
                raise SlackApiFailure("file_not_found")
            f.title = entry.get("title") or f.filename
            files.append(f)
        channels = [str(args["channel_id"])] if args.get("channel_id") else []
        if args.get("channels"):
            channels += str(args["channels"]).split(",")
        thread_ts = _str_or_none(args.get("thread_ts"))
        comment = _str_or_none(args.get("initial_comment"))
        summaries = [
            {"id": f.id, "name": f.filename, "title": f.title, "size": len(f.content or b"")}
            for f in files
        ]
        for f in files:
            f.channel = channels[0] if channels else None
            f.thread_ts, f.initial_comment = thread_ts, comment
        # Sharing a file posts a message carrying it (Slack does so asynchronously).
        for channel in channels:
            msg = {
                "type": "message",
                **_bot_author(),
                "text": comment or "",
                "files": copy.deepcopy(summaries),
                "upload": True,
            }
            self._store(channel, msg, thread_ts=thread_ts, broadcast=False)
        return {"files": summaries}

    def _apps_connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        port = self.url.rsplit(":", 1)[1]
        return {"url": f"ws://127.0.0.1:{port}/socket?ticket={ticket}"}

    # ------------------------------------------------------------------ message store

    def _next_ts(self) -> str:
        self._ts_seq += 1
        micros = self._ts_seq * 100
        return f"{TS_EPOCH + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._channels.get(channel, []) if m["ts"] == ts), None)

    def _store(
        self, channel: str, msg: dict[str, Any], *, thread_ts: str | None, broadcast: bool
    ) -> dict[str, Any]:
        msg["ts"] = self._next_ts()
        if thread_ts:
            # Slack does not reject an unknown thread_ts here; keep it as given.
            msg["thread_ts"] = thread_ts
            root = self._find(channel, thread_ts)
            if root is not None:
                msg["parent_user_id"] = root.get("user")
                root["thread_ts"] = thread_ts
                root["reply_count"] = root.get("reply_count", 0) + 1
                users = root.setdefault("reply_users", [])
                if msg.get("user") not in users:
                    users.append(msg.get("user"))
                root["latest_reply"] = msg["ts"]
            if broadcast:
                msg["subtype"] = "thread_broadcast"
        self._channels.setdefault(channel, []).append(msg)
        return msg


# ---------------------------------------------------------------------- helpers


async def _poll(done: Callable[[], bool], seconds: float, what: str) -> None:
    # The public waiters take a default timeout rather than relying on the caller's
    # asyncio.timeout (ruff ASYNC109), so a broken test fails in seconds instead of hanging.
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.01)


async def _read_args(request: web.Request) -> dict[str, Any]:
    """slack_sdk puts arguments in the query string, a form body or a JSON body; Slack reads all."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            args.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    """Decode JSON-string fields so Call.args look the same whichever encoding was used.

    Undecodable values stay strings; the method handlers reject them.
    """
    decoded = dict(args)
    for key in _JSON_FIELDS:
        value = decoded.get(key)
        if isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                decoded[key] = json.loads(value)
    return decoded


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    return auth.removeprefix("Bearer ").strip() or None


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _require(args: dict[str, Any], key: str, error: str) -> str:
    value = _str_or_none(args.get(key))
    if value is None:
        raise SlackApiFailure(error)
    return value


def _bot_author() -> dict[str, Any]:
    return {"user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "team": TEAM_ID}


def _message_content(args: dict[str, Any]) -> dict[str, Any]:
    """The text/blocks/attachments/metadata of a post or update, validated as Slack does."""
    content: dict[str, Any] = {}
    if "text" in args and args["text"] is not None:
        content["text"] = str(args["text"])
    for key in ("blocks", "attachments"):
        if args.get(key) not in (None, ""):
            content[key] = args[key]
    if not (content.get("text") or content.get("blocks") or content.get("attachments")):
        raise SlackApiFailure("no_text")
    if isinstance(content.get("blocks"), str):
        raise SlackApiFailure("invalid_blocks_format")
    if "blocks" in content:
        errors = block_errors(content["blocks"])
        if errors:
            raise SlackApiFailure(
                "invalid_blocks",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
    metadata = args.get("metadata")
    if metadata not in (None, ""):
        if not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            raise SlackApiFailure("invalid_metadata_format")
        content["metadata"] = metadata
    return content


def block_errors(blocks: Any) -> list[str]:
    """The Block Kit limits from FACTS.md, reported in Slack's ``errors`` style."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{where}]")
            continue
        if len(str(block.get("block_id", ""))) > 255:
            errors.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide either text or fields [json-pointer:{where}]")
            errors += _text_errors(block.get("text"), 3000, f"{where}/text")
            fields = block.get("fields") or []
            if len(fields) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{where}/fields]")
            for j, f in enumerate(fields):
                errors += _text_errors(f, 2000, f"{where}/fields/{j}")
        elif kind == "header":
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                errors.append(f"must be a plain_text object [json-pointer:{where}/text]")
            errors += _text_errors(text, 150, f"{where}/text")
        elif kind == "context" and len(block.get("elements") or []) > 10:
            errors.append(f"no more than 10 items allowed [json-pointer:{where}/elements]")
        elif kind == "actions" and len(block.get("elements") or []) > 25:
            errors.append(f"no more than 25 items allowed [json-pointer:{where}/elements]")
    return errors


def _text_errors(text: Any, limit: int, where: str) -> list[str]:
    if isinstance(text, dict) and len(str(text.get("text", ""))) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _ts_key(ts: str) -> tuple[int, int]:
    # Compare ts as (seconds, micros): floats lose the last digit at this magnitude.
    whole, _, frac = ts.partition(".")
    return int(whole or 0), int((frac + "000000")[:6])


def _in_range(messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    inclusive = _flag(args.get("inclusive"))
    oldest = _ts_key(str(args["oldest"])) if args.get("oldest") else None
    latest = _ts_key(str(args["latest"])) if args.get("latest") else None

    def keep(m: dict[str, Any]) -> bool:
        k = _ts_key(m["ts"])
        if oldest is not None and (k < oldest or (k == oldest and not inclusive)):
            return False
        return latest is None or k < latest or (k == latest and inclusive)

    return [m for m in messages if keep(m)]


def _page(
    messages: list[dict[str, Any]], args: dict[str, Any], *, default_limit: int, metadata: bool
) -> dict[str, Any]:
    try:
        limit = max(1, min(int(args.get("limit") or default_limit), 1000))
    except ValueError:
        raise SlackApiFailure("invalid_limit") from None
    offset = 0
    if args.get("cursor"):
        try:
            offset = int(base64.urlsafe_b64decode(str(args["cursor"])).decode().split(":", 1)[1])
        except (ValueError, IndexError):
            raise SlackApiFailure("invalid_cursor") from None
    chunk = messages[offset : offset + limit]
    more = offset + limit < len(messages)
    cursor = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
    out = []
    for m in chunk:
        view = copy.deepcopy(m)
        if not metadata:
            view.pop("metadata", None)
        out.append(view)
    return {"messages": out, "has_more": more, "response_metadata": {"next_cursor": cursor}}
