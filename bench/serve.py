"""Benchmark: ``shiptrace serve`` under a burst of ``/where``, and its memory.

``serve`` runs as its own process (as deployed), against the Slack, GitHub and cluster
emulators of this process; GitHub answers at once, so the trace work of every answer lands
on the bot at the same moment. Measured:

- *ack*: 50 signed ``/where acme/shop#12`` POSTed at once to ``/slack/events``; the time of
  each HTTP answer (Slack wants it within 3 s, people notice far less), p50 / p99, and that
  every command was answered on its ``response_url``;
- *rss*: the process's resident memory once ready (idle), then after 1,000 answers.

    .venv/bin/python -m bench.serve [--answers N] [--burst N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator, write_kubeconfig
from bot.sandbox.slack import SlackEmulator
from bot.sandbox.slack_signing import signed_headers, slash_command_body
from tests.scenarios import shop
from tests.scenarios.fleet import live_prod, live_staging
from tests.scenarios.slackbot import DEPLOYS, SLACK_CONFIG

SECRET = "bench-signing-secret"
TOKEN = "ghp_bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            try:
                async with session.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("serve did not become ready")


async def burst(
    url: str, slack: SlackEmulator, names: list[str], text: str = "acme/shop#12", wait: bool = True
) -> tuple[list[float], int]:
    """POST one signed ``/where`` per name at once; the ack time of each, and how many were
    answered on their response_url."""
    bodies = [
        slash_command_body(text=text, channel_id=DEPLOYS, response_url=slack.response_url(name))
        for name in names
    ]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(names))) as session:

        async def one(body: bytes) -> float:
            started = time.perf_counter()
            async with session.post(
                f"{url}/slack/events", data=body, headers=signed_headers(SECRET, body)
            ) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"ack answered {resp.status}")
            return time.perf_counter() - started

        acks = await asyncio.gather(*(one(b) for b in bodies))
    deadline = time.monotonic() + (60 if wait else 0)
    while time.monotonic() < deadline:
        answered = sum(1 for n in names if slack.response_statuses(n))
        if answered == len(names):
            break
        await asyncio.sleep(0.05)
    return list(acks), sum(1 for n in names if slack.response_statuses(n))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def _measure(url: str, slack: SlackEmulator, pid: int, size: int, answers: int) -> Any:
    idle = rss_mb(pid)
    # The burst meets a process that has answered nothing yet, as after a deploy.
    acks, answered = await burst(url, slack, [f"b{i}" for i in range(size)])
    # The same burst answered in the ack itself (no trace work after it): the cost of the
    # ack path alone on the loop.
    alone, _ = await burst(url, slack, [f"h{i}" for i in range(size)], text="help", wait=False)
    done = 1 + size
    while done < answers:
        n = min(size, answers - done)
        _, got = await burst(url, slack, [f"r{done + i}" for i in range(n)])
        if got != n:
            raise RuntimeError(f"only {got} of {n} answered")
        done += n
    return {
        "ack": {
            "concurrent": size,
            "p50_ms": round(_percentile(acks, 50) * 1000, 1),
            "p99_ms": round(_percentile(acks, 99) * 1000, 1),
            "max_ms": round(max(acks) * 1000, 1),
            "answered": answered,
            "all_answered": answered == size,
            "ack_only_p99_ms": round(_percentile(alone, 99) * 1000, 1),
        },
        "rss": {"idle_mb": round(idle, 1), "after_mb": round(rss_mb(pid), 1), "answers": done},
    }


def run(answers: int = 1000, size: int = 50) -> dict[str, Any]:
    with (
        GitHubEmulator(token=TOKEN) as gh,
        KubeEmulator("staging") as staging,
        KubeEmulator("prod") as prod,
        SlackEmulator() as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        s = shop.build(gh)
        shop.green_ci(gh, s.merged)
        live_staging(staging, s.merged)
        live_prod(prod, s.base)
        work = Path(tmp)
        write_kubeconfig(work / "kubeconfig", {"staging": staging, "prod": prod})
        (work / "shiptrace.yaml").write_text(SLACK_CONFIG)
        port = _free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "GITHUB_", "SHIPTRACE_", "OTEL_"))
        }
        env.update(
            SLACK_BOT_TOKEN=slack.token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            GITHUB_API_URL=gh.url,
            GITHUB_TOKEN=TOKEN,
            KUBECONFIG=str(work / "kubeconfig"),
            SHIPTRACE_CONFIG=str(work / "shiptrace.yaml"),
            SHIPTRACE_DB=str(work / "shiptrace.db"),
            SHIPTRACE_LOG_LEVEL="WARNING",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(_wait_ready(url, proc))
            return asyncio.run(_measure(url, slack, proc.pid, size, answers))
        finally:
            proc.terminate()
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode not in (0, -15):
                print(err.decode(errors="replace")[-2000:], file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.serve")
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.answers, args.burst), indent=2))


if __name__ == "__main__":
    main()
