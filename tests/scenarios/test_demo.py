"""`shiptrace demo`: the walk-through in this process, and `--serve` with `shiptrace` run
against it from another process, as a user would from another terminal."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

ROOT = Path(__file__).parents[2]
# Where this process connects while a test watches (audit hooks cannot be removed: it is
# installed once and records only while `watching` is set).
_connected: list[Any] = []
_watching = threading.Event()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching.is_set() and event in ("socket.connect", "socket.getaddrinfo"):
        _connected.append(args[1] if event == "socket.connect" else args[0])


sys.addaudithook(_audit)


@pytest.fixture
def connections() -> Iterator[list[Any]]:
    _connected.clear()
    _watching.set()
    try:
        yield _connected
    finally:
        _watching.clear()


def test_the_walk_reaches_production_opens_and_resolves_an_incident_and_posts_the_digest(
    capsys: pytest.CaptureFixture[str], connections: list[Any]
) -> None:
    before = dict(os.environ)

    code = main(["demo"])

    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert err == ""  # the bot's log lines stay out of the walk-through
    wheres = [line.strip(" │") for line in out.splitlines() if "│ Where: " in line]
    assert wheres == [
        "Where: CI running; staging pending; production pending",
        "Where: Staging syncing; production pending",
        "Where: Staging rolling out (1/3 pods); production pending",
        "Where: Live in staging; production syncing",
        "Where: Live in staging; production rolling out (2/3 pods)",
        "Where: Live in staging, production",
    ]
    assert out.count("[Refresh]  [Share in channel]  [Follow]") == 6  # the answers as seen
    order = [
        "  │ Drift: shop in production",
        "  │ 1 pod in CrashLoopBackOff",
        "  shiptrace edited its message in #deploys:",
        "  │ Resolved: shop in production",
        "  shiptrace replied in the thread in #deploys:",
        "  │ ✅ Reconciled after 10 min.",
        "the delivery as a trace (OTLP)",
        "  │ deliver acme/shop#412",
        "  │     rollout",
        "  │     drift production",
        "  │ Delivery digest",
        "  │ • acme/shop#412 Add gift cards — ✅ CI  ✅ staging  ✅ production",
        "✓ acme/shop#412 traced from merge to live in production in 6 steps",
        "✓ 1 drift incident opened a thread in #deploys and resolved in it",
        "✓ the delivery exported as one OpenTelemetry trace of 12 spans",
        "✓ the daily digest posted in #deploys",
    ]
    at = 0
    for line in order:  # each after the one before
        at = out.find(line, at)
        assert at != -1, (line, out)
    assert ":white_check_mark:" not in out and "<http" not in out  # no raw mrkdwn
    assert os.environ == before  # the sandbox's environment was this run's only
    hosts = {c[0] if isinstance(c, tuple) else c for c in connections}
    assert hosts and hosts <= {"127.0.0.1", "localhost"}, hosts  # nothing left this machine


def _lines(stream: Any) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _shell_env(printed: list[str]) -> dict[str, str]:
    """The environment of a shell where the printed lines were pasted."""
    env = dict(os.environ)
    for line in printed:
        words = shlex.split(line, comments=True)
        if words[:1] == ["unset"]:
            for name in words[1:]:
                env.pop(name, None)
        elif words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            env[name] = value
    return env


def test_serve_keeps_the_sandbox_for_shiptrace_in_another_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines, printed = _lines(demo.stdout), []
        while not printed or not printed[-1].startswith("# Ctrl-C"):
            printed.append(lines.get(timeout=30))
        env = _shell_env(printed)
        assert {
            "GITHUB_API_URL",
            "GITHUB_TOKEN",
            "KUBECONFIG",
            "SHIPTRACE_CONFIG",
            "SHIPTRACE_DB",
            "SLACK_API_URL",
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
        } <= {line.split()[1].partition("=")[0] for line in printed if line.startswith("export ")}
        assert env["GITHUB_API_URL"].startswith("http://127.0.0.1:")
        assert env["SHIPTRACE_HOST"] == "127.0.0.1"  # a `shiptrace serve` there stays local

        where = subprocess.run(
            [sys.executable, "-m", "bot.cli", "where", "acme/shop#412", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert where.returncode == 0, where.stderr
        assert json.loads(where.stdout)["where"] == "Live in staging, production"
        # The digest here, in this process with the same environment (one interpreter less).
        for name in set(os.environ) - set(env):
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        assert main(["digest"]) == 0
        assert "acme/shop#412" in capsys.readouterr().out  # merged 2 h ago: in the last 24 h
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=30)
    assert code == 0, demo.stderr.read() if demo.stderr else ""
