"""What serve exported, kept across restarts; when a stage was first seen, read only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.export.store import ExportedSpans
from bot.store import Store

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
TRACE = "635b0e8b5a2123ee248cd8d6430412c5"
OTHER = "0123456789abcdef0123456789abcdef"


def test_exported_keys_are_kept_per_trace_and_survive_a_restart(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    spans = ExportedSpans(store)
    assert spans.keys(TRACE) == set()
    spans.record([f"{TRACE}/7d1d083ddf22a5ae/ok", f"{TRACE}/00000000000000aa/error"], T0)
    spans.record([f"{OTHER}/00000000000000bb/ok"], T0)
    spans.record([f"{TRACE}/7d1d083ddf22a5ae/ok"], T0 + timedelta(hours=1))  # again: kept once
    store.close()

    again = ExportedSpans(Store.open(tmp_path / "s.db"))
    assert again.keys(TRACE) == {f"{TRACE}/7d1d083ddf22a5ae/ok", f"{TRACE}/00000000000000aa/error"}
    assert again.keys(OTHER) == {f"{OTHER}/00000000000000bb/ok"}


def test_seen_at_reads_the_first_seen_time_without_recording_one() -> None:
    store = Store.memory()
    assert store.seen_at("acme/shop", "s", "prod", "sync", "succeeded") is None
    store.first_seen("acme/shop", "s", "prod", "sync", "succeeded", T0)
    assert store.seen_at("Acme/Shop", "s", "prod", "sync", "succeeded") == T0
    assert store.seen_at("acme/shop", "s", "prod", "sync", "running") is None
    later = T0 + timedelta(minutes=5)
    assert store.first_seen("acme/shop", "s", "prod", "sync", "running", later) == later
