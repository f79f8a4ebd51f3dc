"""``shiptrace demo``: the real bot against the sandbox's emulators, no network, no accounts.

``main()`` walks one change from merge to production, then a drift incident and the digest;
``main(serve=True)`` keeps the sandbox running for ``shiptrace`` in another terminal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def main(*, serve: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    # Only the walk-through on stdout; the bot's own log lines only when asked for.
    wanted = os.environ.get("SHIPTRACE_LOG_LEVEL", "").upper()
    root = logging.getLogger()
    level = root.level
    root.setLevel(wanted if wanted in LEVELS else logging.WARNING)
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if serve:
            from bot.demo.serve import serve as run
        else:
            from bot.demo.walk import walk as run
        return asyncio.run(run(out))
    finally:
        root.setLevel(level)
