"""Benchmark: how long ``shiptrace where --help`` takes to start, against importing PyGithub
alone (what any GitHub script pays), each a fresh interpreter, best of ``runs``.

    .venv/bin/python -m bench.imports [RUNS]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

COMMANDS = {
    "python": [sys.executable, "-c", "pass"],
    "pygithub": [sys.executable, "-c", "import github"],
    "where_help": [sys.executable, "-m", "bot.cli", "where", "--help"],
    "drift_help": [sys.executable, "-m", "bot.cli", "drift", "--help"],
}


def best(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times)


def run(runs: int = 5) -> dict[str, Any]:
    seconds = {name: best(command, runs) for name, command in COMMANDS.items()}
    out: dict[str, Any] = {f"{name}_s": round(s, 3) for name, s in seconds.items()}
    out["where_help_vs_pygithub"] = round(seconds["where_help"] / seconds["pygithub"], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))
