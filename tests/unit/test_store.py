"""The store: migrations, both caches, first-seen times, and unusable files."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import StoreBusy, StoreError
from bot.store import Store, migrations


def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path).close()
    store = Store.open(path)
    applied = [m.name for m in migrations.applied(store.db)]
    assert applied == sorted(applied) and len(applied) == len(migrations._migrations)
    assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_a_commit_waits_for_no_disk_flush(tmp_path: Path) -> None:
    # In WAL mode, synchronous=NORMAL keeps the database consistent and commits without an
    # fsync; a cache write then costs microseconds on the loop instead of milliseconds.
    store = Store.open(tmp_path / "s.db")
    assert store.db.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL


def test_response_cache_round_trip_and_facts() -> None:
    store = Store.memory()
    assert store.cached_response("u") is None
    store.store_response("u", '"abc"', None, {"body": [1], "next": None})
    cached = store.cached_response("u")
    assert (
        cached is not None and cached.etag == '"abc"' and cached.body == {"body": [1], "next": None}
    )
    store.store_response("v", None, None, {"x": 1})  # nothing to revalidate with: not kept
    assert store.cached_response("v") is None
    store.remember("commit:acme/shop:abc", {"sha": "abc"})
    assert store.fact("commit:acme/shop:abc") == {"sha": "abc"}


def test_first_seen_keeps_the_first_time() -> None:
    store = Store.memory()
    t0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
    assert store.first_seen("acme/shop", "s", "prod", "sync", "succeeded", t0) == t0
    later = t0 + timedelta(minutes=5)
    assert store.first_seen("ACME/shop", "s", "prod", "sync", "succeeded", later) == t0
    assert store.first_seen("acme/shop", "s", "prod", "sync", "running", later) == later


def test_a_locked_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("begin exclusive")
    try:
        with pytest.raises(StoreError, match=f"{path} is locked by another process"):
            Store.open(path, busy_timeout=0.05)
    finally:
        holder.close()


def test_a_held_lock_is_answered_at_once_as_busy(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    store.remember("k", 1)
    store.wait_for_locks(0)
    holder = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    holder.execute("begin immediate")
    try:
        assert store.fact("k") == 1  # WAL: reading goes on while another process writes
        with pytest.raises(StoreBusy, match=r"s\.db is busy: another process holds its lock"):
            store.remember("k", 2)
    finally:
        holder.close()
    store.remember("k", 2)
    assert store.fact("k") == 2


def test_a_corrupt_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="is not a shiptrace database"):
        Store.open(path)
