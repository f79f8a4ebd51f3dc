"""What each answer counts as in ``shiptrace_answers_total{outcome}``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.access import Refused
from bot.errors import (
    BadInput,
    ChangeNotFound,
    ConfigError,
    GitHubAuthError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
    ShiptraceError,
    StoreBusy,
    StoreError,
)
from handlers.answers import outcome


@pytest.mark.parametrize(
    ("error", "label"),
    [
        (None, "traced"),
        (BadInput("not a reference"), "bad_input"),
        (Refused("C0LOCKED", "acme/shop", "ask in #deploys"), "refused"),
        (ChangeNotFound("no PR 99"), "not_found"),
        (GitHubAuthError("401"), "github_refused"),
        (GitHubRateLimited("used up", datetime(2026, 11, 26, tzinfo=UTC)), "github_rate_limited"),
        (GitHubUnavailable("502"), "github_unavailable"),
        (GitHubNotFound("no repo"), "github_unavailable"),
        (StoreBusy("locked"), "store_busy"),
        (StoreError("disk full"), "store_error"),
        (ConfigError("bad"), "failed"),
    ],
)
def test_outcome_labels(error: ShiptraceError | None, label: str) -> None:
    assert outcome(error) == label
