"""A PR as the change to follow: which commit, which state, and when it began."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.model import ChangeState, Trace
from bot.render.json import trace_dict
from bot.trace.change import change_from_pull

HEAD, MERGE = "b7" * 20, "9c" * 20


def pull(**kw: Any) -> dict[str, Any]:
    return {
        "number": 412,
        "state": "open",
        "title": "Faster checkout",
        "user": {"login": "dev"},
        "html_url": "https://github.com/acme/shop/pull/412",
        "head": {"sha": HEAD},
        "merge_commit_sha": MERGE,
        "created_at": "2026-11-25T16:30:00Z",
        "merged_at": None,
        **kw,
    }


@pytest.mark.parametrize(
    ("body", "state", "sha"),
    [
        (pull(), ChangeState.OPEN, HEAD),
        (pull(state="closed", merged_at="2026-11-26T09:01:02Z"), ChangeState.MERGED, MERGE),
        (pull(state="closed"), ChangeState.CLOSED, HEAD),
    ],
)
def test_a_pull_began_when_it_was_opened(
    body: dict[str, Any], state: ChangeState, sha: str
) -> None:
    change = change_from_pull("acme/shop", body, "acme/shop#412")
    assert (change.state, change.sha) == (state, sha)
    assert change.opened_at == datetime(2026, 11, 25, 16, 30, tzinfo=UTC)


def test_when_it_was_opened_is_not_part_of_the_json_trace() -> None:
    change = change_from_pull("acme/shop", pull(), "acme/shop#412")
    assert set(trace_dict(Trace(change, "shop", (), "open"))["change"]) == {
        "repo", "pr", "sha", "head_sha", "requested", "title", "author", "url", "state",
        "merged_at",
    }  # fmt: skip
