"""Span records out through the official OpenTelemetry SDK: OTLP export and OTLP JSON.

Configuration is OpenTelemetry's own environment, read by the SDK and its exporters:
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_TIMEOUT`` (seconds, as the Python SDK reads
it), ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``http/protobuf``, the default, or ``grpc`` with
``shiptrace[grpc]`` installed), ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (the
service name defaults to ``shiptrace``), ``OTEL_SDK_DISABLED``.

The records become real SDK spans: a tracer provider whose id generator hands out the ids the
record already has (:mod:`bot.export.spans` derives them) and whose processor collects the
ended spans; the exporter then sends them as one batch. No protocol is written here.

An unreachable or refusing collector: the exporter retries within its timeout, then
:class:`SpanSink` logs one line (the exporter's own retry messages are folded into it), and
stays quiet until an export succeeds again. ``export_async`` runs in a worker thread, so an
export never holds up the event loop or an answer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    SERVICE_VERSION,
    OTELResourceDetector,
    Resource,
)
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from bot import __version__
from bot.errors import ConfigError
from bot.export.spans import SpanRecord, SpanStatus, span_key

log = logging.getLogger(__name__)

SCOPE = "shiptrace"
DEFAULT_SERVICE_NAME = "shiptrace"
_STATUS = {SpanStatus.OK: StatusCode.OK, SpanStatus.ERROR: StatusCode.ERROR}


# -- configuration ------------------------------------------------------------------------------


def export_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names a collector (and does not switch tracing off): what
    makes ``serve`` export by itself."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def protocol(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    chosen = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    return (chosen or "http/protobuf").strip().lower()


def exporter_from_env(*, timeout: float | None = None) -> SpanExporter:
    """The OTLP span exporter ``OTEL_EXPORTER_OTLP_PROTOCOL`` asks for, configured by the
    rest of the ``OTEL_EXPORTER_OTLP_*`` environment (``timeout`` in seconds overrides it)."""
    chosen = protocol()
    if chosen == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(timeout=timeout)
    if chosen == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            raise ConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the gRPC exporter: "
                "pip install 'shiptrace[grpc]' (or use http/protobuf)"
            ) from None
        exporter: SpanExporter = GrpcSpanExporter(timeout=timeout)
        return exporter
    raise ConfigError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={chosen!r} is not supported: use http/protobuf or grpc"
    )


def endpoint_from_env() -> str:
    """Where the exporter sends, as the SDK resolves it; for log lines (no credentials)."""
    grpc = protocol() == "grpc"
    url = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not url:
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if grpc:
            url = base or "http://localhost:4317"
        else:
            url = (base or "http://localhost:4318").removesuffix("/") + "/v1/traces"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def resource_from_env() -> Resource:
    """The resource of every exported span: ``service.name`` shiptrace unless
    ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` say otherwise."""
    defaults = {SERVICE_NAME: DEFAULT_SERVICE_NAME, SERVICE_VERSION: __version__}
    return Resource.create(defaults).merge(OTELResourceDetector().detect())


# -- records as SDK spans -----------------------------------------------------------------------


class _RecordIds(IdGenerator):
    """Hands out the ids of the record being started (the tracer asks for them)."""

    def __init__(self) -> None:
        self.trace_id = trace_api.INVALID_TRACE_ID
        self.span_id = trace_api.INVALID_SPAN_ID

    def generate_trace_id(self) -> int:
        return self.trace_id

    def generate_span_id(self) -> int:
        return self.span_id


class _Collect(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def to_sdk_spans(
    records: Sequence[SpanRecord], resource: Resource | None = None
) -> list[ReadableSpan]:
    """The records as ended SDK spans, with the records' own ids and times."""
    ids = _RecordIds()
    collect = _Collect()
    provider = TracerProvider(
        sampler=ALWAYS_ON,  # a delivery trace is whole or useless: no sampling
        resource=resource or resource_from_env(),
        shutdown_on_exit=False,
        id_generator=ids,
    )
    provider.add_span_processor(collect)
    tracer = provider.get_tracer(SCOPE, __version__)
    for record in records:
        ids.trace_id, ids.span_id = record.trace_id, record.span_id
        span = tracer.start_span(
            record.name,
            context=_parent_context(record),
            kind=SpanKind.INTERNAL,
            attributes=dict(record.attributes),
            links=[
                Link(_context(link.trace_id, link.span_id), dict(link.attributes))
                for link in record.links
            ],
            start_time=_ns(record.start),
        )
        if record.status in _STATUS:
            description = record.description if record.status is SpanStatus.ERROR else None
            span.set_status(Status(_STATUS[record.status], description))
        span.end(end_time=_ns(record.end))
    provider.shutdown()
    return collect.spans


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )


def _parent_context(record: SpanRecord) -> Context:
    if record.parent_id is None:
        return Context()  # a root, whatever span the caller may be in
    parent = NonRecordingSpan(_context(record.trace_id, record.parent_id))
    return trace_api.set_span_in_context(parent, Context())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1) * 1_000


# -- OTLP JSON ----------------------------------------------------------------------------------


def otlp_json(records: Sequence[SpanRecord], resource: Resource | None = None) -> dict[str, Any]:
    """An OTLP/JSON ``ExportTraceServiceRequest``: the SDK's protobuf encoding in protobuf's
    JSON mapping, with the two differences OTLP/JSON specifies (ids in hex, enums as numbers)."""
    message = encode_spans(to_sdk_spans(records, resource))
    body: dict[str, Any] = MessageToDict(message, use_integers_for_enums=True)
    for resource_spans in body.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _hex_ids(span, ("traceId", "spanId", "parentSpanId"))
                for link in span.get("links", []):
                    _hex_ids(link, ("traceId", "spanId"))
    return body


def _hex_ids(obj: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in obj:
            obj[key] = base64.b64decode(obj[key]).hex()


# -- export -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    ok: bool
    keys: tuple[str, ...] = ()  # span_key of every record the collector accepted
    error: str | None = None


class SpanSink:
    """One exporter for the life of the process: ``export`` sends a batch and says which
    span keys arrived; a failing collector is logged once until it accepts again."""

    def __init__(
        self,
        exporter: SpanExporter | None = None,
        *,
        resource: Resource | None = None,
        endpoint: str | None = None,
    ) -> None:
        self._exporter = exporter or exporter_from_env()
        self._resource = resource or resource_from_env()
        self._endpoint = endpoint or endpoint_from_env()
        self._lock = threading.Lock()
        self._failing = False
        _fold_exporter_logs()  # after the exporter is built: its modules' loggers exist now

    def export(self, records: Sequence[SpanRecord]) -> ExportResult:
        """Send ``records`` as one batch; blocks at most about the exporter's timeout."""
        if not records:
            return ExportResult(True)
        spans = to_sdk_spans(records, self._resource)
        if not spans:  # OTEL_SDK_DISABLED: nothing sent, so nothing counts as exported
            return ExportResult(True)
        with self._lock, _FOLD.catching() as caught:
            try:
                outcome = self._exporter.export(spans)
            except Exception as exc:  # an exporter bug must not take the caller down
                caught.append(f"{type(exc).__name__}: {exc}")
                outcome = SpanExportResult.FAILURE
        if outcome is SpanExportResult.SUCCESS:
            if self._failing:
                log.info("trace export to %s works again", self._endpoint)
            self._failing = False
            return ExportResult(True, tuple(span_key(r) for r in records))
        reason = caught[0] if caught else "the exporter gave no reason"
        if not self._failing:
            log.warning(
                "trace export to %s failed: %s (not logged again until an export succeeds)",
                self._endpoint,
                reason[:300],
            )
        self._failing = True
        return ExportResult(False, error=reason)

    async def export_async(self, records: Sequence[SpanRecord]) -> ExportResult:
        """``export`` in a worker thread: the loop goes on answering meanwhile."""
        return await asyncio.to_thread(self.export, records)

    def shutdown(self) -> None:
        with self._lock:
            self._exporter.shutdown()

    def __enter__(self) -> SpanSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def export_spans(
    records: Sequence[SpanRecord], exporter: SpanExporter | None = None
) -> ExportResult:
    """One export with an exporter from the environment (``shiptrace where --otlp``)."""
    with SpanSink(exporter) as sink:
        return sink.export(records)


class _Fold(logging.Filter):
    """While a thread exports, the exporter's own warnings are caught for its one log line."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        caught: list[str] | None = getattr(self._local, "caught", None)
        if caught is None or record.levelno < logging.WARNING:
            return True
        caught.append(record.getMessage())
        return False

    @contextlib.contextmanager
    def catching(self) -> Iterator[list[str]]:
        caught: list[str] = []
        self._local.caught = caught
        try:
            yield caught
        finally:
            self._local.caught = None


_FOLD = _Fold()


def _fold_exporter_logs() -> None:
    for name, logger in list(logging.root.manager.loggerDict.items()):
        exporter_logger = name.startswith("opentelemetry.exporter")
        if exporter_logger and isinstance(logger, logging.Logger) and _FOLD not in logger.filters:
            logger.addFilter(_FOLD)
