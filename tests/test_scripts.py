"""scripts/_venv.sh says, in one line, when it installs and roughly how long that takes.

Run on a copy of the script with a stand-in venv whose pip only records that it was called,
so no install happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def make_root(tmp: Path) -> Path:
    root = tmp / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", root / "scripts" / "_venv.sh")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        '  echo "$*" >> "$(dirname "$0")/../pip.log"; exit 0\n'
        "fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    return root


def source(root: Path, extra: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if k != "SHIPTRACE_VENV"}
    env["PYTHON"] = sys.executable
    done = subprocess.run(
        ["bash", "-c", f'source scripts/_venv.sh "{extra}"'],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stderr


def pip_calls(root: Path) -> int:
    log = root / ".venv" / "pip.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_the_first_install_says_what_it_does_once(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    assert source(root).splitlines() == [
        "shiptrace: installing into .venv (first run only; about a minute)…"
    ]
    assert pip_calls(root) == 2  # pip itself, then shiptrace
    assert source(root) == ""  # installed: nothing to say, nothing to do
    assert pip_calls(root) == 2
    assert source(root, "dev").splitlines() == [
        "shiptrace: installing into .venv with the dev tools (first run only; about a minute)…"
    ]


def test_a_changed_pyproject_says_it_updates(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    source(root)
    (root / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert source(root).splitlines() == [
        "shiptrace: updating .venv (pyproject.toml changed; about a minute)…"
    ]
