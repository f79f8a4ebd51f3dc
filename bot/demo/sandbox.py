"""The demo's world: the emulators on 127.0.0.1, a temporary directory with the service map,
the database and a kubeconfig, and the environment that points shiptrace at them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.demo.story import CONFIG
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from bot.sandbox.otlp import OTLPReceiver
from bot.sandbox.slack import SlackEmulator

# What the emulators accept: no real account's.
GITHUB_TOKEN = "ghp_demo"  # noqa: S105
SLACK_TOKEN = "xoxb-demo"  # noqa: S105
SIGNING_SECRET = "demo-signing-secret"  # noqa: S105
# Set in a user's shell, these would point shiptrace elsewhere (a GitHub App, Socket Mode,
# Slack's OAuth flow, an OTLP collector): the demo's environment leaves them out.
FOREIGN = ("GITHUB_", "SLACK_", "SHIPTRACE_", "OTEL_", "KUBECONFIG")
LOCAL = "127.0.0.1,localhost"


@dataclass
class Sandbox:
    dir: Path
    github: GitHubEmulator
    clusters: dict[str, KubeEmulator]
    slack: SlackEmulator
    otlp: OTLPReceiver  # where the delivery's trace is exported

    @property
    def config(self) -> Path:
        return self.dir / "shiptrace.yaml"

    @property
    def db(self) -> Path:
        return self.dir / "shiptrace.db"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def environment(self) -> dict[str, str]:
        """What ``shiptrace`` needs to run against the sandbox, and nothing else."""
        no_proxy = ",".join(p for p in (os.environ.get("NO_PROXY"), LOCAL) if p)
        return {
            "GITHUB_API_URL": self.github.url,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "KUBECONFIG": str(self.kubeconfig),
            "SHIPTRACE_CONFIG": str(self.config),
            "SHIPTRACE_DB": str(self.db),
            "SHIPTRACE_HOST": "127.0.0.1",  # `shiptrace serve` here listens on this machine only
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            # Requests to the emulators never go through a proxy.
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    def settings(self) -> Settings:
        """The settings ``shiptrace`` reads from :meth:`environment`, in this process."""
        # Validated as the environment would be, without reading this process's own.
        return Settings.model_validate(
            {name.lower(): value for name, value in self.environment().items()}
        )

    def process_environment(self) -> dict[str, str]:
        """What is read from the environment itself rather than the settings: the
        kubeconfig (by the Kubernetes client), the collector (by the OpenTelemetry exporter)
        and the proxy bypass (by every HTTP client)."""
        env = self.environment()
        names = ("KUBECONFIG", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL")
        return {name: env[name] for name in (*names, "NO_PROXY", "no_proxy")}


def foreign(environ: Mapping[str, str]) -> list[str]:
    """The variables set in ``environ`` that the sandbox's environment replaces or leaves out."""
    return sorted(name for name in environ if name.startswith(FOREIGN))


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    """Start the emulators (port 0 on 127.0.0.1) and write the service map and kubeconfig."""
    with ExitStack() as stack:
        path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shiptrace-demo-")))
        github = stack.enter_context(GitHubEmulator(token=GITHUB_TOKEN))
        clusters = {
            "staging": stack.enter_context(KubeEmulator("staging")),
            "prod": stack.enter_context(KubeEmulator("prod")),
        }
        slack = stack.enter_context(SlackEmulator(token=SLACK_TOKEN))
        otlp = stack.enter_context(OTLPReceiver())
        box = Sandbox(path, github, clusters, slack, otlp)
        write_kubeconfig(box.kubeconfig, clusters)
        box.config.write_text(CONFIG, encoding="utf-8")
        yield box


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """This process's environment is ``values`` (and what is not shiptrace's) until the end."""
    saved = dict(os.environ)
    try:
        for name in foreign(os.environ):
            del os.environ[name]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
