"""What the digest counts: deployments seen by the scan, changes seen live, digests posted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest.dora import ChangeRecord
from bot.digest.store import Deliveries
from bot.store import Store

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_the_first_look_is_a_baseline_and_each_new_version_a_deployment() -> None:
    d = Deliveries(Store.memory())
    assert d.record_versions({"shop/prod": "img:1"}, T0) == []
    assert d.record_versions({"shop/prod": "img:1"}, T0 + MIN) == []
    assert d.record_versions({"shop/prod": "img:2"}, T0 + 2 * MIN) == ["shop/prod"]
    assert d.record_versions({"shop/prod": "img:1"}, T0 + 3 * MIN) == ["shop/prod"]  # rollback
    assert [(x.version, x.at) for x in d.deployments(T0)] == [
        ("img:2", T0 + 2 * MIN),
        ("img:1", T0 + 3 * MIN),
    ]


def change(live: dict[str, datetime]) -> ChangeRecord:
    return ChangeRecord("shop", "acme/shop", "acme/shop#1", "t", T0, live, ("staging", "prod"))


def test_a_later_trace_never_moves_or_forgets_when_a_change_went_live() -> None:
    d = Deliveries(Store.memory())
    d.remember_change(change({"staging": T0 + 10 * MIN}), "a" * 40, None, T0)
    # Later: a newer release runs in staging (its rollout time), and prod went live.
    d.remember_change(change({"staging": T0 + 90 * MIN, "prod": T0 + 60 * MIN}), "a" * 40, None, T0)
    d.remember_change(change({}), "a" * 40, None, T0)  # traced while something newer rolls out
    [stored] = d.changes(T0 - MIN)
    assert stored.live_at == {"staging": T0 + 10 * MIN, "prod": T0 + 60 * MIN}


def test_the_first_look_at_each_environment_is_when_the_scan_began_watching_it() -> None:
    d = Deliveries(Store.memory())
    d.record_versions({"shop/prod": "img:1"}, T0)
    d.record_versions({"shop/prod": "img:2", "shop/staging": "img:1"}, T0 + MIN)
    assert d.first_looks() == {("shop", "prod"): T0, ("shop", "staging"): T0 + MIN}


def test_a_digest_that_could_not_be_built_stays_pending_until_its_note_is_posted() -> None:
    d = Deliveries(Store.memory())
    d.digest_intent("C1", T0 - 24 * 60 * MIN, T0, late=False)
    d.digest_unbuilt("C1", T0, "GitHub answered 503")
    [pending] = d.pending_digests()
    assert (pending.channel, pending.end, pending.unbuilt) == ("C1", T0, "GitHub answered 503")
    d.note_intent("C1", T0)
    assert d.pending_digests() == [] and [p.end for p in d.pending_notes()] == [T0]
    d.note_posted("C1", T0, "1.2", T0 + MIN)
    assert d.pending_notes() == [] and d.digest_state("C1", T0) == ("noted", "1.2")
    assert d.last_digest_end("C1") is None  # a note is not a digest: the next one covers it
