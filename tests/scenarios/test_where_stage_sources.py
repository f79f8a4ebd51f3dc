"""One-shot stage sources: a registered source is read by `shiptrace where` with no other code.

The stage ids are the contract (DESIGN §2), so a second CI source (Jenkins, say) adds to the
one ``ci`` stage: its items join GitHub's, the stage takes the worst status, and each source's
detail is said under its label.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.model import Change, ChangeState, Item, SourceProblem, Stage, Status
from bot.sandbox.github import GitHubEmulator
from bot.sources.github import GitHubClient, GitHubOptions
from bot.stages import SOURCES, Observation, StageContext, Unreadable
from bot.store import Store
from tests.scenarios import shop


@dataclass
class FakeJenkins:
    """A CI source that reads nothing: it answers what the test gives it."""

    builds: list[Item]
    problem: SourceProblem | None = None
    key: str = "jenkins"
    label: str = "Jenkins"
    stage_id: str = "ci"

    async def observe(self, ctx: StageContext) -> Observation[list[Item]] | Unreadable:
        if self.problem is not None:
            return Unreadable(self.problem)
        return Observation(ctx.change, f"https://jenkins.example/job/{ctx.change.sha}", self.builds)

    def stage(self, observation: Observation[list[Item]]) -> Stage:
        failed = [b.name for b in observation.reported if b.status is Status.FAILED]
        return Stage(
            "ci",
            Status.FAILED if failed else Status.SUCCEEDED,
            f"{len(failed)} of {len(observation.reported)} builds failed"
            if failed
            else "all builds passed",
            url=observation.url,
            items=tuple(observation.reported),
        )


@pytest.fixture
def jenkins(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJenkins]:
    source = FakeJenkins([Item("deploy", Status.FAILED, "FAILURE", "https://jenkins.example/1")])
    monkeypatch.setitem(SOURCES, source.key, source)  # registering is all a new source takes
    yield source


def ci_stage(data: dict) -> dict:  # type: ignore[type-arg]
    return next(s for s in data["stages"] if s["id"] == "ci")


def test_a_second_registered_source_adds_to_the_ci_stage(
    cli, github: GitHubEmulator, jenkins: FakeJenkins
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)

    data = cli("where", "acme/shop#12", "--json").json

    assert [st["id"] for st in data["stages"] if st["environment"] is None] == ["merge", "ci"]
    ci = ci_stage(data)
    assert ci["status"] == "failed"
    assert ci["detail"] == "GitHub CI: all 2 checks passed; Jenkins: 1 of 1 builds failed"
    assert [(i["name"], i["status"]) for i in ci["items"]] == [
        ("deploy", "failed"),
        ("lint", "succeeded"),
        ("test", "succeeded"),
    ]
    assert ci["url"] == "https://github.com/acme/shop/pull/12/checks"
    assert data["errors"] == []
    assert data["where"].startswith("CI failed")


def test_an_unreadable_source_is_unknown_and_named_in_errors(
    cli, github: GitHubEmulator, jenkins: FakeJenkins
) -> None:
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    jenkins.problem = SourceProblem("jenkins", "Jenkins answered 503")

    data = cli("where", "acme/shop#12", "--json").json

    ci = ci_stage(data)
    assert ci["status"] == "unknown"
    assert ci["detail"] == (
        "GitHub CI: all 2 checks passed; Jenkins: could not read jenkins: Jenkins answered 503"
    )
    assert [i["name"] for i in ci["items"]] == ["lint", "test"]
    assert data["errors"] == [
        {"source": "jenkins", "environment": None, "message": "Jenkins answered 503"}
    ]


def test_github_ci_returns_what_it_could_not_read(github: GitHubEmulator) -> None:
    s = shop.build(github)
    github.fail(r"/actions/runs$", status=500)
    store = Store.memory()
    client = GitHubClient(GitHubOptions(api_url=github.url, token="ghp_test", retries=0), store)
    try:
        change = Change("acme/shop", s.merged, "acme/shop#12", ChangeState.MERGED, pr=12)
        ctx = StageContext(change, client, "https://github.com")
        got = asyncio.run(SOURCES["github"].observe(ctx))
    finally:
        client.close()
        store.close()

    assert isinstance(got, Unreadable)
    assert got.problem.source == "github" and got.problem.environment is None
    assert got.problem.message.startswith(f"CI for {s.merged[:7]}: ")
    assert "GitHub answered 500" in got.problem.message
