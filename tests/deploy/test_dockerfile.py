"""deploy/Dockerfile, read as text (no Docker engine needed): a pinned base, a build stage whose
virtualenv is all the runtime stage takes, a non-root user, and a health check that really
asks /healthz with what the slim image has (Python, no curl)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bot.config import Settings
from tests.deploy.manifests import ROOT

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, FROM first."""
    out: list[list[tuple[str, str]]] = []
    for word, rest in instructions():
        if word == "FROM":
            out.append([])
        if out:
            out[-1].append((word, rest))
    return out


def test_every_base_image_is_pinned_by_digest() -> None:
    names = set()
    for stage in stages():
        image, *alias = stage[0][1].split()
        if image not in names:  # FROM <an earlier stage> needs no digest
            assert re.fullmatch(r"[\w.:/-]+@sha256:[0-9a-f]{64}", image), image
        if alias:
            assert alias[0].upper() == "AS"
            names.add(alias[1])


def test_the_runtime_stage_takes_only_the_built_virtualenv() -> None:
    *build, runtime = stages()
    assert build, "a build stage, then the runtime stage"
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert copies and all(c.startswith("--from=") for c in copies), copies
    assert not any(word == "RUN" and "pip install" in rest for word, rest in runtime)


def test_it_runs_as_a_non_root_user_with_a_home() -> None:
    runtime = stages()[-1]
    users = [rest for word, rest in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r"\bHOME=/\S+", " ".join(rest for word, rest in runtime if word == "ENV"))


def test_it_serves_on_the_default_port() -> None:
    exposed = [rest for word, rest in stages()[-1] if word == "EXPOSE"]
    assert exposed == [str(Settings.model_fields["shiptrace_port"].default)]


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    _Health.status = 200


def healthcheck() -> list[str]:
    checks = [rest for word, rest in stages()[-1] if word == "HEALTHCHECK"]
    assert len(checks) == 1
    _, _, command = checks[0].partition(" CMD ")
    argv = json.loads(command)  # exec form: no shell needed
    assert argv[0] == "python" and "curl" not in command
    return [sys.executable, *argv[1:]]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_health_check_asks_healthz(
    health_server: HTTPServer, status: int, healthy: bool
) -> None:
    _Health.status = status
    port = str(health_server.server_address[1])
    done = subprocess.run(
        healthcheck(),
        env={**os.environ, "SHIPTRACE_PORT": port},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode == 0) is healthy, done.stderr
