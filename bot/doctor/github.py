"""GitHub: the credentials (a token or a GitHub App's installation token) and the rate limit
left (``/rate_limit``, which costs none of it), then each configured repo readable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.config import ServiceMap, Settings
from bot.doctor.guard import guarded
from bot.doctor.report import Check
from bot.errors import GitHubNotFound
from bot.sources.github import GitHubClient

NETWORK_HINT = "check GITHUB_API_URL and the network"
CREDENTIALS_HINT = (
    "set GITHUB_TOKEN (read access to the configured repos), or GITHUB_APP_ID, "
    "GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID (README 'Configuration')"
)


async def checks(
    settings: Settings, services: ServiceMap, github: GitHubClient, per_check: float
) -> list[Check]:
    answered: list[dict[str, Any]] = []

    async def credentials() -> Check:
        limit = await github.rate_limit()
        answered.append(limit)
        return credentials_row(settings, limit)

    first = await guarded("github", credentials(), NETWORK_HINT, per_check)
    if not answered:  # refused or unreachable: every repo would say the same
        return [first]
    keys: dict[str, str] = {}
    for i, service in enumerate(services.services):
        keys.setdefault(service.repo.lower(), f"services[{i}].repo")
    repos = await asyncio.gather(
        *(
            guarded(
                f"github {repo}",
                readable(github, repo, keys[repo.lower()]),
                NETWORK_HINT,
                per_check,
            )
            for repo in services.repos
        )
    )
    return [first, *repos]


def credentials_row(settings: Settings, limit: dict[str, Any]) -> Check:
    """Pure: what the credentials and the rate limit GitHub reported say."""
    total, left = int(limit.get("limit") or 0), int(limit.get("remaining") or 0)
    reset = datetime.fromtimestamp(int(limit.get("reset") or 0), UTC)
    budget = f"{left:,} of {total:,} requests left until {reset:%H:%M} UTC"
    if settings.github_token is not None:
        who = "token"
    elif settings.github_app_id is not None:
        who = f"GitHub App {settings.github_app_id} (installation {settings.github_app_installation_id})"
    else:
        return Check(
            "github",
            False,
            f"no credentials, so anonymous: public repos only, {budget}",
            CREDENTIALS_HINT,
        )
    if left < max(1, total // 50):
        return Check(
            "github",
            False,
            f"{who} accepted; only {budget}",
            "wait for the reset, or give shiptrace a token or GitHub App of its own (each has "
            "its own limit)",
        )
    return Check("github", True, f"{who} accepted by {settings.github_api_url}; {budget}")


async def readable(github: GitHubClient, repo: str, key: str) -> Check:
    try:
        body = await github.repository(repo)
    except GitHubNotFound:
        return Check(
            f"github {repo}",
            False,
            f"GitHub has no {repo}, or the credentials cannot see it",
            f"fix {key}, or give the token read access to {repo} (a GitHub App: add the repo "
            "to its installation)",
        )
    visibility = "private" if body.get("private") else "public"
    return Check(
        f"github {repo}",
        True,
        f"readable ({visibility}, default branch {body.get('default_branch') or '?'})",
    )
