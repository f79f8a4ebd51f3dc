"""Drift incident messages: the "Open timeline" link of the parent. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.drift.findings import Finding
from bot.drift.incidents import Incident, IncidentState
from bot.render.incident import incident_message
from bot.sandbox.slack import block_errors

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FOUND = (Finding("shop", "staging", "sync", "out-of-sync", "Argo CD app argocd/shop", "OutOfSync"),)
INC = Incident(7, "shop/staging", "shop", "staging", IncidentState.OPEN, T0, FOUND, "", "C1", "1.2")
URL = "https://st.example.com/changes/acme/shop/commit/3f2c1ab?exp=1764892800&sig=" + "s" * 43


@pytest.mark.parametrize("resolved_after", [None, timedelta(minutes=7)])
def test_the_parent_links_the_timeline_when_given(resolved_after: timedelta | None) -> None:
    message = incident_message(INC, FOUND, resolved_after=resolved_after, timeline_url=URL)
    assert block_errors(message.blocks) == []
    [status] = [b for b in message.blocks if b["block_id"] == "drift_status"]
    # mrkdwn escapes the & between the query's fields; Slack opens the URL as it was.
    escaped = URL.replace("&", "&amp;")
    assert status["text"]["text"].endswith(f" · <{escaped}|Open timeline>")


def test_no_timeline_url_no_link() -> None:
    message = incident_message(INC, FOUND)
    assert "Open timeline" not in str(message.blocks)
