"""The ``incidents`` table: drift incidents across restarts (see ``bot.drift.incidents``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.drift.findings import Finding, finding_dict, finding_from_dict
from bot.drift.incidents import Incident, IncidentState, fingerprint
from bot.store import Store, db_time, from_db_time


class Incidents:
    """The ``incidents`` table. Each call is one statement on the event loop's thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.table = store.db.table("incidents")

    def current(self) -> list[Incident]:
        """Every incident not resolved, and the latest resolved one of each key."""
        with self.store.guard():
            rows = list(
                self.table.rows_where(
                    "state != 'resolved' or id in (select max(id) from incidents group by key)",
                    order_by="id",
                )
            )
        return [_incident(r) for r in rows]

    def open_ones(self) -> list[Incident]:
        return [i for i in self.current() if i.state in (IncidentState.OPEN, IncidentState.OPENING)]

    def in_window(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents that opened or were resolved in [start, end)."""
        a, b = db_time(start), db_time(end)
        with self.store.guard():
            rows = list(
                self.table.rows_where(
                    "(opened_at >= ? and opened_at < ?) or (resolved_at >= ? and resolved_at < ?)",
                    [a, b, a, b],
                    order_by="id",
                )
            )
        return [_incident(r) for r in rows]

    def get(self, incident_id: int) -> Incident:
        with self.store.guard():
            row = self.table.get(incident_id)
        return _incident(row)

    def track(self, key: str, findings: tuple[Finding, ...], since: datetime) -> Incident:
        """A new pending episode."""
        service, environment = key.split("/", 1)
        with self.store.guard():
            self.table.insert(
                {
                    "key": key,
                    "service": service,
                    "environment": environment,
                    "state": IncidentState.PENDING.value,
                    "first_seen": db_time(since),
                    "findings": _dump(findings),
                    "fingerprint": fingerprint(findings),
                }
            )
            new_id = self.table.last_pk
        return self.get(int(str(new_id)))

    def revive(self, inc: Incident, findings: tuple[Finding, ...], since: datetime) -> Incident:
        """A resolved incident drifting again within the cooldown: a new episode (its own row,
        so each keeps its own times) in the same thread."""
        new = self.track(inc.key, findings, since)
        self._set(new, channel=inc.channel, ts=inc.ts)
        return self.get(new.id)

    def keep(self, inc: Incident, findings: tuple[Finding, ...]) -> None:
        self._set(inc, findings=_dump(findings))

    def opening(self, inc: Incident, channel: str | None, now: datetime) -> Incident:
        self._set(inc, state=IncidentState.OPENING.value, channel=channel, intent_at=db_time(now))
        return self.get(inc.id)

    def opened(
        self, inc: Incident, findings: tuple[Finding, ...], ts: str | None, now: datetime
    ) -> None:
        self._set(
            inc,
            state=IncidentState.OPEN.value,
            ts=ts or inc.ts,
            opened_at=db_time(now),
            findings=_dump(findings),
            fingerprint=fingerprint(findings),
        )

    def told(self, inc: Incident, findings: tuple[Finding, ...]) -> None:
        self._set(inc, findings=_dump(findings), fingerprint=fingerprint(findings))

    def forget(self, inc: Incident) -> None:
        """An episode that never opened (shorter than the grace): as if it never happened."""
        with self.store.guard():
            self.table.delete(inc.id)

    def resolved(self, inc: Incident, now: datetime) -> None:
        self._set(inc, state=IncidentState.RESOLVED.value, resolved_at=db_time(now))

    def _set(self, inc: Incident, **values: Any) -> None:
        with self.store.guard():
            self.table.update(inc.id, values)


def _dump(findings: Iterable[Finding]) -> str:
    return json.dumps([finding_dict(f) for f in findings], separators=(",", ":"))


def _load(text: str) -> tuple[Finding, ...]:
    return tuple(finding_from_dict(d) for d in json.loads(text or "[]"))


def _incident(row: Mapping[str, Any]) -> Incident:
    first_seen = _when(row["first_seen"])
    assert first_seen is not None
    return Incident(
        id=int(row["id"]),
        key=str(row["key"]),
        service=str(row["service"]),
        environment=str(row["environment"]),
        state=IncidentState(str(row["state"])),
        first_seen=first_seen,
        findings=_load(str(row["findings"] or "")),
        fingerprint=str(row["fingerprint"] or ""),
        channel=str(row["channel"]) if row.get("channel") else None,
        ts=str(row["ts"]) if row.get("ts") else None,
        opened_at=_when(row.get("opened_at")),
        resolved_at=_when(row.get("resolved_at")),
        intent_at=_when(row.get("intent_at")),
    )


def _when(value: object) -> datetime | None:
    return from_db_time(value) if value else None
