"""Scenario fixtures: the real CLI, over real HTTP, against the local emulators."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from bot.sandbox.scenario import Clock
from bot.sandbox.slack import SlackEmulator
from tests.scenarios import shop
from tests.scenarios.command import Cli, Result
from tests.scenarios.fleet import TWO_ENVS, KubeEmulators, live_prod, live_staging
from tests.scenarios.slackbot import SLACK_CONFIG

CONFIG = """
default_repo: acme/shop
services:
  - name: shop
    repo: acme/shop
    image: ghcr.io/acme/shop
    tag: "sha-{sha7}"
    environments:
      - name: edge
  - name: billing
    repo: acme/billing
    environments:
      - name: staging
"""


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator(token="ghp_test") as emu:
        yield emu
        assert emu.validation_errors == []
        assert emu.unhandled == []


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: GitHubEmulator) -> Path:
    for name in (
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_INSTALLATION_ID",
        "KUBECONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("SHIPTRACE_DB", str(tmp_path / "shiptrace.db"))
    monkeypatch.setenv("SHIPTRACE_CONFIG", str(tmp_path / "shiptrace.yaml"))
    # Small but real: a stalled GitHub must fail fast in tests, as it would in minutes live.
    monkeypatch.setenv("SHIPTRACE_GITHUB_TIMEOUT", "1")
    monkeypatch.setenv("SHIPTRACE_GITHUB_RETRIES", "1")
    monkeypatch.setenv("SHIPTRACE_RATE_LIMIT_WAIT", "1")
    (tmp_path / "shiptrace.yaml").write_text(CONFIG)
    return tmp_path


@pytest.fixture
def cli(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def clusters(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeEmulators]:
    """Two cluster emulators, staging and prod, in a kubeconfig; the config is TWO_ENVS."""
    with KubeEmulator("staging") as staging, KubeEmulator("prod") as prod:
        emus = {"staging": staging, "prod": prod}
        write_kubeconfig(workdir / "kubeconfig", emus)
        monkeypatch.setenv("KUBECONFIG", str(workdir / "kubeconfig"))
        (workdir / "shiptrace.yaml").write_text(TWO_ENVS)
        yield emus


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEmulator]:
    # Bolt reads SLACK_* from the environment on its own (FACTS.md point 1).
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def fleet(workdir: Path, clusters: KubeEmulators) -> KubeEmulators:
    """The two clusters, with a config that also has Slack channels and a second service."""
    (workdir / "shiptrace.yaml").write_text(SLACK_CONFIG)
    return clusters


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop_live_in_staging(github: GitHubEmulator, fleet: KubeEmulators) -> shop.Shop:
    """acme/shop#12 merged with green CI, live in staging; production runs the base."""
    s = shop.build(github)
    shop.green_ci(github, s.merged)
    live_staging(fleet["staging"], s.merged)
    live_prod(fleet["prod"], s.base)
    return s
