"""``shiptrace demo --serve``: the sandbox with the story's end state (acme/shop#412 live in
staging and production, two hours ago), kept running until Ctrl-C or SIGTERM.

It prints the environment for ``shiptrace`` in another terminal as ``export`` lines, so
``where``, ``drift``, ``digest``, ``doctor`` and ``serve`` run against the emulators.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.demo.sandbox import foreign, sandbox
from bot.demo.story import REF, Story


async def serve(out: TextIO) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Two hours ago: the digest's window (the last 24 h) and "live since" read naturally now.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    with sandbox() as box:
        story = Story(box.github, box.clusters, start)
        story.seed()
        for step in story.delivery():
            step.apply()
        env = box.environment()
        print("# shiptrace sandbox: GitHub, two clusters and Slack on 127.0.0.1.", file=out)
        print(f"# {REF} is live in staging (Argo CD) and production (Flux).", file=out)
        print("# Paste these lines into another terminal:", file=out)
        gone = [name for name in foreign(os.environ) if name not in env]
        if gone:
            print(f"unset {' '.join(gone)}", file=out)
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}", file=out)
        print(
            f"# then: shiptrace where {REF} · shiptrace drift · shiptrace digest · "
            "shiptrace doctor · shiptrace serve",
            file=out,
        )
        print("# Ctrl-C stops the sandbox.", file=out, flush=True)
        await stop.wait()
    return 0
