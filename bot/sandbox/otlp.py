"""An OTLP/HTTP trace receiver: what a collector would get, decoded with opentelemetry-proto.

Point the real exporter at it:

    emu = OTLPReceiver().start()
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = emu.url   # POSTs go to emu.url + "/v1/traces"

``POST /v1/traces`` takes an ``ExportTraceServiceRequest`` as protobuf
(``application/x-protobuf``; gzip / deflate bodies are inflated by aiohttp) or as OTLP/JSON (``application/json``:
ids in hex, as OTLP/JSON specifies). Every span that arrives is kept as a :class:`Span`; a
body that does not decode gets 400 and is kept in ``rejected``. A test can make the next
requests fail (``fail``) or hang until the receiver stops (``stall``).

It serves from its own thread (see ``threaded.py``): handlers run there, tests read from theirs,
so all state sits behind one lock.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from google.protobuf.json_format import ParseDict
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as ProtoStatus

from bot.sandbox.threaded import ThreadedServer

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class Link:
    trace_id: str  # hex
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Span:
    """One received span, in plain values (ids in hex, times in ns since the epoch)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str  # "SPAN_KIND_INTERNAL", ...
    start_ns: int
    end_ns: int
    status: str  # "STATUS_CODE_OK" | "STATUS_CODE_ERROR" | "STATUS_CODE_UNSET"
    status_message: str
    attributes: dict[str, Any]
    links: tuple[Link, ...]
    resource: dict[str, Any]
    scope: str
    scope_version: str


@dataclass(frozen=True)
class Request:
    content_type: str
    headers: dict[str, str]  # lower-case names
    span_count: int
    status: int


@dataclass
class _Plan:
    failures: list[tuple[int, str | None]] = field(default_factory=list)  # status, Retry-After
    stall: bool = False


class OTLPReceiver:
    def __init__(self) -> None:
        self._server = ThreadedServer(self._make_app)
        self._lock = threading.Lock()
        self._spans: list[Span] = []
        self._requests: list[Request] = []
        self._rejected: list[str] = []
        self._plan = _Plan()
        self._release: asyncio.Event | None = None  # only touched on the receiver's loop

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> OTLPReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        if self._release is not None:
            self._server.call(self._set_release())
        self._server.stop()

    async def _set_release(self) -> None:
        assert self._release is not None
        self._release.set()

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def traces_url(self) -> str:
        return self.url + "/v1/traces"

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self._handle_traces)
        app.on_startup.append(self._on_startup)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        self._release = asyncio.Event()

    # ------------------------------------------------------------------ test controls

    @property
    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def rejected(self) -> list[str]:
        with self._lock:
            return list(self._rejected)

    def span(self, name: str) -> Span:
        found = [s for s in self.spans if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {[s.name for s in self.spans]}"
        return found[0]

    def fail(self, status: int = 503, times: int = 1, retry_after: str | None = None) -> None:
        """The next ``times`` requests get ``status`` (with ``Retry-After`` when given)."""
        with self._lock:
            self._plan.failures.extend([(status, retry_after)] * times)

    def stall(self) -> None:
        """Requests from now on get no answer until the receiver stops (a hung collector)."""
        with self._lock:
            self._plan.stall = True

    # ------------------------------------------------------------------ handler

    async def _handle_traces(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            stall = self._plan.stall
            failure = self._plan.failures.pop(0) if self._plan.failures else None
        if stall:
            assert self._release is not None
            await self._release.wait()
            return web.Response(status=503)
        content_type = request.content_type
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.read()
        if failure is not None:
            status, retry_after = failure
            with self._lock:
                self._requests.append(Request(content_type, headers, 0, status))
            extra = {"Retry-After": retry_after} if retry_after is not None else {}
            return web.Response(status=status, headers=extra)
        try:
            message = _decode(body, content_type)
        except (DecodeError, ValueError, KeyError, TypeError) as exc:
            with self._lock:
                self._rejected.append(f"{type(exc).__name__}: {exc}")
                self._requests.append(Request(content_type, headers, 0, 400))
            return web.Response(status=400, text=str(exc))
        spans = list(_spans(message))
        with self._lock:
            self._spans.extend(spans)
            self._requests.append(Request(content_type, headers, len(spans), 200))
        if content_type == "application/json":
            return web.json_response({})
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type=PROTOBUF)


def _decode(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """``body`` as aiohttp hands it over: already inflated from gzip / deflate."""
    if content_type == PROTOBUF:
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        return message
    if content_type == "application/json":
        return ParseDict(_ids_to_base64(json.loads(body)), ExportTraceServiceRequest())
    raise ValueError(f"unsupported Content-Type {content_type!r}")


def _ids_to_base64(data: dict[str, Any]) -> dict[str, Any]:
    """OTLP/JSON writes ids in hex; protobuf's JSON mapping wants bytes in base64."""

    def convert(obj: dict[str, Any], keys: tuple[str, ...]) -> None:
        for key in keys:
            if key in obj:
                obj[key] = base64.b64encode(bytes.fromhex(obj[key])).decode()

    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                convert(span, ("traceId", "spanId", "parentSpanId"))
                for link in span.get("links", []):
                    convert(link, ("traceId", "spanId"))
    return data


def _spans(message: ExportTraceServiceRequest) -> list[Span]:
    out = []
    for rs in message.resource_spans:
        resource = _attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=ProtoSpan.SpanKind.Name(span.kind),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status=ProtoStatus.StatusCode.Name(span.status.code),
                        status_message=span.status.message,
                        attributes=_attributes(span.attributes),
                        links=tuple(
                            Link(
                                link.trace_id.hex(),
                                link.span_id.hex(),
                                _attributes(link.attributes),
                            )
                            for link in span.links
                        ),
                        resource=resource,
                        scope=ss.scope.name,
                        scope_version=ss.scope.version,
                    )
                )
    return out


def _attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs if isinstance(kv, KeyValue)}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, which) if which else None
