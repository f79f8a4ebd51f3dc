"""``shiptrace COMMAND --help`` (and the parser) import only what the parser needs: the
clients, Slack's libraries, the scheduler, the database and the chart come with the command
that uses them."""

import subprocess
import sys

import pytest

HEAVY = (
    "aiohttp",
    "slack_bolt",
    "slack_sdk",
    "apscheduler",
    "matplotlib",
    "numpy",
    "sqlite_utils",
    "github",
    "kubernetes",
    "opentelemetry",
    "pydantic",
)


@pytest.mark.parametrize("command", ["where", "drift", "digest", "serve", "doctor", "demo"])
def test_help_imports_none_of_the_clients(command: str) -> None:
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main([{command!r}, '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == ""
