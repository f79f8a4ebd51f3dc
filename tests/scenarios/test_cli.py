"""The command line's habits, as kubectl, argocd and flux have them: ``-o text|json|yaml``,
``--kubeconfig``, ``--timeout``, a progress line on a terminal only, and the exit codes in
every ``--help``. Through ``bot.cli.main``, against the emulators."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from freezegun import freeze_time

from bot.cli import build_parser, main
from bot.sandbox.github import GitHubEmulator
from bot.sandbox.kube import KubeEmulator
from tests.scenarios import shop
from tests.scenarios.fleet import live_staging

ROOT = Path(__file__).parents[2]
ANSWERS = [("where", "acme/shop#12"), ("drift",), ("digest",)]
IDS = [a[0] for a in ANSWERS]


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """The digest's window ends now: the same now for the runs a test compares."""
    # kubernetes: its client imports models lazily, which a frozen clock breaks.
    with freeze_time("2026-11-27T09:00:00Z", real_asyncio=True, ignore=["kubernetes"]):
        yield


@pytest.fixture
def drifting(shop_live_in_staging: shop.Shop, fleet: dict[str, KubeEmulator]) -> shop.Shop:
    """acme/shop#12 live in staging, whose Argo CD app is OutOfSync: `drift` finds something."""
    live_staging(fleet["staging"], shop_live_in_staging.merged, sync="OutOfSync")
    return shop_live_in_staging


# --- -o text|json|yaml -----------------------------------------------------------------------


@pytest.mark.parametrize("args", ANSWERS, ids=IDS)
def test_yaml_is_the_json_contract_with_the_same_keys_in_the_same_order(
    cli: Any, drifting: shop.Shop, args: tuple[str, ...]
) -> None:
    with frozen():
        as_json = cli(*args, "-o", "json")
        as_yaml = cli(*args, "-o", "yaml")
    assert as_json.code == as_yaml.code, as_yaml.err
    assert as_json.code in (0, 1), as_json.err  # drift: 1, something drifts
    data = json.loads(as_json.out)
    assert data  # not a vacuous comparison
    loaded = yaml.safe_load(as_yaml.out)
    assert loaded == data
    assert json.dumps(loaded) == json.dumps(data)  # same order, at every level
    assert not as_yaml.out.lstrip().startswith(("{", "[")) and not as_yaml.out.endswith("\n\n")


@pytest.mark.parametrize("args", ANSWERS[:2], ids=IDS[:2])
def test_json_flag_is_o_json_and_o_text_is_the_default(
    cli: Any, drifting: shop.Shop, args: tuple[str, ...]
) -> None:
    assert cli(*args, "--json").out == cli(*args, "-o", "json").out
    assert cli(*args).out == cli(*args, "--output", "text").out
    assert cli(*args).out != cli(*args, "-o", "json").out


def test_the_digest_as_json_is_its_record_with_times_and_durations_plain(
    cli: Any, drifting: shop.Shop
) -> None:
    with frozen():
        result = cli("digest", "-o", "json")
    assert result.code == 0, result.err
    data = result.json
    assert list(data)[:3] == ["channel", "start", "end"]
    assert (data["start"], data["end"]) == ("2026-11-26T09:00:00Z", "2026-11-27T09:00:00Z")
    [shop_digest] = [s for s in data["services"] if s["service"] == "shop"]
    [shipped] = shop_digest["shipped"]
    assert shipped["ref"] == "acme/shop#12" and shipped["merged_at"] == "2026-11-26T09:01:02Z"
    assert {b["label"]: b["status"] for b in shipped["badges"]}["staging"] == "drifted"  # OutOfSync


@pytest.mark.parametrize("args", ANSWERS, ids=IDS)
def test_an_unknown_output_is_a_usage_error_naming_the_choices(
    cli: Any, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(*args, "-o", "xml")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'xml'" in err and "'json'" in err and "'yaml'" in err


def test_the_digest_posted_is_not_printed_in_another_format(
    cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("digest", "--channel", "C0DIGEST", "--post", "-o", "json")
    assert exited.value.code == 2
    assert "-o is for printing" in capsys.readouterr().err


# --- --kubeconfig ----------------------------------------------------------------------------


def test_kubeconfig_wins_over_the_environment_for_where_drift_and_digest(
    cli: Any, drifting: shop.Shop, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "kubeconfig").rename(workdir / "other-kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(workdir / "kubeconfig"))  # no longer there
    flag = ("--kubeconfig", str(workdir / "other-kubeconfig"))

    unread = cli("where", "acme/shop#12", "-o", "json")
    assert unread.code == 0 and "no such file" in unread.json["errors"][0]["message"]
    read = cli("where", "acme/shop#12", "-o", "json", *flag)
    assert read.code == 0 and read.json["errors"] == []

    assert cli("drift").code == 4
    drift = cli("drift", *flag)
    assert drift.code == 1 and "shop/staging" in drift.out and drift.err == ""

    with frozen():
        assert "no such file" in cli("digest").out
        assert "no such file" not in cli("digest", *flag).out


@pytest.mark.parametrize("args", ANSWERS, ids=IDS)
def test_a_kubeconfig_that_is_not_there_is_bad_input(
    cli: Any, workdir: Path, github: GitHubEmulator, args: tuple[str, ...]
) -> None:
    result = cli(*args, "--kubeconfig", str(workdir / "missing"))
    assert result.code == 2
    assert result.err == f"shiptrace: --kubeconfig {workdir / 'missing'}: no such file\n"
    assert github.requests == []


# --- --timeout -------------------------------------------------------------------------------


def test_timeout_bounds_the_whole_answer_with_exit_4(
    cli: Any, github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.build(github)
    monkeypatch.setenv("SHIPTRACE_GITHUB_TIMEOUT", "30")  # GitHub's own timeout is far away
    github.stall(r"/pulls/12$", seconds=60)
    started = time.monotonic()
    result = cli("where", "acme/shop#12", "--timeout", "0.2")
    assert time.monotonic() - started < 10  # 0.2 s and the clean-up; not 30 s
    assert result.code == 4
    assert result.out == ""
    assert result.err == (
        "shiptrace: no answer within 0.2 s (GitHub or a cluster is slow); "
        "try again, or with a longer --timeout\n"
    )


@pytest.fixture
def silent_prod(fleet: dict[str, KubeEmulator], workdir: Path) -> Iterator[None]:
    """Production's API server takes the connection and never answers (10 s read timeout)."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        path = workdir / "kubeconfig"
        config = yaml.safe_load(path.read_text())
        for entry in config["clusters"]:
            if entry["name"] == "prod":
                entry["cluster"]["server"] = f"http://127.0.0.1:{hole.getsockname()[1]}"
        path.write_text(yaml.safe_dump(config))
        yield  # closing the socket resets the waiting connections: no thread is left behind


def test_timeout_bounds_a_drift_scan(cli: Any, silent_prod: None) -> None:
    started = time.monotonic()
    result = cli("drift", "--timeout", "0.2")
    assert time.monotonic() - started < 5  # not the 10 s read timeout
    assert result.code == 4 and result.out == ""
    assert result.err.startswith("shiptrace: no answer within 0.2 s")


def test_timeout_bounds_the_digest_and_posts_nothing(
    cli: Any, drifting: shop.Shop, github: GitHubEmulator
) -> None:
    github.stall(r"/pulls$", seconds=60)
    result = cli("digest", "--timeout", "0.2")
    assert result.code == 4 and result.out == ""
    assert result.err.startswith("shiptrace: no answer within 0.2 s")


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_is_a_usage_error(
    cli: Any, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("where", "acme/shop#12", "--timeout", value)
    assert exited.value.code == 2
    assert f"'{value}' is not a number of seconds" in capsys.readouterr().err


def test_the_process_ends_at_the_timeout_not_when_the_stalled_request_gives_up(
    github: GitHubEmulator, workdir: Path
) -> None:
    """Requests run in worker threads that a timeout cannot stop; a normal exit would wait for
    them (GitHub's own timeout, 120 s here)."""
    shop.build(github)
    github.stall(r"/pulls/12$", seconds=300)
    env = {**os.environ, "SHIPTRACE_GITHUB_TIMEOUT": "120", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "where", "acme/shop#12", "--timeout", "0.5"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,  # starting Python and importing shiptrace included
    )
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.startswith("shiptrace: no answer within 0.5 s")


# --- the progress line -----------------------------------------------------------------------


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("args", ANSWERS, ids=IDS)
def test_a_terminal_sees_a_progress_line_that_is_erased_at_the_end(
    cli: Any,
    drifting: shop.Shop,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
) -> None:
    master, slave = pty.openpty()
    capsys.readouterr()
    with monkeypatch.context() as m, open(slave, "w", encoding="utf-8") as tty:
        m.setattr(sys, "stderr", tty)
        code = main([*args, "-o", "json"])
    seen = read_all(master)
    os.close(master)
    assert code in (0, 1)
    reading = "the clusters…" if args == ("drift",) else "GitHub…"  # drift reads no GitHub
    assert seen.startswith(f"\r\x1b[Kshiptrace: reading {reading}"), repr(seen)
    assert seen.endswith("\r\x1b[K"), repr(seen)  # nothing is left on the line
    json.loads(capsys.readouterr().out)  # stdout is the answer alone


@pytest.mark.parametrize("args", ANSWERS, ids=IDS)
def test_without_a_terminal_there_is_no_progress_line(
    cli: Any, drifting: shop.Shop, args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert "reading" not in result.err and "\r" not in result.err


# --- exit codes in every --help --------------------------------------------------------------

EXIT_CODES = {
    "where": [0, 2, 3, 4],
    "drift": [0, 1, 2, 4],
    "digest": [0, 2, 4],
    "serve": [0, 2],
}


def listed_exit_codes(help_text: str) -> list[int]:
    _, found, rest = help_text.partition("\nexit codes:\n")
    assert found, help_text
    return [int(line.split()[0]) for line in rest.splitlines() if line[:4].strip().isdigit()]


@pytest.mark.parametrize("command", commands())
def test_every_help_lists_its_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    codes = listed_exit_codes(capsys.readouterr().out)
    assert codes == EXIT_CODES.get(command, codes) and 0 in codes


def test_the_top_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert listed_exit_codes(capsys.readouterr().out) == [0, 1, 2, 3, 4]
