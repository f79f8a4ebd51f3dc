"""The docs keep up with the code: every package is on the map, every CLI command in the README."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).parents[1]
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def packages() -> list[str]:
    """Every package under bot/ and handlers/ (a directory with an __init__.py), as ``bot/x/``."""
    found = []
    for top in ("bot", "handlers"):
        for init in sorted((ROOT / top).rglob("__init__.py")):
            found.append(init.parent.relative_to(ROOT).as_posix() + "/")
    return found


def commands() -> list[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(subparsers.choices)


def test_every_package_is_found() -> None:
    assert {"bot/", "handlers/", "bot/trace/", "handlers/commands/"} <= set(packages())
    assert {"where", "serve"} <= set(commands())


@pytest.mark.parametrize("package", packages())
def test_every_package_is_on_the_map(package: str) -> None:
    assert f"`{package}`" in ARCHITECTURE, f"ARCHITECTURE.md does not say what {package} holds"


@pytest.mark.parametrize("command", commands())
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert f"shiptrace {command}" in README, f"README.md does not document `shiptrace {command}`"
