"""Which drift incidents the timeline page draws, and how. Pure: the page's own route is in
tests/scenarios/test_web.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.drift.findings import Finding
from bot.drift.incidents import Incident, IncidentState
from bot.model import Change, ChangeState, Stage, Status, Trace
from bot.render.timeline import IncidentSpan
from bot.web.pages import incident_span, incident_spans

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
SHA = "3f2c1ab9" * 5
TRACE = Trace(
    Change("acme/shop", SHA, "acme/shop#12", ChangeState.MERGED, pr=12, merged_at=T0),
    "shop",
    (
        Stage("merge", Status.SUCCEEDED, "", finished_at=T0),
        Stage("sync", Status.SUCCEEDED, "", "staging", T0, T0 + timedelta(minutes=5)),
        Stage("rollout", Status.PENDING, "", "production"),
    ),
    "Live in staging",
)


def finding(stage: str = "sync", summary: str = "OutOfSync", env: str = "staging") -> Finding:
    return Finding("shop", env, stage, "out-of-sync", "Argo CD app argocd/shop", summary)


def incident(n: int = 1, **kw: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": n,
        "key": "shop/staging",
        "service": "shop",
        "environment": "staging",
        "state": IncidentState.OPEN,
        "first_seen": T0 + timedelta(minutes=20),
        "findings": (finding(),),
        "fingerprint": "",
        "channel": "C0DEPLOYS",
        "ts": "1795690800.000100",
    }
    return Incident(**(fields | kw))


def test_an_incident_as_the_page_draws_it() -> None:
    found = (finding("rollout", "3 pods crash"), finding("sync", "OutOfSync"), finding())
    assert incident_span(incident(findings=found)) == IncidentSpan(
        environment="staging",
        detected_at=T0 + timedelta(minutes=20),
        resolved_at=None,
        summary="3 pods crash; OutOfSync; OutOfSync",
        url="https://slack.com/archives/C0DEPLOYS/p1795690800000100",
        stages=("rollout", "sync"),
    )
    many = incident(findings=tuple(finding(summary=f"drift {i}") for i in range(5)))
    assert incident_span(many).summary == "drift 0; drift 1; drift 2; +2 more"
    no_thread = incident(channel=None, ts=None, findings=())
    assert (incident_span(no_thread).url, incident_span(no_thread).summary) == (None, "drifting")


@pytest.mark.parametrize(
    ("inc", "drawn"),
    [
        (incident(), True),
        (incident(environment="production", key="shop/production"), True),
        (incident(state=IncidentState.OPENING), True),
        (incident(state=IncidentState.RESOLVED, resolved_at=T0 + timedelta(minutes=30)), True),
        # began before the axis, still open then: drawn from the axis start
        (incident(first_seen=T0 - timedelta(days=2)), True),
        (incident(state=IncidentState.PENDING), False),  # shorter than the grace so far
        (incident(service="billing", key="billing/staging"), False),
        (incident(environment="edge", key="shop/edge"), False),  # not on the page
        (
            incident(
                state=IncidentState.RESOLVED,
                first_seen=T0 - timedelta(days=2),
                resolved_at=T0 - timedelta(days=1),
            ),
            False,  # over before the page begins
        ),
    ],
)
def test_which_incidents_are_drawn(inc: Incident, drawn: bool) -> None:
    assert (incident_spans(TRACE, [inc], NOW) != []) is drawn


def test_each_incident_once_oldest_first() -> None:
    late = incident(2, first_seen=T0 + timedelta(minutes=40))
    early = incident(1)
    spans = incident_spans(TRACE, [late, early, late], NOW)
    assert [s.detected_at for s in spans] == [early.first_seen, late.first_seen]
