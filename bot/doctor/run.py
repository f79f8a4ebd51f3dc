"""Run every check — Slack, GitHub and each kubeconfig context concurrently — and print them."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable
from pathlib import Path

from bot.config import ServiceMap, Settings, load_service_map
from bot.doctor import github, kube, slack
from bot.doctor.guard import TIMEOUT
from bot.doctor.needs import context_needs
from bot.doctor.report import Check, exit_code, render_json, render_table
from bot.engine import github_options, open_clusters
from bot.sources.github import GitHubClient
from bot.store import Store

log = logging.getLogger(__name__)


async def run_doctor(settings: Settings, config: Path, as_json: bool) -> int:
    """``shiptrace doctor``: 0 every check passed, 1 some failed. A config that does not load
    raises its ConfigError (exit 2) before anything is asked."""
    services = load_service_map(config)
    checks = await run_checks(settings, services, str(config))
    print(render_json(checks) if as_json else render_table(checks))
    return exit_code(checks)


async def run_checks(
    settings: Settings, services: ServiceMap, source: str, per_check: float = TIMEOUT
) -> list[Check]:
    environments = sum(len(s.environments) for s in services.services)
    config = Check(
        "config",
        True,
        f"{source}: {_count(len(services.services), 'service')}, "
        f"{_count(environments, 'environment')}",
    )
    store = Store.memory()  # nothing the doctor reads is worth keeping
    client = GitHubClient(github_options(settings), store)
    clusters = open_clusters(settings)
    try:
        groups = await asyncio.gather(
            _group("slack", slack.checks(settings, per_check)),
            _group("github", github.checks(settings, services, client, per_check)),
            *(
                _group(f"kube {needs.label}", kube.checks(clusters, needs, per_check))
                for needs in context_needs(services)
            ),
        )
    finally:
        clusters.close()
        client.close()
        store.close()
    return [config, *itertools.chain.from_iterable(groups)]


async def _group(name: str, rows: Awaitable[list[Check]]) -> list[Check]:
    """A group's rows; every check in it is guarded, so only a bug between them lands here."""
    try:
        return await rows
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        log.debug("doctor %s: unexpected error %s", name, error_id, exc_info=True)
        hint = "rerun with SHIPTRACE_LOG_LEVEL=DEBUG and report it"
        return [Check(name, False, f"internal error {error_id}", hint)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
