"""An OTLP receiver for the scenarios, the OTEL_* environment pointed at it, and ways to read
what arrived."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.sandbox.otlp import OTLPReceiver, Span

OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
)


@pytest.fixture
def otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTEL_* from the machine running the tests; a dead collector costs half a second."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.5")


@pytest.fixture
def receiver(otel_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as emu:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", emu.url)
        yield emu
        assert emu.rejected == []


def trace_id(repo: str, sha: str) -> str:
    """The documented formula (README "See it in Jaeger / Tempo"), computed independently."""
    return hashlib.sha256(f"shiptrace/v1 {repo.lower()} {sha}".encode()).digest()[:16].hex()


def span_id(repo: str, sha: str, path: str) -> str:
    return hashlib.sha256(f"shiptrace/v1 {repo.lower()} {sha} {path}".encode()).digest()[:8].hex()


def tree(spans: list[Span], absent: dict[str, str] | None = None) -> dict[str, str | None]:
    """Each span's name (with its environment, for the stages of one) -> its parent's, by the
    ids that arrived; ``absent`` names the ids of parents not sent yet (id -> name)."""
    names = {**(absent or {}), **{s.span_id: label(s) for s in spans}}
    return {
        label(s): names.get(s.parent_span_id or "", "?") if s.parent_span_id else None
        for s in spans
    }


def label(span: Span) -> str:
    env = span.attributes.get("deployment.environment.name")
    if span.attributes.get("shiptrace.stage.id") and env:
        return f"{span.name} {env}"
    return span.name


def ns(text: str) -> int:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000_000


def once_each(spans: list[Span]) -> bool:
    ids = [(s.span_id, s.status) for s in spans]
    return len(ids) == len(set(ids))
