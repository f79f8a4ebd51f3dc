"""Every check has a timeout and never ends in a traceback: what it raises becomes its row."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.doctor.guard import guarded
from bot.doctor.report import Check
from bot.errors import GitHubAuthError, KubernetesError


async def passes() -> Check:
    return Check("github", True, "token accepted")


async def hangs() -> Check:
    await asyncio.Event().wait()  # never set: only the timeout ends it
    raise AssertionError("unreachable")


async def refused() -> Check:
    raise GitHubAuthError("GitHub refused the token (401 Bad credentials): check GITHUB_TOKEN")


async def unclear() -> Check:
    raise KubernetesError("cluster 'prod' answered 418 for API discovery")


async def crashes() -> Check:
    raise RuntimeError("a bug, with a secret=ghp_abc in its text")


@pytest.mark.looptime
async def test_a_check_that_does_not_answer_fails_after_its_timeout() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    row = await guarded("kube prod", hangs(), "check that cluster 'prod' is up", 20)
    assert row == Check(
        "kube prod", False, "no answer within 20 s", "check that cluster 'prod' is up"
    )
    assert loop.time() - start == pytest.approx(20)


@pytest.mark.parametrize(
    ("check", "row"),
    [
        (passes, Check("github", True, "token accepted")),
        (
            refused,
            Check(
                "github",
                False,
                "GitHub refused the token (401 Bad credentials)",
                "check GITHUB_TOKEN",
            ),
        ),
        (
            unclear,
            Check("github", False, "cluster 'prod' answered 418 for API discovery", "the fallback"),
        ),
    ],
)
async def test_what_a_check_raises_is_its_row(check: object, row: Check) -> None:
    assert await guarded("github", check(), "the fallback", 5) == row  # type: ignore[operator]


async def test_a_bug_is_a_failed_row_with_an_id_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.doctor.guard"):
        row = await guarded("slack", crashes(), "the fallback", 5)
    assert not row.ok
    assert row.detail.startswith("internal error ") and len(row.detail.split()[-1]) == 8
    assert row.hint == "rerun with SHIPTRACE_LOG_LEVEL=DEBUG and report it"
    assert "ghp_abc" not in row.detail + (row.hint or "")
    [record] = caplog.records
    assert row.detail.split()[-1] in record.getMessage() and record.exc_info is not None
