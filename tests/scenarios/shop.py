"""A small, realistic history of acme/shop on the GitHub emulator."""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox.github import GitHubEmulator


@dataclass
class Shop:
    base: str  # main before the PRs
    merged: str  # merge commit of PR 12
    head12: str  # PR 12's branch head
    head13: str  # open PR 13's head
    head14: str  # closed PR 14's head
    orphan: str  # a commit on main with no PR
    side: str  # a commit on no branch and no PR


def build(gh: GitHubEmulator) -> Shop:
    gh.add_repo("acme/shop")
    gh.add_repo("acme/billing")
    gh.add_commit("acme/billing", "Initial billing", parents=[], branch="main")
    base = gh.add_commit("acme/shop", "Initial", parents=[], branch="main")
    head12 = gh.add_commit("acme/shop", "Add cart", parents=[base])
    merged = gh.add_commit("acme/shop", "Add cart (#12)", parents=[base], branch="main")
    gh.add_pull(
        "acme/shop",
        12,
        head_sha=head12,
        title="Add cart",
        head_ref="feature/cart",
        merged=True,
        merge_commit_sha=merged,
        merged_at="2026-11-26T09:01:02Z",
        user="alice",
        commits=[head12],
    )
    orphan = gh.add_commit("acme/shop", "Hotfix straight to main", parents=[merged], branch="main")
    head13 = gh.add_commit("acme/shop", "Try checkout", parents=[orphan])
    gh.add_pull(
        "acme/shop", 13, head_sha=head13, title="Try checkout", user="bob", commits=[head13]
    )
    head14 = gh.add_commit("acme/shop", "Abandoned idea", parents=[base])
    gh.add_pull(
        "acme/shop",
        14,
        head_sha=head14,
        title="Abandoned idea",
        state="closed",
        closed_at="2026-11-26T10:00:00Z",
        user="carol",
        commits=[head14],
    )
    side = gh.add_commit("acme/shop", "Experiment", parents=[base])
    return Shop(base, merged, head12, head13, head14, orphan, side)


def green_ci(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(
        "acme/shop",
        sha,
        name="lint",
        conclusion="success",
        started_at="2026-11-26T09:02:00Z",
        completed_at="2026-11-26T09:03:00Z",
    )
    gh.add_check_run(
        "acme/shop",
        sha,
        name="test",
        conclusion="success",
        started_at="2026-11-26T09:02:00Z",
        completed_at="2026-11-26T09:06:00Z",
    )


def failed_ci(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(
        "acme/shop",
        sha,
        name="lint",
        conclusion="success",
        started_at="2026-11-26T09:02:00Z",
        completed_at="2026-11-26T09:03:00Z",
    )
    # The run's job is also its check run, as on GitHub.
    gh.add_workflow_run(
        "acme/shop",
        sha,
        name="CI",
        conclusion="failure",
        created_at="2026-11-26T09:02:00Z",
        jobs=[
            {
                "name": "test",
                "status": "completed",
                "conclusion": "failure",
                "started_at": "2026-11-26T09:02:00Z",
                "completed_at": "2026-11-26T09:07:00Z",
                "steps": [
                    {
                        "name": "checkout",
                        "status": "completed",
                        "conclusion": "success",
                        "number": 1,
                    },
                    {"name": "pytest", "status": "completed", "conclusion": "failure", "number": 2},
                ],
            }
        ],
    )
