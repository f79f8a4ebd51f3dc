"""The pure core loads no client, scheduler or renderer it does not need (checked at run time;
import-linter checks the same statically, ``[tool.importlinter]`` in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("module", "unwanted"),
    [
        ("bot.access", "github"),  # who may ask about what needs no GitHub client
        ("bot.access", "bot.sources"),
        ("bot.config", "apscheduler"),  # the service map checks its weekdays by itself
        ("bot.digest.gather", "bot.render"),  # the digest is data; the caller renders it
        ("bot.digest.gather", "matplotlib"),
    ],
)
def test_importing_loads_nothing_unwanted(module: str, unwanted: str) -> None:
    code = (
        f"import sys, {module}; "
        f"loaded = sorted(m for m in sys.modules if m == {unwanted!r} "
        f"or m.startswith({unwanted!r} + '.')); "
        "print(' '.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True
    )
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"
