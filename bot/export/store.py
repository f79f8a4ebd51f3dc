"""The ``exported_spans`` table: which spans serve's export sent, across restarts.

A span is known by its key (:func:`bot.export.spans.span_key`: trace id, span id, outcome);
only keys the collector accepted are recorded, so what it did not take is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.store import Store, db_time


class ExportedSpans:
    """The ``exported_spans`` table. Each call is one statement on the event loop's thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.table = store.db.table("exported_spans")

    def keys(self, trace_id: str) -> set[str]:
        """The keys exported of one trace (its id in hex)."""
        with self.store.guard():
            rows = self.store.db.execute(
                "select key from exported_spans where trace_id = ?", [trace_id]
            ).fetchall()
        return {str(row[0]) for row in rows}

    def record(self, keys: Iterable[str], now: datetime) -> None:
        rows = [
            {"key": key, "trace_id": key.split("/", 1)[0], "exported_at": db_time(now)}
            for key in keys
        ]
        if not rows:
            return
        with self.store.guard():
            self.table.insert_all(rows, pk="key", ignore=True)
